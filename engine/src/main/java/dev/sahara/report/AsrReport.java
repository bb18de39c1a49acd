package dev.sahara.report;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.ablate.Ablation;
import dev.sahara.eval.AsrEvaluation;
import dev.sahara.eval.PerPromptAsr;
import dev.sahara.eval.RefusalJudge;
import dev.sahara.llama.Sampler;
import dev.sahara.model.Json;

import java.nio.file.Path;
import java.util.List;

/** ASR results as JSON: how responses were generated and judged, the counts, and the per-prompt JSONL (query, response, verdict). */
public final class AsrReport {
    private AsrReport() {}

    /** judge, decoding, max_new_tokens: as the result files of one decoding record them. */
    public static ObjectNode describe(RefusalJudge judge, int maxTokens, Sampler sampler) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("judge", judge.describe());
        o.put("decoding", sampler.describe());
        o.put("max_new_tokens", maxTokens);
        return o;
    }

    /** judge, max_new_tokens, decodings: as the result files of the commands that run several decodings record them. */
    public static ObjectNode describe(RefusalJudge judge, int maxTokens, List<Sampler> samplers) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("judge", judge.describe());
        o.put("max_new_tokens", maxTokens);
        ArrayNode decodings = o.putArray("decodings");
        for (Sampler s : samplers) decodings.add(s.describe());
        return o;
    }

    /** One measurement: ablation, asr, harmful, n, context_full, and the file of its responses. */
    public static ObjectNode summary(AsrEvaluation.Result r, Ablation ablation, String responsesFile) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        ResultHeader.putAblation(o, ablation);
        return counts(o, r.asr(), r.harmful(), r.responses().size(), r.filledContext(), responsesFile);
    }

    /** One object per prompt: prompt, response, verdict, reason, matched_keyword. */
    public static void writeJsonl(Path file, AsrEvaluation.Result r) {
        ResultFiles.writeJsonl(file, r.responses().stream().map(x -> {
            ObjectNode o = Json.MAPPER.createObjectNode();
            o.put("prompt", x.query());
            o.put("response", x.response());
            if (x.filledContext()) o.put("context_full", true);
            return verdict(o, x.verdict());
        }).toList());
    }

    /** "greedy" or "top5": the short name of a decoding in file names and summaries. */
    public static String shortName(Sampler s) { return s.greedy() ? "greedy" : "top" + s.topK(); }

    /**
     * Writes one decoding's responses to {@code responses_{variant}_{decoding}.jsonl} in {@code out} and completes
     * their row of the results (which starts with the command's own keys): decoding, asr, harmful, n, context_full, responses.
     */
    public static void writeResponses(Path out, String variant, Sampler s, PerPromptAsr.Result r, ObjectNode row) {
        String file = "responses_" + variant + "_" + shortName(s) + ".jsonl";
        ResultFiles.writeJsonl(out.resolve(file), r.responses().stream().map(x -> {
            ObjectNode o = Json.MAPPER.createObjectNode();
            o.put("prompt", x.query());
            o.put("ablation", x.ablation().toString());
            o.put("response", x.response());
            o.put("generated", x.generated());   // the judged text: the response without the forced prefix
            if (x.filledContext()) o.put("context_full", true);
            return verdict(o, x.verdict());
        }).toList());
        counts(row.put("decoding", s.describe()), r.asr(), r.harmful(), r.responses().size(), r.filledContext(), file);
    }

    private static ObjectNode counts(ObjectNode o, double asr, long harmful, int n, long contextFull, String responsesFile) {
        o.put("asr", asr);
        o.put("harmful", harmful);
        o.put("n", n);
        o.put("context_full", contextFull);
        o.put("responses", responsesFile);
        return o;
    }

    /** The judge's fields of a response row: verdict (refusal | harmful), reason, matched_keyword. */
    private static ObjectNode verdict(ObjectNode o, RefusalJudge.Verdict v) {
        o.put("verdict", v.refusal() ? "refusal" : "harmful");
        o.put("reason", v.reason());
        o.put("matched_keyword", v.matchedKeyword());
        return o;
    }
}
