package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.ablate.AblationMode;
import dev.sahara.attribution.AttributionSettings;
import dev.sahara.attribution.Progress;
import dev.sahara.attribution.QueryShips;
import dev.sahara.eval.PerPromptAsr;
import dev.sahara.llama.Sampler;
import dev.sahara.model.Json;
import dev.sahara.report.ResultFiles;

import java.nio.file.Path;
import java.util.List;

/** Helpers shared by the analysis commands (ships, ships-asr, course-correction). */
final class AnalysisSupport {
    private AnalysisSupport() {}

    /**
     * The decodings to run: {@code --decoding greedy} or {@code top-k} gives one; no --decoding (and no --top-k),
     * or {@code --decoding both}, gives greedy and top-k (k = --top-k or 5, --temperature, --seed), as the paper reports both.
     */
    static List<Sampler> samplers(SamplingOptions s) {
        boolean both = (s.decoding == null && s.topK == null) || "both".equals(s.decoding);
        if (!both) return List.of(s.sampler());
        s.check(false);
        return List.of(Sampler.GREEDY, new Sampler(s.topK == null ? 5 : s.topK, s.temperature(), s.seed));
    }

    /** Query-level Ships: one layer × head matrix of KL per query (r_main and prefix reuse are dataset-level settings; they do not apply). */
    static double[][][] queryShips(Workload w, AblationMode mode, float epsilon, boolean officialKl, Progress progress) {
        return QueryShips.compute(w.model(), w.encoded(), new AttributionSettings(mode, epsilon, 1, officialKl, true), progress);
    }

    /** kl and position: what a query-level Ships score is, in the result file. */
    static void describeQueryShips(ObjectNode o, boolean officialKl) {
        o.put("kl", officialKl ? "official: sum (p+1e-12) log((p+1e-12)/(q+1e-12)), no renormalisation" : "KL(p || p_h) from log-softmax, natural log");
        o.put("position", "last prompt token");
    }

    /** "greedy" or "top5": the short name used in file names. */
    static String shortName(Sampler s) { return s.greedy() ? "greedy" : "top" + s.topK(); }

    /**
     * Writes one decoding's responses to {@code responses_{variant}_{decoding}.jsonl} in {@code out} and completes
     * their row of the results (which starts with the command's own keys): decoding, asr, harmful, n, responses.
     */
    static void writeResponses(Path out, String variant, Sampler s, PerPromptAsr.Result r, ObjectNode row) {
        String file = "responses_" + variant + "_" + shortName(s) + ".jsonl";
        writeJsonl(out.resolve(file), r);
        row.put("decoding", s.describe());
        row.put("asr", r.asr());
        row.put("harmful", r.harmful());
        row.put("n", r.responses().size());
        row.put("context_full", r.filledContext());
        row.put("responses", file);
    }

    /** One object per prompt: prompt, ablation, response (forced prefix + continuation), generated (judged), verdict, reason, matched_keyword. */
    private static void writeJsonl(Path file, PerPromptAsr.Result r) {
        ResultFiles.writeJsonl(file, r.responses().stream().map(x -> {
            ObjectNode o = Json.MAPPER.createObjectNode();
            o.put("prompt", x.query());
            o.put("ablation", x.ablation().toString());
            o.put("response", x.response());
            o.put("generated", x.generated());
            if (x.filledContext()) o.put("context_full", true);
            return AsrReport.verdict(o, x.verdict());
        }).toList());
    }

    /** Parses "1,2,3" or "1-5" (or a mix) into a sorted list of distinct non-negative ints. */
    static List<Integer> intList(String option, String text) {
        java.util.TreeSet<Integer> out = new java.util.TreeSet<>();
        try {
            for (String part : text.split(",")) {
                String p = part.strip();
                int dash = p.indexOf('-', 1);
                if (dash > 0) {
                    int a = Integer.parseInt(p.substring(0, dash).strip()), b = Integer.parseInt(p.substring(dash + 1).strip());
                    if (b < a) throw new NumberFormatException();
                    for (int i = a; i <= b; i++) out.add(i);
                } else out.add(Integer.parseInt(p));
            }
        } catch (NumberFormatException e) {
            throw new SaharaException(option + " must be a list like 1,2,3 or 1-5, got '" + text + "'");
        }
        if (out.isEmpty() || out.first() < 0) throw new SaharaException(option + " must list numbers >= 0, got '" + text + "'");
        return List.copyOf(out);
    }
}
