package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.AblationMode;
import dev.sahara.ablate.HeadId;
import dev.sahara.attribution.AttributionSettings;
import dev.sahara.attribution.Sahara;
import dev.sahara.attribution.Shard;
import dev.sahara.eval.AsrEvaluation;
import dev.sahara.llama.Sampler;
import dev.sahara.model.Json;
import dev.sahara.report.CandidateLog;
import dev.sahara.report.Heatmap;
import dev.sahara.report.ResultFiles;
import dev.sahara.report.ScoreTables;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/**
 * {@code attribute}: Sahara (Algorithm 1) on a dataset — the group of heads whose joint ablation moves the
 * final-norm states furthest — then the attack success rate before and after ablating that group.
 */
@Command(name = "attribute", description = "Find the safety heads of a model with Sahara, then measure ASR before/after ablating them. "
        + "With no options: the embedded planted model on builtin:maliciousinstruct.")
public final class AttributeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    WorkloadOptions workload;
    @Mixin
    NoDirectionOptions noDirection;
    @Mixin
    AsrOptions asr;
    @Mixin
    CandidateOptions candidate;
    @Mixin
    AngleOptions angle;
    @Mixin
    ShardOption sharding;

    @Option(names = "--step", paramLabel = "S", description = "With --shard: the Sahara step this shard scores (1..group size). Default: 1.")
    Integer step;

    @Option(names = "--group-from", paramLabel = "DIR", description = "With --shard and --step S > 1: the folder 'merge' wrote from every shard of steps 1..S-1 "
            + "(the group so far is picked from its scores).")
    Path groupFrom;

    @Option(names = "--group-size", paramLabel = "S", defaultValue = "3", description = "Heads in the group (Sahara steps). Default: ${DEFAULT-VALUE}.")
    int groupSize;

    @Option(names = "--asr-epsilon", paramLabel = "E", defaultValue = "1e-10", description = "ε of the ablated model when measuring ASR. Default: ${DEFAULT-VALUE}.")
    float asrEpsilon;

    @Option(names = "--no-asr", description = "Skip the ASR measurement.")
    boolean noAsr;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "runs/attribute", description = "Output folder. Default: ${DEFAULT-VALUE}.")
    Path out;

    @Mixin
    ForceOption force;
    @Mixin
    PlotOptions plot;

    @Option(names = "--resume", paramLabel = "DIR", description = "Continue the interrupted run in DIR (its candidates.jsonl), with the same options; "
            + "the result is the same as an uninterrupted run's.")
    Path resume;

    @Option(names = "--json", description = "Print attribution.json to stdout instead of the summary.")
    boolean json;

    @Option(names = "--plan", description = "Print what a sharded run costs (candidates, forward tokens, memory and wall time per step on --shards N) and run nothing.")
    boolean plan;

    @Option(names = "--shards", paramLabel = "N", defaultValue = "1", description = "With --plan: the number of shards (GPUs). Default: ${DEFAULT-VALUE}.")
    int planShards;

    @Option(names = "--candidate-seconds", paramLabel = "T", description = "With --plan: measured mean seconds of one candidate of an unsharded step "
            + "on the target device (without it the plan loads the model and times one candidate).")
    Double candidateSeconds;

    @Option(names = "--tokens-per-prompt", paramLabel = "T", description = "With --plan: tokens per prompt, for a model folder without tokenizer.json.")
    Integer tokensPerPrompt;

    @Override
    public Integer call() {
        int rank = angle.rank();
        if (!(asrEpsilon >= 0)) throw new SaharaException("--asr-epsilon must be >= 0, got " + asrEpsilon);
        asr.check();
        AttributionSettings attribution = candidate.settings(angle);
        AsrSettings asrSettings = asr.settings();
        Sampler sampler = asr.sampling.sampler();
        PrintWriter err = spec.commandLine().getErr();
        var parsed = spec.commandLine().getParseResult();
        for (String o : List.of("--shards", "--candidate-seconds", "--tokens-per-prompt")) {
            if (!plan && parsed.hasMatchedOption(o)) throw new SaharaException(o + " goes with --plan (a sharded run takes --shard K/N)");
        }
        if (plan) return PlanReport.run(spec.commandLine().getOut(), workload, attribution, groupSize, planShards, candidateSeconds, tokensPerPrompt);
        long t0 = System.nanoTime();
        Shard shard = sharding.shard();
        if (shard == null && (step != null || groupFrom != null)) throw new SaharaException("--step and --group-from go with --shard K/N");
        int shardStep = step == null ? 1 : step;
        if (shard != null && (shardStep < 1 || shardStep > groupSize)) throw new SaharaException("--step must be in 1..--group-size (" + groupSize + "), got " + shardStep);
        if (shard != null && shardStep > 1 && groupFrom == null) {
            throw new SaharaException("--step " + shardStep + " needs --group-from DIR: the folder merge wrote from every shard of steps 1.." + (shardStep - 1));
        }
        if (shard != null && shardStep == 1 && groupFrom != null) throw new SaharaException("--group-from is for --step 2 and later (step 1 starts from the empty group)");
        Path out = OutputFolder.claim(spec, "attribute", this.out, resume, force.force);
        try (Workload w = workload.load()) {
            candidate.checkAllowed(w.model().config());
            if (!noAsr) asrSettings.checkFits(w, 0);
            ObjectNode logSettings = RunRecord.settings(w, attribution, Json.MAPPER.createObjectNode().put("group_size", groupSize));
            if (shard != null) {
                Sahara.checkGroupSize(w.model().config(), groupSize);
                List<HeadId> before = List.of();
                if (shardStep > 1) {
                    Path merged = groupFrom.resolve(CandidateLog.FILE);
                    before = Sahara.replay(w.model().config().numLayers(), w.model().config().numHeads(), shardStep - 1,
                            CandidateLog.readOnly(merged, "attribute", logSettings),
                            (s, id) -> merged + ": step " + s + " lacks " + id.label() + " (merge every shard of steps 1.." + (shardStep - 1) + " into "
                                    + groupFrom + " first)");
                }
                return ShardRun.run(spec, "attribute", w, new Sahara(w.model(), w.encoded(), attribution), logSettings, shard, shardStep, before, out,
                        resume != null);
            }
            long tLoad = System.nanoTime();
            Sahara.Result result;
            ObjectNode timingsFile;
            Sahara.checkGroupSize(w.model().config(), groupSize);
            Sahara sahara = new Sahara(w.model(), w.encoded(), attribution);
            try (RunRecord.Logged log = RunRecord.open(out, "attribute", logSettings, resume != null)) {
                result = sahara.run(groupSize, log, new StderrProgress(err, "sahara"));
                timingsFile = RunRecord.timings("attribute", w, log, resume != null);
            }
            long tSahara = System.nanoTime();

            ObjectNode o = w.metadata("attribute");
            ObjectNode a = o.putObject("attribution");
            candidate.describe(a);
            a.put("r_main", rank);
            a.put("group_size", groupSize);
            a.put("activations", "final-norm hidden state at the last prompt token");
            a.put("score", "sum of principal angles (degrees) between the leading r_main left singular vectors, unablated vs ablated");
            a.put("prefix_reuse", attribution.prefixReuse());
            ArrayNode group = o.putArray("group");
            result.group().forEach(h -> group.add(h.label()));
            ArrayNode steps = o.putArray("steps");
            for (Sahara.Step s : result.steps()) {
                ObjectNode so = steps.addObject();
                so.put("step", s.index());
                ArrayNode before = so.putArray("group_before");
                s.groupBefore().forEach(h -> before.add(h.label()));
                so.put("picked", s.picked().label());
                so.put("score", s.pickedScore());
                so.set("scores", ScoreTables.toJson(s.scores()));
            }
            Set<String> groupLabels = result.group().stream().map(HeadId::label).collect(Collectors.toCollection(LinkedHashSet::new));

            AsrEvaluation.Result before = null, after = null;
            if (!noAsr) {
                Ablation groupAblation = Ablation.of(result.group(), AblationMode.UNDIFF_Q, asrEpsilon);
                before = asrSettings.run(w, Ablation.none(), sampler, new StderrProgress(err, "asr before"));
                after = asrSettings.run(w, groupAblation, sampler, new StderrProgress(err, "asr after"));
                ObjectNode ao = o.putObject("asr");
                ao.setAll(asrSettings.describe(sampler));
                ao.put("ablation_mode", AblationMode.UNDIFF_Q.label);
                ao.put("ablation_epsilon", asrEpsilon);
                ao.set("before", AsrReport.summary(before, Ablation.none(), "responses_before.jsonl"));
                ao.set("after", AsrReport.summary(after, groupAblation, "responses_after.jsonl"));
                AsrReport.writeJsonl(out.resolve("responses_before.jsonl"), before);
                AsrReport.writeJsonl(out.resolve("responses_after.jsonl"), after);
            }
            long tEnd = System.nanoTime();
            ObjectNode timings = timingsFile.putObject("timings_seconds");
            timings.put("load", (tLoad - t0) / 1e9);
            timings.put("sahara", (tSahara - tLoad) / 1e9);
            timings.put("asr", (tEnd - tSahara) / 1e9);
            timings.put("total", (tEnd - t0) / 1e9);
            RunRecord.putWall(timingsFile);
            ArrayNode stepSeconds = timings.putArray("steps");
            result.steps().forEach(s -> stepSeconds.add(s.seconds()));
            ResultFiles.writeJson(out.resolve("timings.json"), timingsFile);

            List<String> columns = new ArrayList<>();
            List<double[][]> tables = new ArrayList<>();
            for (Sahara.Step s : result.steps()) {
                columns.add("step" + s.index());
                tables.add(s.scores());
                Heatmap.write(out.resolve("heatmap_step" + s.index() + ".png"),
                        "Sahara step " + s.index() + ": angle (deg) with " + (s.groupBefore().isEmpty() ? "" : s.groupBefore() + " + ") + "head ablated",
                        s.scores(), Set.of(s.picked().label()));
            }
            Heatmap.write(out.resolve("heatmap.png"), "Sahara step 1: angle (deg) per head; framed: the group", result.steps().get(0).scores(), groupLabels);
            ResultFiles.writeString(out.resolve("heads.csv"), ScoreTables.toCsv(columns, tables));
            ResultFiles.writeJson(out.resolve("attribution.json"), o);
            ResultFiles.writeString(out.resolve("report.md"), markdown(w, result, before, after));

            PrintWriter pw = spec.commandLine().getOut();
            if (json) {
                pw.println(o.toString());
            } else {
                pw.println("group: " + String.join(", ", groupLabels));
                if (before != null) pw.printf(Locale.ROOT, "ASR before: %.3f (%d/%d)  after: %.3f (%d/%d)%n", before.asr(), before.harmful(),
                        before.responses().size(), after.asr(), after.harmful(), after.responses().size());
                pw.println("results: " + out.toAbsolutePath());
            }
            pw.flush();
        }
        return 0;
    }

    private String markdown(Workload w, Sahara.Result r, AsrEvaluation.Result before, AsrEvaluation.Result after) {
        StringBuilder sb = new StringBuilder("# Sahara attribution\n\n");
        sb.append("| setting | value |\n|---|---|\n");
        sb.append("| model | `").append(w.modelOptions().model).append("` (").append(w.model().config().architecture()).append(", ")
                .append(w.model().config().numLayers()).append(" layers × ").append(w.model().config().numHeads()).append(" heads) |\n");
        sb.append("| dataset | ").append(w.dataset().source()).append(" |\n");
        sb.append("| prompt format | ").append(w.format().label()).append(" |\n");
        sb.append("| ablation | ").append(candidate.mode()).append(candidate.mode().usesEpsilon() ? ", ε = " + candidate.epsilon() : "").append(" (ASR: undiff-q, ε = ").append(asrEpsilon).append(") |\n");
        sb.append("| r_main | ").append(angle.rank()).append(" |\n| group size | ").append(groupSize).append(" |\n");
        sb.append("| engine | ").append(EngineVersion.version()).append(" (").append(EngineVersion.gitCommit()).append(") |\n\n");
        sb.append("## Group found\n\n");
        for (Sahara.Step s : r.steps()) {
            sb.append(String.format(Locale.ROOT, "%d. **%s** — angle %.4f° (top candidates: %s)%n", s.index(), s.picked().label(), s.pickedScore(),
                    String.join(", ", ScoreTables.top(s.scores(), 5))));
        }
        if (before != null) {
            sb.append(String.format(Locale.ROOT, "%n## Attack success rate%n%n| | ASR | harmful / n |%n|---|---|---|%n| before | %.3f | %d / %d |%n| after ablating the group | %.3f | %d / %d |%n",
                    before.asr(), before.harmful(), before.responses().size(), after.asr(), after.harmful(), after.responses().size()));
        }
        sb.append("\n![heatmap](heatmap.png)\n\nFiles: `attribution.json`, `heads.csv`, `heatmap.png`, `heatmap_step*.png`")
                .append(before != null ? ", `responses_before.jsonl`, `responses_after.jsonl`" : "").append(".\n");
        return sb.toString();
    }
}
