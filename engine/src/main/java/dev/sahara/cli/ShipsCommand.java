package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.ablate.HeadId;
import dev.sahara.attribution.AttributionSettings;
import dev.sahara.attribution.QueryShips;
import dev.sahara.attribution.Shard;
import dev.sahara.cli.options.NoDirectionOptions;
import dev.sahara.cli.options.CandidateOptions;
import dev.sahara.cli.options.OutputOptions;
import dev.sahara.cli.options.PlotOptions;
import dev.sahara.cli.options.ShardOption;
import dev.sahara.cli.options.Workload;
import dev.sahara.cli.options.WorkloadOptions;
import dev.sahara.report.ResultFiles;
import dev.sahara.report.ShipsReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code ships}: query-level Ships — for each prompt, KL(base ‖ head ablated) at the last prompt position for every head. */
@Command(name = "ships", description = "Query-level Ships: the layer × head matrix of KL(p ‖ p_h) at the last prompt position, per prompt.")
public final class ShipsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    WorkloadOptions workload;
    @Mixin
    NoDirectionOptions noDirection;
    @Mixin
    CandidateOptions candidate;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "One query (instead of --dataset).")
    String text;

    @Option(names = "--official-kl", description = "KL as the official code computes it (+1e-12 to both distributions, no renormalisation).")
    boolean officialKl;

    @Mixin
    OutputOptions output = new OutputOptions("ships.json, heads.csv, heatmap.png", "Print ships.json to stdout.");
    @Mixin
    PlotOptions plot;

    @Mixin
    ShardOption sharding;

    /** merge's finishing run: the scores of every head, merged from the shards, instead of computing them. */
    @Option(names = "--scores-from", paramLabel = "FILE", hidden = true)
    Path scoresFrom;

    @Override
    public Integer call() {
        // the options are checked before the folder is claimed and the model loaded (a bad ε: one error line alone)
        AttributionSettings settings = AttributionSettings.queryLevel(candidate.mode(), candidate.epsilon(), officialKl);
        Path out = output.claim();
        try (Workload w = text != null ? workload.single(text) : workload.load()) {
            candidate.checkAllowed(w.model().config());
            long t0 = System.nanoTime();
            int layers = w.model().config().numLayers(), heads = w.model().config().numHeads();
            Shard shard = sharding.shard();
            if (shard != null) {
                if (scoresFrom != null) throw new SaharaException("--shard and --scores-from do not go together");
                int[][] owner = Shard.partition(layers, heads, List.of(), true, shard.count());
                double[][][] mine = QueryShips.compute(w.model(), w.encoded(), settings, id -> owner[id.layer()][id.head()] == shard.index(),
                        StderrProgress.of(spec, "ships shard " + shard.label()));
                Map<HeadId, double[]> byHead = new HashMap<>();
                for (int l = 0; l < layers; l++) {
                    for (int h = 0; h < heads; h++) {
                        if (owner[l][h] != shard.index()) continue;
                        double[] v = new double[mine.length];
                        for (int p = 0; p < mine.length; p++) v[p] = mine[p][l][h];
                        byHead.put(new HeadId(l, h), v);
                    }
                }
                ResultFiles.writeJson(out.resolve(ShipsShards.FILE), ShipsShards.file(ShipsShards.runSettings(w, settings), shard, w.model().config(),
                        mine.length, byHead, ShardRun.runArguments(spec)));
                ObjectNode t = RunRecord.simpleTimings("ships", w, (System.nanoTime() - t0) / 1e9);
                t.put("shard", shard.label());
                t.put("candidates", byHead.size());
                ResultFiles.writeJson(out.resolve("timings.json"), t);
                OutputOptions.printSummary(spec.commandLine().getOut(),
                        "ships shard " + shard.label() + ": " + byHead.size() + " heads scored; merge every shard with: merge SHARD_DIR... --out RUN\n", out);
                return 0;
            }
            double[][][] scores = scoresFrom != null
                    ? ShipsShards.readMerged(scoresFrom, ShipsShards.runSettings(w, settings), w.model().config(), w.encoded().size())
                    : QueryShips.compute(w.model(), w.encoded(), settings, StderrProgress.of(spec, "ships"));
            ResultFiles.writeJson(out.resolve("timings.json"), RunRecord.simpleTimings("ships", w, (System.nanoTime() - t0) / 1e9));
            ShipsReport.Run run = new ShipsReport.Run(w.header(), settings, w.dataset().prompts(), w.encoded(), scores);
            output.print(ShipsReport.write(out, run), ShipsReport.summary(run));
        }
        return 0;
    }
}
