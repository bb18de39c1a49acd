package dev.sahara.attribution;

import dev.sahara.SaharaException;
import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.HeadId;
import dev.sahara.llama.Forward;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.MemoryPlan;
import dev.sahara.llama.TokenBatch;
import dev.sahara.model.ModelConfig;
import org.ejml.data.DMatrixRMaj;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.function.BiFunction;
import java.util.function.Predicate;

/**
 * Dataset-level Ships and Sahara (paper §4, Algorithm 1). The baseline activations M₀ — final-norm states at
 * each prompt's last token, unablated — are computed once; a candidate's score is the principal angle
 * between the leading r_main left singular vectors of M₀ and of the activations with (group ∪ {head})
 * ablated. The search (the paper calls it Sahara) grows the group greedily, the first maximum winning ties, in (layer, head) order.
 */
public final class GreedyGroupSearch {
    /** One greedy step: the score of every candidate ([layer][head], NaN for heads already in the group) and the pick. */
    public record Step(int index, List<HeadId> groupBefore, double[][] scores, HeadId picked, double pickedScore, double seconds) {}

    public record Result(List<HeadId> group, List<Step> steps) {}

    private final LlamaModel model;
    private final CandidateRunner runner;
    private final AttributionSettings settings;
    private final DMatrixRMaj baseVectors;

    public GreedyGroupSearch(LlamaModel model, List<int[]> prompts, AttributionSettings settings) {
        if (settings.rMain() > prompts.size()) {
            throw new SaharaException("--rank " + settings.rMain() + " needs at least that many prompts, the dataset has " + prompts.size());
        }
        MemoryPlan.of(model.config(), prompts, settings.prefixReuse(), false, MemoryPlan.mappedBytes(model.checkpoint()))
                .check(Runtime.getRuntime().maxMemory());
        this.model = model;
        this.settings = settings;
        this.runner = new CandidateRunner(model, TokenBatch.pack(prompts), settings.prefixReuse());
        this.baseVectors = PrincipalAngles.leadingLeftSingularVectors(
                runner.run(Ablation.none(), Forward.Outputs.FINAL_NORM_LAST).finalNormLast(), settings.rMain());
    }

    /** Whether a candidate's forward starts at its own layer (it decides what a candidate costs, {@link Shard#cost}). */
    public boolean prefixReuse() { return settings.prefixReuse(); }

    /**
     * Scores already known (from a resumed run's log) and a sink for each finished one. A known score is used
     * as it is and its forward is skipped; {@link #finished} is called for every score computed, before progress.
     */
    public interface Memo {
        Memo NONE = new Memo() {
            @Override
            public OptionalDouble known(int step, HeadId head) { return OptionalDouble.empty(); }

            @Override
            public void finished(int step, HeadId head, double score) {}
        };

        OptionalDouble known(int step, HeadId head);

        void finished(int step, HeadId head, double score);
    }

    /** Dataset-level Ships of every head not in {@code group}, each ablated together with the group. */
    public double[][] scoreAll(List<HeadId> group, Progress progress) { return scoreAll(group, 1, Memo.NONE, progress); }

    /** {@link #scoreAll(List, Progress)} as step {@code step} of a run whose finished candidates {@code memo} keeps. */
    public double[][] scoreAll(List<HeadId> group, int step, Memo memo, Progress progress) { return score(group, step, id -> true, memo, progress); }

    /**
     * Step {@code step} for one shard: scores only the candidates {@code shard} owns (the rest stay NaN), recording
     * each through {@code memo}. The merge of every shard's log is the unsharded step's log.
     */
    public double[][] scoreShard(List<HeadId> group, int step, Shard shard, Memo memo, Progress progress) {
        ModelConfig c = model.config();
        int[][] owner = Shard.partition(c.numLayers(), c.numHeads(), group, settings.prefixReuse(), shard.count());
        return score(group, step, id -> owner[id.layer()][id.head()] == shard.index(), memo, progress);
    }

