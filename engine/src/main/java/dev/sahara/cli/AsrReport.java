package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.ablate.Ablation;
import dev.sahara.eval.AsrEvaluation;
import dev.sahara.eval.RefusalJudge;
import dev.sahara.model.Json;
import dev.sahara.report.ResultFiles;

import java.nio.file.Path;

/** ASR result as JSON and the per-prompt JSONL (query, response, verdict, matched keyword). */
final class AsrReport {
    private AsrReport() {}

    static ObjectNode summary(AsrEvaluation.Result r, Ablation ablation, String responsesFile) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        AblationOptions.describe(o, ablation);
        o.put("asr", r.asr());
        o.put("harmful", r.harmful());
        o.put("n", r.responses().size());
        o.put("context_full", r.filledContext());
        o.put("responses", responsesFile);
        return o;
    }

    static void writeJsonl(Path file, AsrEvaluation.Result r) {
        ResultFiles.writeJsonl(file, r.responses().stream().map(x -> {
            ObjectNode o = Json.MAPPER.createObjectNode();
            o.put("prompt", x.query());
            o.put("response", x.response());
            if (x.filledContext()) o.put("context_full", true);
            return verdict(o, x.verdict());
        }).toList());
    }

    /** The judge's fields of a response row: verdict (refusal | harmful), reason, matched_keyword. */
    static ObjectNode verdict(ObjectNode o, RefusalJudge.Verdict v) {
        o.put("verdict", v.refusal() ? "refusal" : "harmful");
        o.put("reason", v.reason());
        o.put("matched_keyword", v.matchedKeyword());
        return o;
    }
}
