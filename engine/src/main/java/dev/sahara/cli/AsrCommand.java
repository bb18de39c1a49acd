package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.ablate.Ablation;
import dev.sahara.eval.AsrEvaluation;
import dev.sahara.llama.Sampler;
import dev.sahara.report.ResultFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
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

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "runs/asr", description = "Output folder (asr.json, responses.jsonl). Default: ${DEFAULT-VALUE}.")
    Path out;

    @Mixin
    ForceOption force;

    @Option(names = "--json", description = "Print asr.json to stdout instead of the summary.")
    boolean json;

    @Override
    public Integer call() {
        AsrSettings asrSettings = asr.settings();
        Sampler sampler = asr.sampling.sampler();
        PrintWriter err = spec.commandLine().getErr();
        Path out = OutputFolder.claim(spec, "asr", this.out, null, force.force);
        try (Workload w = workload.load()) {
            Ablation a = ablation.ablation(w.model().config(), AblationOptions.EVAL_EPSILON);
            asrSettings.checkFits(w, 0);
            long t0 = System.nanoTime();
            if (AsrTable.applies(a)) {
                StringBuilder table = new StringBuilder();
                ObjectNode o = AsrTable.run(w, a, asrSettings, sampler, out, err, table);
                ResultFiles.writeJson(out.resolve("timings.json"), RunRecord.simpleTimings("asr", w, (System.nanoTime() - t0) / 1e9));
                PrintWriter pw = spec.commandLine().getOut();
                pw.print(json ? o + "\n" : table + "results: " + out.toAbsolutePath() + "\n");
                pw.flush();
                return 0;
            }
            AsrEvaluation.Result r = asrSettings.run(w, a, sampler, new StderrProgress(err, "asr"));
            ObjectNode o = w.metadata("asr");
            o.setAll(asrSettings.describe(sampler));
            o.setAll(AsrReport.summary(r, a, "responses.jsonl"));
            ResultFiles.writeJson(out.resolve("timings.json"), RunRecord.simpleTimings("asr", w, (System.nanoTime() - t0) / 1e9));
            AsrReport.writeJsonl(out.resolve("responses.jsonl"), r);
            ResultFiles.writeJson(out.resolve("asr.json"), o);
            PrintWriter pw = spec.commandLine().getOut();
            if (json) pw.println(o);
            else pw.printf(Locale.ROOT, "ASR: %.3f (%d/%d harmful) with ablation %s%nresults: %s%n", r.asr(), r.harmful(), r.responses().size(), a,
                    out.toAbsolutePath());
            pw.flush();
        }
        return 0;
    }
}
