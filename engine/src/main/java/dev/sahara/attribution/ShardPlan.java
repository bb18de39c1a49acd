package dev.sahara.attribution;

import dev.sahara.ablate.HeadId;
import dev.sahara.llama.MemoryPlan;
import dev.sahara.model.ModelConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * What a sharded Sahara run will cost (`attribute --plan --shards N`, docs/SCALE.md), from the model's shape, the
 * prompts' token count and one measured time: per step, the candidates, the forward work, the largest shard's
 * share and the step's wall time on N shards. The unit of work is a "layer pass": one decoder layer over every
 * prompt token of the dataset; a candidate in layer l costs L − l of them with prefix reuse (L without), and every
 * shard adds its own baseline and residual capture, 2·L layer passes per step — what sharding costs.
 * The group grows by one head per step; which heads are taken does not change the cost by more than one candidate,
 * so the plan takes them from the last layer (the cheapest candidates leave: a slight over-estimate).
 *
 * @param layerSeconds  measured seconds of one layer pass on the target device
 */
public record ShardPlan(ModelConfig config, int prompts, long tokens, int steps, int shards, boolean prefixReuse, double layerSeconds,
                        long weightBytes, MemoryPlan memory, List<StepPlan> stepPlans) {
    /**
     * One step: its candidates; forward tokens = Σ over candidates of the tokens each one's forward runs, counted
     * in whole-model forwards (a layer-l candidate counts (L − l)/L of the tokens); the largest shard's candidates
     * and layer passes; the wall time on N shards and on one unsharded process.
     */
    public record StepPlan(int step, int candidates, double forwardTokens, int maxShardCandidates, long maxShardLayerPasses,
                           double secondsSharded, double secondsUnsharded) {}

    public static ShardPlan of(ModelConfig c, List<int[]> prompts, int steps, int shards, boolean prefixReuse, double layerSeconds, long weightBytes) {
        long tokens = 0;
        for (int[] p : prompts) tokens += p.length;
        return of(c, prompts.size(), tokens, steps, shards, prefixReuse, layerSeconds, weightBytes,
                MemoryPlan.of(c, prompts, prefixReuse, false, weightBytes));
    }

    public static ShardPlan of(ModelConfig c, int prompts, long tokens, int steps, int shards, boolean prefixReuse, double layerSeconds, long weightBytes,
                               MemoryPlan memory) {
        int layers = c.numLayers(), heads = c.numHeads();
        List<HeadId> group = new ArrayList<>();
        List<StepPlan> out = new ArrayList<>();
        for (int s = 1; s <= steps; s++) {
            long total = 0;
            int candidates = 0;
            for (int l = 0; l < layers; l++) {
                for (int h = 0; h < heads; h++) {
                    if (group.contains(new HeadId(l, h))) continue;
                    candidates++;
                    total += Shard.cost(l, layers, prefixReuse);
                }
            }
            int[][] owner = Shard.partition(layers, heads, group, prefixReuse, shards);
            long[] load = new long[shards];
            int[] count = new int[shards];
            for (int l = 0; l < layers; l++) {
                for (int h = 0; h < heads; h++) {
                    if (owner[l][h] < 0) continue;
                    load[owner[l][h]] += Shard.cost(l, layers, prefixReuse);
                    count[owner[l][h]]++;
                }
            }
            int worst = 0;
            for (int k = 1; k < shards; k++) if (load[k] > load[worst]) worst = k;
            long overhead = (prefixReuse ? 2L : 1L) * layers;   // the shard's baseline, and its residual capture with prefix reuse
            double sharded = (load[worst] + overhead) * layerSeconds;
            double unsharded = (total + (prefixReuse ? layers : 0) + (s == 1 ? layers : 0)) * layerSeconds;
            out.add(new StepPlan(s, candidates, (double) total * tokens / layers, count[worst], load[worst], sharded, unsharded));
            group.add(new HeadId(layers - 1 - (s - 1) / heads, heads - 1 - (s - 1) % heads));
        }
        return new ShardPlan(c, prompts, tokens, steps, shards, prefixReuse, layerSeconds, weightBytes, memory, List.copyOf(out));
    }

    /** Seconds of one layer pass from a measured mean candidate time of an unsharded step (what a run's timings give). */
    public static double layerSecondsFromCandidate(double candidateSeconds, int layers, boolean prefixReuse) {
        return candidateSeconds / (prefixReuse ? (layers + 1) / 2.0 : layers);
    }

    public double totalSharded() { return stepPlans.stream().mapToDouble(StepPlan::secondsSharded).sum(); }

    public double totalUnsharded() { return stepPlans.stream().mapToDouble(StepPlan::secondsUnsharded).sum(); }
}
