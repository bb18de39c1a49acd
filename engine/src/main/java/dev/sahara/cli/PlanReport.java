package dev.sahara.cli;

import dev.sahara.SaharaException;
import dev.sahara.ablate.HeadId;
import dev.sahara.attribution.AttributionSettings;
import dev.sahara.attribution.GreedyGroupSearch;
import dev.sahara.attribution.ShardPlan;
import dev.sahara.cli.options.ModelOptions;
import dev.sahara.cli.options.Workload;
import dev.sahara.cli.options.WorkloadOptions;
import dev.sahara.data.Dataset;
import dev.sahara.model.ModelConfig;
import dev.sahara.model.PromptFormat;
import dev.sahara.model.SyntheticModels;
import dev.sahara.model.Tokenizer;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code attribute --plan --shards N}: the cost of a sharded Sahara run before it starts (docs/SCALE.md). The model's
 * shape comes from config.json alone (no weights needed), the prompts' token count from its tokenizer (or
 * {@code --tokens-per-prompt}), and the time from a measured mean candidate time ({@code --candidate-seconds}, e.g.
 * a run's Sahara time / candidates, or tools/bench-report) or, without it, from a probe: the model is loaded on the
 * chosen backend and one full-depth candidate (L0H0) is timed.
 */
final class PlanReport {
    private PlanReport() {}

    static int run(PrintWriter out, WorkloadOptions workload, AttributionSettings attribution, int groupSize, int shards, Double candidateSeconds,
                   Integer tokensPerPrompt) {
        if (shards < 1) throw new SaharaException("--shards must be >= 1, got " + shards);
        if (candidateSeconds != null && !(candidateSeconds > 0)) throw new SaharaException("--candidate-seconds must be > 0, got " + candidateSeconds);
        if (tokensPerPrompt != null && tokensPerPrompt < 1) throw new SaharaException("--tokens-per-prompt must be >= 1, got " + tokensPerPrompt);
        ModelOptions mo = workload.model;
        boolean synthetic = mo.model.startsWith(SyntheticModels.PREFIX);
        ModelConfig c = synthetic ? SyntheticModels.config(mo.model.substring(SyntheticModels.PREFIX.length()).split(":")[0]) : ModelConfig.load(mo.modelDir());
        if (groupSize < 1 || groupSize > c.numLayers() * c.numHeads()) throw new SaharaException("--group-size must be in 1.." + c.numLayers() * c.numHeads() + ", got " + groupSize);
        Dataset d = workload.data.load();
        List<int[]> prompts = new ArrayList<>();
        String tokensFrom;
        if (tokensPerPrompt != null) {
            for (int i = 0; i < d.size(); i++) prompts.add(new int[tokensPerPrompt]);
            tokensFrom = "--tokens-per-prompt " + tokensPerPrompt;
        } else {
            if (synthetic || !Files.isRegularFile(mo.modelDir().resolve("tokenizer.json"))) {
                throw new SaharaException("--plan: " + mo.model + " has no tokenizer.json to count the prompts' tokens; give --tokens-per-prompt T");
            }
            try (Tokenizer tok = mo.tokenizer()) {
                for (String q : d.prompts()) prompts.add(workload.prompt.encode(PromptFormat.TEMPLATE, q, tok));
            }
            tokensFrom = "the model's tokenizer, " + workload.prompt.format(PromptFormat.TEMPLATE).label() + " format";
        }
        long weights = synthetic ? parameters(c) * 2 : weightBytes(mo.modelDir(), c);
        double layerSeconds;
        String timeFrom;
        if (candidateSeconds != null) {
            layerSeconds = ShardPlan.layerSecondsFromCandidate(candidateSeconds, c.numLayers(), attribution.prefixReuse());
            timeFrom = String.format(Locale.ROOT, "--candidate-seconds %s (mean candidate of an unsharded step)", candidateSeconds);
        } else {
            if (synthetic) throw new SaharaException("--plan: " + mo.model + " has no tokenizer for the probe; give --candidate-seconds T (measured elsewhere)");
            try (Workload w = workload.load()) {
                GreedyGroupSearch sahara = new GreedyGroupSearch(w.model(), w.encoded(), attribution);
                layerSeconds = sahara.timeCandidate(new HeadId(0, 0)) / c.numLayers();
                timeFrom = "a probe: candidate L0H0 timed on " + w.model().backend().name() + " with " + mo.threadCount() + " thread(s)";
            }
        }
        ShardPlan p = ShardPlan.of(c, prompts, groupSize, shards, attribution.prefixReuse(), layerSeconds, weights);
        out.printf(Locale.ROOT, "Plan: Sahara on %s (%d layers × %d heads), %s: %d prompts, %d tokens (%s), group size %d, %d shard(s), prefix reuse %s%n",
                mo.model, c.numLayers(), c.numHeads(), d.source(), p.prompts(), p.tokens(), tokensFrom, groupSize, shards, attribution.prefixReuse() ? "on" : "off");
        out.printf(Locale.ROOT, "time of one layer pass over every prompt token: %.4g s, from %s%n", layerSeconds, timeFrom);
        out.printf(Locale.ROOT, "memory per shard: weights %s + activations and caches %s (residual cache %s; CPU: Java heap, CUDA: device memory)%n",
                gib(weights), gib(p.memory().heapBytes()), gib(p.memory().residualCacheBytes()));
        out.println();
        out.println("| step | candidates | forward tokens | largest shard: candidates | wall time, " + shards + " shard(s) | wall time, unsharded |");
        out.println("|---:|---:|---:|---:|---:|---:|");
        for (ShardPlan.StepPlan s : p.stepPlans()) {
            out.printf(Locale.ROOT, "| %d | %d | %.4g | %d | %s | %s |%n", s.step(), s.candidates(), s.forwardTokens(), s.maxShardCandidates(),
                    duration(s.secondsSharded()), duration(s.secondsUnsharded()));
        }
        out.printf(Locale.ROOT, "| all | | | | %s (%.1f device-hours) | %s |%n", duration(p.totalSharded()), p.totalSharded() * shards / 3600,
                duration(p.totalUnsharded()));
        out.println();
        out.println("Not counted: starting each job and loading the model (every shard loads it), the queue's wait, ASR after the last merge.");
        out.println("forward tokens: whole-model forwards × tokens (a layer-l candidate runs layers l..L-1 only with prefix reuse).");
        out.flush();
        return 0;
    }

    /** Parameters of a Llama-family model from its shape (lm_head counted unless tied). */
    static long parameters(ModelConfig c) {
        long dim = c.hiddenSize(), perLayer = dim * (c.qDim() + 2L * c.kvDim()) + (long) c.qDim() * dim + 3L * dim * c.intermediateSize() + 2 * dim;
        return (long) c.vocabSize() * dim * (c.tieWordEmbeddings() ? 1 : 2) + c.numLayers() * perLayer + dim;
    }

    /** Bytes of the checkpoint's safetensors files, or (a folder with config.json only) the parameters at 2 bytes each. */
    static long weightBytes(Path dir, ModelConfig c) {
        long sum = 0;
        try (var files = Files.list(dir)) {
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".safetensors")).toList()) sum += Files.size(f);
        } catch (IOException e) {
            throw SaharaException.inFile(dir, "cannot list: " + e.getMessage());
        }
        return sum > 0 ? sum : parameters(c) * 2;
    }

    static String gib(long bytes) {
        return bytes >= 1L << 30 ? String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30)) : String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
    }

    static String duration(double s) {
        if (s < 120) return String.format(Locale.ROOT, "%.1f s", s);
        if (s < 2 * 3600) return String.format(Locale.ROOT, "%.1f min", s / 60);
        return String.format(Locale.ROOT, "%.1f h", s / 3600);
    }
}
