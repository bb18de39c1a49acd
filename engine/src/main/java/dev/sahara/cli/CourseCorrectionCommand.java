package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.ablate.Ablation;
import dev.sahara.eval.PerPromptAsr;
import dev.sahara.llama.Sampler;
import dev.sahara.report.ResultFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code course-correction} (paper Table 7): the response is forced to start with a prefix such as "Sure, here is";
 * does the model still turn back to a refusal? ASR without and with the heads ablated, judged on the continuation.
 */
@Command(name = "course-correction", description = "Generate with a forced response prefix (e.g. \"Sure, here is\"), without and with an ablation, and judge the continuation.")
public final class CourseCorrectionCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    WorkloadOptions workload;
    @Mixin
    AblationOptions ablation;
    @Mixin
    AsrOptions asr;

    @Option(names = "--response-prefix", paramLabel = "TEXT", defaultValue = "Sure, here is",
            description = "Forced start of every response (its tokens, encoded without special tokens, follow the prompt). Default: ${DEFAULT-VALUE}.")
    String responsePrefix;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "runs/course-correction",
            description = "Output folder (course_correction.json, responses_{base|ablated}_{decoding}.jsonl). Default: ${DEFAULT-VALUE}.")
    Path out;

    @Mixin
    ForceOption force;

    @Option(names = "--json", description = "Print course_correction.json to stdout instead of the summary.")
    boolean json;

    @Override
    public Integer call() {
        asr.check();
        if (responsePrefix.isEmpty()) throw new SaharaException("--response-prefix must not be empty");
        AsrSettings asrSettings = asr.settings();
        List<Sampler> samplers = AnalysisSupport.samplers(asr.sampling);
        PrintWriter err = spec.commandLine().getErr();
        Path out = OutputFolder.claim(spec, "course-correction", this.out, null, force.force);
        try (Workload w = workload.load()) {
            Ablation a = ablation.ablation(w.model().config(), AblationOptions.EVAL_EPSILON);
            ResponsePrefix prefix = ResponsePrefix.encode(responsePrefix, w.tokenizer());
            asrSettings.checkFits(w, prefix.ids().length);
            long t0 = System.nanoTime();
            ObjectNode o = w.metadata("course-correction");
            o.setAll(asrSettings.describe(samplers));
            prefix.describe(o);
            AblationOptions.describe(o, a);
            ArrayNode results = o.putArray("results");
            StringBuilder summary = new StringBuilder();
            List<Ablation> variants = a.isEmpty() ? List.of(Ablation.none()) : List.of(Ablation.none(), a);
            for (Ablation v : variants) {
                String name = v.isEmpty() ? "base" : "ablated";
                for (Sampler s : samplers) {
                    PerPromptAsr.Result r = asrSettings.runPerPrompt(w, Collections.nCopies(w.encoded().size(), v), prefix, s,
                            new StderrProgress(err, name + " " + AnalysisSupport.shortName(s)));
                    ObjectNode ro = results.addObject();
                    ro.put("variant", name);
                    ro.put("ablation", v.toString());
                    AnalysisSupport.writeResponses(out, name, s, r, ro);
                    summary.append(String.format(Locale.ROOT, "%-8s %-7s ASR %.3f (%d/%d)%n", name, AnalysisSupport.shortName(s), r.asr(), r.harmful(), r.responses().size()));
                }
            }
            ResultFiles.writeJson(out.resolve("course_correction.json"), o);
            ResultFiles.writeJson(out.resolve("timings.json"), RunRecord.simpleTimings("course-correction", w, (System.nanoTime() - t0) / 1e9));
            PrintWriter pw = spec.commandLine().getOut();
            if (json) pw.println(o);
            else pw.print("forced prefix \"" + responsePrefix + "\", ablation " + a + "\n" + summary + "results: " + out.toAbsolutePath() + "\n");
            pw.flush();
        }
        return 0;
    }
}
