package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.attribution.AttributionSettings;
import dev.sahara.attribution.Sahara;
import dev.sahara.attribution.Shard;
import dev.sahara.model.Json;
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
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/** {@code sweep}: dataset-level Ships of every head alone — the principal angle of the final-norm states with that head ablated. */
@Command(name = "sweep", description = "Dataset-level Ships for every head: principal angle (degrees) of last-token final-norm states, unablated vs that head ablated.")
public final class SweepCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    WorkloadOptions workload;
    @Mixin
    NoDirectionOptions noDirection;
    @Mixin
    CandidateOptions candidate;
    @Mixin
    AngleOptions angle;
    @Mixin
    ShardOption sharding;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "runs/sweep", description = "Output folder (sweep.json, heads.csv, heatmap.png). Default: ${DEFAULT-VALUE}.")
    Path out;

    @Mixin
    ForceOption force;
    @Mixin
    PlotOptions plot;

    @Option(names = "--resume", paramLabel = "DIR", description = "Continue the interrupted sweep in DIR (its candidates.jsonl), with the same options; "
            + "the result is the same as an uninterrupted run's.")
    Path resume;

    @Option(names = "--json", description = "Print sweep.json to stdout.")
    boolean json;

    @Override
    public Integer call() {
        AttributionSettings attribution = candidate.settings(angle);   // checks mode, ε and r_main before the model loads
        Shard shard = sharding.shard();
        Path out = OutputFolder.claim(spec, "sweep", this.out, resume, force.force);
        try (Workload w = workload.load()) {
            candidate.checkAllowed(w.model().config());
            ObjectNode settings = RunRecord.settings(w, attribution, Json.MAPPER.createObjectNode());   // no settings of its own
            if (shard != null) {
                return ShardRun.run(spec, "sweep", w, new Sahara(w.model(), w.encoded(), attribution), settings, shard, 1, List.of(), out, resume != null);
            }
            long t0 = System.nanoTime();
            double[][] scores;
            ObjectNode timings;
            Sahara sahara = new Sahara(w.model(), w.encoded(), attribution);
            try (RunRecord.Logged log = RunRecord.open(out, "sweep", settings, resume != null)) {
                scores = sahara.scoreAll(List.of(), 1, log, new StderrProgress(spec.commandLine().getErr(), "sweep"));
                timings = RunRecord.timings("sweep", w, log, resume != null);
            }
            ObjectNode o = w.metadata("sweep");
            ObjectNode s = o.putObject("sweep");
            candidate.describe(s);
            s.put("r_main", attribution.rMain());
            s.put("prefix_reuse", attribution.prefixReuse());
            o.set("scores", ScoreTables.toJson(scores));
            timings.putObject("timings_seconds").put("sweep", (System.nanoTime() - t0) / 1e9);
            RunRecord.putWall(timings);
            ResultFiles.writeJson(out.resolve("timings.json"), timings);
            ResultFiles.writeJson(out.resolve("sweep.json"), o);
            ResultFiles.writeString(out.resolve("heads.csv"), ScoreTables.toCsv(List.of("angle_deg"), List.<double[][]>of(scores)));
            Heatmap.write(out.resolve("heatmap.png"), "Dataset-level Ships (angle, degrees)", scores, Set.of());
            PrintWriter pw = spec.commandLine().getOut();
            if (json) pw.println(o);
            else {
                pw.println("top heads: " + String.join(", ", ScoreTables.top(scores, 10)));
                pw.println("results: " + out.toAbsolutePath());
            }
            pw.flush();
        }
        return 0;
    }
}