    private double[][] score(List<HeadId> group, int step, Predicate<HeadId> include, Memo memo, Progress progress) {
        ModelConfig c = model.config();
        Ablation base = Ablation.of(group, settings.candidate());
        double[][] scores = new double[c.numLayers()][c.numHeads()];
        int total = 0, done = 0;
        for (int l = 0; l < c.numLayers(); l++) for (int h = 0; h < c.numHeads(); h++) if (!group.contains(new HeadId(l, h)) && include.test(new HeadId(l, h))) total++;
        for (int l = 0; l < c.numLayers(); l++) {
            for (int h = 0; h < c.numHeads(); h++) {
                HeadId id = new HeadId(l, h);
                if (group.contains(id) || !include.test(id)) {
                    scores[l][h] = Double.NaN;
                    continue;
                }
                OptionalDouble known = memo.known(step, id);
                if (known.isPresent()) {
                    scores[l][h] = known.getAsDouble();
                } else {
                    float[][] states = runner.runCandidate(base, id, settings.candidate(), Forward.Outputs.FINAL_NORM_LAST).finalNormLast();
                    scores[l][h] = PrincipalAngles.angleDegrees(baseVectors, PrincipalAngles.leadingLeftSingularVectors(states, settings.rMain()));
                    memo.finished(step, id, scores[l][h]);
                }
                progress.update(++done, total, id.label());
            }
        }
        return scores;
    }

    /**
     * Seconds one candidate takes (the plan's probe): run once to capture the prefix and warm up, then timed on
     * the second run. Nothing is recorded.
     */
    public double timeCandidate(HeadId head) {
        Ablation none = Ablation.none();
        runner.runCandidate(none, head, settings.candidate(), Forward.Outputs.FINAL_NORM_LAST);
        long t0 = System.nanoTime();
        runner.runCandidate(none, head, settings.candidate(), Forward.Outputs.FINAL_NORM_LAST);
        return (System.nanoTime() - t0) / 1e9;
    }

    /** Refuses a group size outside 1..layers·heads. */
    public static void checkGroupSize(ModelConfig c, int steps) {
        if (steps < 1 || steps > c.numLayers() * c.numHeads()) {
            throw new SaharaException("--group-size must be in 1.." + c.numLayers() * c.numHeads() + ", got " + steps);
        }
    }

    /** Algorithm 1 with group size {@code steps}. */
    public Result run(int steps, Progress progress) { return run(steps, Memo.NONE, progress); }

    /** Algorithm 1, reusing and recording finished candidates through {@code memo} (resumable runs). */
    public Result run(int steps, Memo memo, Progress progress) {
        ModelConfig c = model.config();
        checkGroupSize(c, steps);
        List<HeadId> group = new ArrayList<>();
        List<Step> done = new ArrayList<>();
        for (int s = 0; s < steps; s++) {
            long t0 = System.nanoTime();
            int step = s + 1;
            double[][] scores = scoreAll(group, step, memo, (d, t, what) -> progress.update(d, t, "step " + step + "/" + steps + " " + what));
            HeadId best = pick(scores);
            done.add(new Step(step, List.copyOf(group), scores, best, scores[best.layer()][best.head()], (System.nanoTime() - t0) / 1e9));
            group.add(best);
        }
        return new Result(List.copyOf(group), done);
    }

    /** The head a step picks: the largest score (NaN = in the group), the first in (layer, head) order among equals. */
    public static HeadId pick(double[][] scores) {
        HeadId best = null;
        double bestScore = Double.NEGATIVE_INFINITY;
        for (int l = 0; l < scores.length; l++) {
            for (int h = 0; h < scores[l].length; h++) {
                if (!Double.isNaN(scores[l][h]) && scores[l][h] > bestScore) {
                    bestScore = scores[l][h];
                    best = new HeadId(l, h);
                }
            }
        }
        return best;
    }

    /**
     * The group after {@code steps} steps, picked from scores already known to {@code known} (a merged log of every
     * shard of those steps); no forward runs. Refuses a step with a candidate missing.
     */
    public static List<HeadId> replay(int layers, int heads, int steps, Memo known, BiFunction<Integer, HeadId, String> missing) {
        List<HeadId> group = new ArrayList<>();
        for (int step = 1; step <= steps; step++) {
            double[][] scores = new double[layers][heads];
            for (int l = 0; l < layers; l++) {
                for (int h = 0; h < heads; h++) {
                    HeadId id = new HeadId(l, h);
                    if (group.contains(id)) {
                        scores[l][h] = Double.NaN;
                        continue;
                    }
                    OptionalDouble v = known.known(step, id);
                    if (v.isEmpty()) throw new SaharaException(missing.apply(step, id));
                    scores[l][h] = v.getAsDouble();
                }
            }
            group.add(pick(scores));
        }
        return group;
    }
}
