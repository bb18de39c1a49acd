package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.AblationMode;
import dev.sahara.ablate.Epsilon;
import dev.sahara.ablate.HeadId;
import dev.sahara.attribution.AttributionSettings;
import dev.sahara.attribution.GreedyGroupSearch;
import dev.sahara.attribution.Shard;
import dev.sahara.cli.options.NoDirectionOptions;
import dev.sahara.cli.options.AngleOptions;
import dev.sahara.cli.options.AsrOptions;
import dev.sahara.cli.options.CandidateOptions;
import dev.sahara.cli.options.OutputOptions;
import dev.sahara.cli.options.PlotOptions;
import dev.sahara.cli.options.ShardOption;
import dev.sahara.cli.options.Workload;
import dev.sahara.cli.options.WorkloadOptions;
import dev.sahara.llama.Sampler;
import dev.sahara.model.Json;
import dev.sahara.report.AttributionReport;
import dev.sahara.report.CandidateLog;
import dev.sahara.report.ResultFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

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

    @Option(names = "--asr-epsilon", paramLabel = "E", defaultValue = Epsilon.EVALUATION_TEXT,
            description = "ε of the ablated model when measuring ASR. Default: ${DEFAULT-VALUE}.")
    float asrEpsilon;

    @Option(names = "--no-asr", description = "Skip the ASR measurement.")
    boolean noAsr;

    @Mixin
    OutputOptions output = new OutputOptions(null, "Print attribution.json to stdout instead of the summary.");
    @Mixin
    PlotOptions plot;

    @Option(names = "--resume", paramLabel = "DIR", description = "Continue the interrupted run in DIR (its candidates.jsonl), with the same options; "
            + "the result is the same as an uninterrupted run's.")
    Path resume;

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
        angle.rank();   // a bad --rank is the first error reported
        if (!(asrEpsilon >= 0)) throw new SaharaException("--asr-epsilon must be >= 0, got " + asrEpsilon);
        asr.check();
        AttributionSettings attribution = candidate.settings(angle);
        AsrOptions.Settings asrSettings = asr.settings();
        Sampler sampler = asr.sampling.sampler();
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
        Path out = output.claim(resume);
        try (Workload w = workload.load()) {
            candidate.checkAllowed(w.model().config());
            if (!noAsr) asrSettings.checkFits(w, 0);
            ObjectNode logSettings = RunRecord.settings(w, attribution, Json.MAPPER.createObjectNode().put("group_size", groupSize));
            if (shard != null) {
                GreedyGroupSearch.checkGroupSize(w.model().config(), groupSize);
                List<HeadId> before = List.of();
                if (shardStep > 1) {
                    Path merged = groupFrom.resolve(CandidateLog.FILE);
                    before = GreedyGroupSearch.replay(w.model().config().numLayers(), w.model().config().numHeads(), shardStep - 1,
                            CandidateLog.readOnly(merged, "attribute", logSettings),
                            (s, id) -> merged + ": step " + s + " lacks " + id.label() + " (merge every shard of steps 1.." + (shardStep - 1) + " into "
                                    + groupFrom + " first)");
                }
                return ShardRun.run(spec, "attribute", w, new GreedyGroupSearch(w.model(), w.encoded(), attribution), logSettings, shard, shardStep, before, out,
                        resume != null);
            }
            long tLoad = System.nanoTime();
            GreedyGroupSearch.Result result;
            ObjectNode timingsFile;
            GreedyGroupSearch.checkGroupSize(w.model().config(), groupSize);
            GreedyGroupSearch sahara = new GreedyGroupSearch(w.model(), w.encoded(), attribution);
            try (CandidateLog log = RunRecord.open(out, "attribute", logSettings, resume != null)) {
                result = sahara.run(groupSize, log, StderrProgress.of(spec, "sahara"));
                timingsFile = RunRecord.timings("attribute", w, log, resume != null);
            }
            long tSahara = System.nanoTime();

            AttributionReport.Asr asrResult = null;
            if (!noAsr) {
                Ablation groupAblation = Ablation.of(result.group(), new Ablation.Spec(AblationMode.UNDIFF_Q, asrEpsilon));
                asrResult = new AttributionReport.Asr(asrSettings.describe(sampler), groupAblation,
                        asrSettings.run(w, Ablation.none(), sampler, StderrProgress.of(spec, "asr before")),
                        asrSettings.run(w, groupAblation, sampler, StderrProgress.of(spec, "asr after")));
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

            AttributionReport.Run run = new AttributionReport.Run(w.header(), attribution, groupSize, asrEpsilon, result, asrResult);
            output.print(AttributionReport.write(out, run), AttributionReport.summary(run));
        }
        return 0;
    }
}
