package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.attribution.AttributionSettings;
import dev.sahara.attribution.GreedyGroupSearch;
import dev.sahara.attribution.Shard;
import dev.sahara.cli.options.NoDirectionOptions;
import dev.sahara.cli.options.AngleOptions;
import dev.sahara.cli.options.CandidateOptions;
import dev.sahara.cli.options.OutputOptions;
import dev.sahara.cli.options.PlotOptions;
import dev.sahara.cli.options.ShardOption;
import dev.sahara.cli.options.Workload;
import dev.sahara.cli.options.WorkloadOptions;
import dev.sahara.model.Json;
import dev.sahara.report.CandidateLog;
import dev.sahara.report.Heatmap;
import dev.sahara.report.ResultFiles;
import dev.sahara.report.ResultHeader;
import dev.sahara.report.ScoreTables;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

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

    @Mixin
    OutputOptions output = new OutputOptions("sweep.json, heads.csv, heatmap.png", "Print sweep.json to stdout.");
    @Mixin
    PlotOptions plot;

    @Option(names = "--resume", paramLabel = "DIR", description = "Continue the interrupted sweep in DIR (its candidates.jsonl), with the same options; "
            + "the result is the same as an uninterrupted run's.")
    Path resume;

    @Override
    public Integer call() {
        AttributionSettings attribution = candidate.settings(angle);   // checks mode, ε and r_main before the model loads
        Shard shard = sharding.shard();
        Path out = output.claim(resume);
        try (Workload w = workload.load()) {
            candidate.checkAllowed(w.model().config());
            ObjectNode settings = RunRecord.settings(w, attribution, Json.MAPPER.createObjectNode());   // no settings of its own
            if (shard != null) {
                return ShardRun.run(spec, "sweep", w, new GreedyGroupSearch(w.model(), w.encoded(), attribution), settings, shard, 1, List.of(), out, resume != null);
            }
            long t0 = System.nanoTime();
            double[][] scores;
            ObjectNode timings;
            GreedyGroupSearch sahara = new GreedyGroupSearch(w.model(), w.encoded(), attribution);
            try (CandidateLog log = RunRecord.open(out, "sweep", settings, resume != null)) {
                scores = sahara.scoreAll(List.of(), 1, log, StderrProgress.of(spec, "sweep"));
                timings = RunRecord.timings("sweep", w, log, resume != null);
            }
            ObjectNode o = w.header().json("sweep");
            ObjectNode s = o.putObject("sweep");
            ResultHeader.putAblation(s, attribution.mode(), attribution.epsilon());
            s.put("r_main", attribution.rMain());
            s.put("prefix_reuse", attribution.prefixReuse());
            o.set("scores", ScoreTables.toJson(scores));
            timings.putObject("timings_seconds").put("sweep", (System.nanoTime() - t0) / 1e9);
            RunRecord.putWall(timings);
            ResultFiles.writeJson(out.resolve("timings.json"), timings);
            ResultFiles.writeJson(out.resolve("sweep.json"), o);
            ResultFiles.writeString(out.resolve("heads.csv"), ScoreTables.toCsv(List.of("angle_deg"), List.<double[][]>of(scores)));
            Heatmap.write(out.resolve("heatmap.png"), "Dataset-level Ships (angle, degrees)", scores, Set.of());
            output.print(o, "top heads: " + String.join(", ", ScoreTables.top(scores, 10)) + "\n");
        }
        return 0;
    }
}
