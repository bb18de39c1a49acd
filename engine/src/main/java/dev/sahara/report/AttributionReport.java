package dev.sahara.report;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.AblationMode;
import dev.sahara.ablate.HeadId;
import dev.sahara.attribution.AttributionSettings;
import dev.sahara.attribution.GreedyGroupSearch;
import dev.sahara.eval.AsrEvaluation;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/** attribute's result files: attribution.json, heads.csv, the heat maps, report.md, and the ASR's responses. */
public final class AttributionReport {
    private AttributionReport() {}

    /** What the run did: its header, the candidate ablation, the group size, the ASR's ε, the group found and the ASR (null with --no-asr). */
    public record Run(ResultHeader header, AttributionSettings settings, int groupSize, float asrEpsilon, GreedyGroupSearch.Result result, Asr asr) {}

    /** The ASR before and after ablating the group: how it was measured ({@link AsrReport#describe}) and the two results. */
    public record Asr(ObjectNode settings, Ablation groupAblation, AsrEvaluation.Result before, AsrEvaluation.Result after) {}

    /** Writes every result file of the run into {@code out}; returns attribution.json's content. */
    public static ObjectNode write(Path out, Run run) {
        GreedyGroupSearch.Result result = run.result();
        ObjectNode o = run.header().json("attribute");
        ObjectNode a = o.putObject("attribution");
        ResultHeader.putAblation(a, run.settings().mode(), run.settings().epsilon());
        a.put("r_main", run.settings().rMain());
        a.put("group_size", run.groupSize());
        a.put("activations", "final-norm hidden state at the last prompt token");
        a.put("score", "sum of principal angles (degrees) between the leading r_main left singular vectors, unablated vs ablated");
        a.put("prefix_reuse", run.settings().prefixReuse());
        ArrayNode group = o.putArray("group");
        result.group().forEach(h -> group.add(h.label()));
        ArrayNode steps = o.putArray("steps");
        for (GreedyGroupSearch.Step s : result.steps()) {
            ObjectNode so = steps.addObject();
            so.put("step", s.index());
            ArrayNode before = so.putArray("group_before");
            s.groupBefore().forEach(h -> before.add(h.label()));
            so.put("picked", s.picked().label());
            so.put("score", s.pickedScore());
            so.set("scores", ScoreTables.toJson(s.scores()));
        }
        Asr asr = run.asr();
        if (asr != null) {
            ObjectNode ao = o.putObject("asr");
            ao.setAll(asr.settings());
            ao.put("ablation_mode", AblationMode.UNDIFF_Q.label);
            ao.put("ablation_epsilon", run.asrEpsilon());
            ao.set("before", AsrReport.summary(asr.before(), Ablation.none(), "responses_before.jsonl"));
            ao.set("after", AsrReport.summary(asr.after(), asr.groupAblation(), "responses_after.jsonl"));
            AsrReport.writeJsonl(out.resolve("responses_before.jsonl"), asr.before());
            AsrReport.writeJsonl(out.resolve("responses_after.jsonl"), asr.after());
        }

        List<String> columns = new ArrayList<>();
        List<double[][]> tables = new ArrayList<>();
        for (GreedyGroupSearch.Step s : result.steps()) {
            columns.add("step" + s.index());
            tables.add(s.scores());
            Heatmap.write(out.resolve("heatmap_step" + s.index() + ".png"),
                    "Sahara step " + s.index() + ": angle (deg) with " + (s.groupBefore().isEmpty() ? "" : s.groupBefore() + " + ") + "head ablated",
                    s.scores(), Set.of(s.picked()));
        }
        Heatmap.write(out.resolve("heatmap.png"), "Sahara step 1: angle (deg) per head; framed: the group", result.steps().get(0).scores(),
                new LinkedHashSet<>(result.group()));
        ResultFiles.writeString(out.resolve("heads.csv"), ScoreTables.toCsv(columns, tables));
        ResultFiles.writeJson(out.resolve("attribution.json"), o);
        ResultFiles.writeString(out.resolve("report.md"), markdown(run));
        return o;
    }

    /** What attribute prints when done: the group, and the ASR before and after. */
    public static String summary(Run run) {
        StringBuilder sb = new StringBuilder("group: " + run.result().group().stream().map(HeadId::label).collect(Collectors.joining(", ")) + "\n");
        if (run.asr() != null) sb.append(String.format(Locale.ROOT, "ASR before: %.3f (%d/%d)  after: %.3f (%d/%d)%n", run.asr().before().asr(),
                run.asr().before().harmful(), run.asr().before().responses().size(), run.asr().after().asr(), run.asr().after().harmful(),
                run.asr().after().responses().size()));
        return sb.toString();
    }

    private static String markdown(Run run) {
        ResultHeader h = run.header();
        AblationMode mode = run.settings().mode();
        StringBuilder sb = new StringBuilder("# Sahara attribution\n\n");
        sb.append("| setting | value |\n|---|---|\n");
        sb.append("| model | `").append(h.modelPath()).append("` (").append(h.config().architecture()).append(", ")
                .append(h.config().numLayers()).append(" layers × ").append(h.config().numHeads()).append(" heads) |\n");
        sb.append("| dataset | ").append(h.dataset().source()).append(" |\n");
        sb.append("| prompt format | ").append(h.format().label()).append(" |\n");
        sb.append("| ablation | ").append(mode).append(mode.usesEpsilon() ? ", ε = " + run.settings().epsilon() : "").append(" (ASR: undiff-q, ε = ")
                .append(run.asrEpsilon()).append(") |\n");
        sb.append("| r_main | ").append(run.settings().rMain()).append(" |\n| group size | ").append(run.groupSize()).append(" |\n");
        sb.append("| engine | ").append(EngineVersion.version()).append(" (").append(EngineVersion.gitCommit()).append(") |\n\n");
        sb.append("## Group found\n\n");
        for (GreedyGroupSearch.Step s : run.result().steps()) {
            sb.append(String.format(Locale.ROOT, "%d. **%s** — angle %.4f° (top candidates: %s)%n", s.index(), s.picked().label(), s.pickedScore(),
                    String.join(", ", ScoreTables.top(s.scores(), 5))));
        }
        Asr asr = run.asr();
        if (asr != null) {
            sb.append(String.format(Locale.ROOT, "%n## Attack success rate%n%n| | ASR | harmful / n |%n|---|---|---|%n| before | %.3f | %d / %d |%n| after ablating the group | %.3f | %d / %d |%n",
                    asr.before().asr(), asr.before().harmful(), asr.before().responses().size(), asr.after().asr(), asr.after().harmful(), asr.after().responses().size()));
        }
        sb.append("\n![heatmap](heatmap.png)\n\nFiles: `attribution.json`, `heads.csv`, `heatmap.png`, `heatmap_step*.png`")
                .append(asr != null ? ", `responses_before.jsonl`, `responses_after.jsonl`" : "").append(".\n");
        return sb.toString();
    }
}
