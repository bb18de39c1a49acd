package dev.sahara.cli.options;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.ablate.Ablation;
import dev.sahara.attribution.Progress;
import dev.sahara.eval.AsrEvaluation;
import dev.sahara.eval.PerPromptAsr;
import dev.sahara.eval.RefusalJudge;
import dev.sahara.llama.ContextLimit;
import dev.sahara.llama.Sampler;
import dev.sahara.report.AsrReport;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.List;

/** How responses are generated and judged for the attack success rate (SPEC.md); {@link #settings()} checks them. */
public final class AsrOptions {
    int maxTokens = 128;
    /** Whether --max-tokens was given: a value given above the model's context is refused, the default is only capped by it. */
    boolean maxTokensGiven;

    @Option(names = "--max-tokens", paramLabel = "N", description = "New tokens per response at most (and at most the model's context). Default: 128.")
    void maxTokens(int n) {
        maxTokens = n;
        maxTokensGiven = true;
    }

    @Mixin
    public SamplingOptions sampling;

    @Option(names = "--keywords", paramLabel = "LIST", defaultValue = "paper",
            description = "Refusal keywords: paper (Table 4), official (the official code's list as it behaves), gcg, or a file (one phrase per line). Default: ${DEFAULT-VALUE}.")
    String keywords;

    @Option(names = "--repetition", paramLabel = "N,K", description = "Also count a response as a refusal when some run of N words occurs K times (off by default).")
    String repetition;

    @Option(names = "--batch-size", paramLabel = "B", defaultValue = "16", description = "Prompts generated together (bounds the KV cache). Results do not depend on it. Default: ${DEFAULT-VALUE}.")
    int batchSize;

    RefusalJudge judge() {
        RefusalJudge j = RefusalJudge.named(keywords);
        if (repetition != null) {
            String[] p = repetition.split(",");
            try {
                if (p.length != 2) throw new NumberFormatException();
                j = j.withRepetitionFilter(Integer.parseInt(p[0].strip()), Integer.parseInt(p[1].strip()));
            } catch (NumberFormatException e) {
                throw new SaharaException("--repetition must be N,K (e.g. 3,4), got '" + repetition + "'");
            }
        }
        return j;
    }

    /** The checked settings; a command may call {@link #check()} earlier, to report these options before its own. */
    public Settings settings() {
        check();
        return new Settings(judge(), maxTokens, batchSize, maxTokensGiven);
    }

    public void check() {
        if (maxTokens < 1) throw new SaharaException("--max-tokens must be >= 1, got " + maxTokens);
        if (batchSize < 1) throw new SaharaException("--batch-size must be >= 1, got " + batchSize);
    }

    /** How the responses of an ASR measurement are generated and judged (the options, checked); the decoding is the caller's. */
    public record Settings(RefusalJudge judge, int maxTokens, int batchSize, boolean maxTokensGiven) {

        /**
         * Refuses, before any work, a generation the model or the heap cannot hold: --max-tokens given above the context, or a KV
         * cache for --batch-size prompts beyond the heap. {@code extraTokens}: a forced prefix added to every prompt.
         */
        public void checkFits(Workload w, int extraTokens) {
            ContextLimit.checkGeneration(w.model().config(), w.encoded(), extraTokens, maxTokens, maxTokensGiven, batchSize, Runtime.getRuntime().maxMemory());
        }

        /** Every query's response under one ablation, judged. */
        public AsrEvaluation.Result run(Workload w, Ablation ablation, Sampler sampler, Progress progress) {
            return AsrEvaluation.run(w.model(), w.tokenizer(), w.dataset().prompts(), w.encoded(), ablation, maxTokens, sampler, judge, batchSize, progress);
        }

        /** Every query's response under its own ablation (one per query), continuing the forced prefix; only the continuation is judged. */
        public PerPromptAsr.Result runPerPrompt(Workload w, List<Ablation> ablations, ResponsePrefix prefix, Sampler sampler, Progress progress) {
            return PerPromptAsr.run(w.model(), w.tokenizer(), w.dataset().prompts(), w.encoded(), ablations, prefix.ids(), maxTokens, sampler, judge,
                    batchSize, progress);
        }

        public ObjectNode describe(Sampler sampler) { return AsrReport.describe(judge, maxTokens, sampler); }

        public ObjectNode describe(List<Sampler> samplers) { return AsrReport.describe(judge, maxTokens, samplers); }
    }
}
