package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.ablate.Ablation;
import dev.sahara.cli.options.AsrOptions;
import dev.sahara.cli.options.Workload;
import dev.sahara.eval.AsrEvaluation;
import dev.sahara.llama.Sampler;
import dev.sahara.report.AsrReport;
import dev.sahara.report.ResultFiles;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * {@code asr --ablate HEADS --ablate-direction FILE}: the ASR with the heads beside the ASR with the refusal direction —
 * one table of four rows, each measured on its own: nothing ablated, the heads, the direction, both. asr.json then holds
 * {@code table} (one row each: condition, ablation, asr, harmful, n, responses) and responses_{condition}.jsonl.
 */
final class AsrTable {
    private AsrTable() {}

    /** Whether {@code asr} reports the table: heads and a directional ablation both asked for. */
    static boolean applies(Ablation a) { return !a.heads().isEmpty() && a.directionAblated() != null; }

    /** The four ablations, by condition name. */
    static Map<String, Ablation> conditions(Ablation a) {
        if (a.directionAdded() != null) throw new SaharaException("--add-direction cannot join the table of --ablate with --ablate-direction; run asr with it alone");
        Ablation heads = Ablation.none();
        for (var e : a.heads().entrySet()) heads = heads.with(e.getKey(), e.getValue());
        Map<String, Ablation> m = new LinkedHashMap<>();
        m.put("none", Ablation.none());
        m.put("heads", heads);
        m.put("direction", Ablation.none().withDirectionAblated(a.directionAblated()));
        m.put("both", a);
        return m;
    }

    /** Runs every condition, writes asr.json and the responses, returns the stdout summary. */
    static ObjectNode run(Workload w, Ablation a, AsrOptions.Settings settings, Sampler sampler, Path out, CommandSpec spec, StringBuilder summary) {
        Map<String, Ablation> conditions = conditions(a);
        ObjectNode o = w.header().json("asr");
        o.setAll(settings.describe(sampler));
        ArrayNode table = o.putArray("table");
        summary.append(String.format(Locale.ROOT, "%-10s %-6s %s%n", "ablated", "ASR", "harmful/n"));
        for (var e : conditions.entrySet()) {
            AsrEvaluation.Result r = settings.run(w, e.getValue(), sampler, StderrProgress.of(spec, "asr (" + e.getKey() + ")"));
            String file = "responses_" + e.getKey() + ".jsonl";
            AsrReport.writeJsonl(out.resolve(file), r);
            ObjectNode row = table.addObject();
            row.put("condition", e.getKey());
            row.setAll(AsrReport.summary(r, e.getValue(), file));
            summary.append(String.format(Locale.ROOT, "%-10s %.3f  %d/%d%n", e.getKey(), r.asr(), r.harmful(), r.responses().size()));
        }
        summary.append("heads: ").append(conditions.get("heads")).append("; direction: ").append(a.directionAblated().source()).append('\n');
        ResultFiles.writeJson(out.resolve("asr.json"), o);
        return o;
    }
}
