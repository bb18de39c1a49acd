package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.ablate.Ablation;
import dev.sahara.cli.options.AblationOptions;
import dev.sahara.cli.options.AsrOptions;
import dev.sahara.cli.options.OutputOptions;
import dev.sahara.cli.options.Workload;
import dev.sahara.cli.options.WorkloadOptions;
import dev.sahara.eval.AsrEvaluation;
import dev.sahara.llama.Sampler;
import dev.sahara.report.AsrReport;
import dev.sahara.report.ResultFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code asr}: generate a response to every query (optionally with heads ablated), judge it, report the attack success rate. */
@Command(name = "asr", description = "Attack success rate: generate for every query under an optional ablation and judge with refusal keywords.")
public final class AsrCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    WorkloadOptions workload;
    @Mixin
    AblationOptions ablation;
    @Mixin
    AsrOptions asr;

    @Mixin
    OutputOptions output = new OutputOptions("asr.json, responses.jsonl", "Print asr.json to stdout instead of the summary.");

    @Override
    public Integer call() {
        AsrOptions.Settings asrSettings = asr.settings();
        Sampler sampler = asr.sampling.sampler();
        Path out = output.claim();
        try (Workload w = workload.load()) {
            Ablation a = ablation.ablation(w.model().config());
            asrSettings.checkFits(w, 0);
            long t0 = System.nanoTime();
            if (AsrTable.applies(a)) {
                StringBuilder table = new StringBuilder();
                ObjectNode o = AsrTable.run(w, a, asrSettings, sampler, out, spec, table);
                ResultFiles.writeJson(out.resolve("timings.json"), RunRecord.simpleTimings("asr", w, (System.nanoTime() - t0) / 1e9));
                output.print(o, table.toString());
                return 0;
            }
            AsrEvaluation.Result r = asrSettings.run(w, a, sampler, StderrProgress.of(spec, "asr"));
            ObjectNode o = w.header().json("asr");
            o.setAll(asrSettings.describe(sampler));
            o.setAll(AsrReport.summary(r, a, "responses.jsonl"));
            ResultFiles.writeJson(out.resolve("timings.json"), RunRecord.simpleTimings("asr", w, (System.nanoTime() - t0) / 1e9));
            AsrReport.writeJsonl(out.resolve("responses.jsonl"), r);
            ResultFiles.writeJson(out.resolve("asr.json"), o);
            output.print(o, String.format(Locale.ROOT, "ASR: %.3f (%d/%d harmful) with ablation %s%n", r.asr(), r.harmful(), r.responses().size(), a));
        }
        return 0;
    }
}
