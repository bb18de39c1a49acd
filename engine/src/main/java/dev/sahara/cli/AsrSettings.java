package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.ablate.Ablation;
import dev.sahara.attribution.Progress;
import dev.sahara.eval.AsrEvaluation;
import dev.sahara.eval.PerPromptAsr;
import dev.sahara.eval.RefusalJudge;
import dev.sahara.llama.Sampler;
import dev.sahara.model.Json;

import java.util.List;

/** How the responses of an ASR measurement are generated and judged (AsrOptions, checked); the decoding is the caller's. */
record AsrSettings(RefusalJudge judge, int maxTokens, int batchSize, boolean maxTokensGiven) {

    /**
     * Refuses, before any work, a generation the model or the heap cannot hold: --max-tokens given above the context, or a KV
     * cache for --batch-size prompts beyond the heap. {@code extraTokens}: a forced prefix added to every prompt.
     */
    void checkFits(Workload w, int extraTokens) {
        dev.sahara.llama.ContextLimit.checkGeneration(w.model().config(), w.encoded(), extraTokens, maxTokens, maxTokensGiven, batchSize,
                Runtime.getRuntime().maxMemory());
    }

    /** Every query's response under one ablation, judged. */
    AsrEvaluation.Result run(Workload w, Ablation ablation, Sampler sampler, Progress progress) {
        return AsrEvaluation.run(w.model(), w.tokenizer(), w.dataset().prompts(), w.encoded(), ablation, maxTokens, sampler, judge, batchSize, progress);
    }

    /** Every query's response under its own ablation (one per query), continuing the forced prefix; only the continuation is judged. */
    PerPromptAsr.Result runPerPrompt(Workload w, List<Ablation> ablations, ResponsePrefix prefix, Sampler sampler, Progress progress) {
        return PerPromptAsr.run(w.model(), w.tokenizer(), w.dataset().prompts(), w.encoded(), ablations, prefix.ids(), maxTokens, sampler, judge,
                batchSize, progress);
    }

    /** judge, decoding, max_new_tokens: as the result files of one decoding record them. */
    ObjectNode describe(Sampler sampler) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("judge", judge.describe());
        o.put("decoding", sampler.describe());
        o.put("max_new_tokens", maxTokens);
        return o;
    }

    /** judge, max_new_tokens, decodings: as the result files of the commands that run several decodings record them. */
    ObjectNode describe(List<Sampler> samplers) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("judge", judge.describe());
        o.put("max_new_tokens", maxTokens);
        ArrayNode decodings = o.putArray("decodings");
        for (Sampler s : samplers) decodings.add(s.describe());
        return o;
    }
}
