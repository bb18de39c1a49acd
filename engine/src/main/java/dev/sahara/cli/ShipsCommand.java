package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.ablate.HeadId;
import dev.sahara.attribution.AttributionSettings;
import dev.sahara.attribution.QueryShips;
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
import java.util.List;
import java.util.Set;
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

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "runs/ships", description = "Output folder (ships.json, heads.csv, heatmap.png). Default: ${DEFAULT-VALUE}.")
    Path out;

    @Mixin
    ForceOption force;
    @Mixin
    PlotOptions plot;

    @Option(names = "--json", description = "Print ships.json to stdout.")
    boolean json;

    @Mixin
    ShardOption sharding;

    /** merge's finishing run: the scores of every head, merged from the shards, instead of computing them. */
    @Option(names = "--scores-from", paramLabel = "FILE", hidden = true)
    Path scoresFrom;

    @Override
    public Integer call() {
        Path out = OutputFolder.claim(spec, "ships", this.out, null, force.force);
        try (Workload w = text != null ? workload.single(text) : workload.load()) {
            candidate.checkAllowed(w.model().config());
            long t0 = System.nanoTime();
            int layers = w.model().config().numLayers(), heads = w.model().config().numHeads();
            dev.sahara.attribution.Shard shard = sharding.shard();
            AttributionSettings settings = new AttributionSettings(candidate.mode(), candidate.epsilon(), 1, officialKl, true);
            if (shard != null) {
                if (scoresFrom != null) throw new SaharaException("--shard and --scores-from do not go together");
                int[][] owner = dev.sahara.attribution.Shard.partition(layers, heads, List.of(), true, shard.count());
                double[][][] mine = QueryShips.compute(w.model(), w.encoded(), settings, id -> owner[id.layer()][id.head()] == shard.index(),
                        new StderrProgress(spec.commandLine().getErr(), "ships shard " + shard.label()));
                java.util.Map<HeadId, double[]> byHead = new java.util.HashMap<>();
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
                PrintWriter pw = spec.commandLine().getOut();
                pw.println("ships shard " + shard.label() + ": " + byHead.size() + " heads scored; merge every shard with: merge SHARD_DIR... --out RUN");
                pw.println("results: " + out.toAbsolutePath());
                pw.flush();
                return 0;
            }
            double[][][] scores = scoresFrom != null
                    ? ShipsShards.readMerged(scoresFrom, ShipsShards.runSettings(w, settings), w.model().config(), w.encoded().size())
                    : AnalysisSupport.queryShips(w, candidate.mode(), candidate.epsilon(), officialKl, new StderrProgress(spec.commandLine().getErr(), "ships"));
            double[][] mean = new double[layers][heads];
            for (double[][] p : scores) for (int l = 0; l < layers; l++) for (int h = 0; h < heads; h++) mean[l][h] += p[l][h] / scores.length;

            ObjectNode o = w.metadata("ships");
            ObjectNode s = o.putObject("ships");
            candidate.describe(s);
            AnalysisSupport.describeQueryShips(s, officialKl);
            o.set("mean_scores", ScoreTables.toJson(mean));
            ArrayNode prompts = o.putArray("prompts");
            for (int p = 0; p < scores.length; p++) {
                ObjectNode po = prompts.addObject();
                po.put("prompt", w.dataset().prompts().get(p));
                ArrayNode ids = po.putArray("token_ids");
                for (int id : w.encoded().get(p)) ids.add(id);
                po.set("top10", Json.array(ScoreTables.top(scores[p], 10)));
                po.set("scores", ScoreTables.toJson(scores[p]));
            }
            ResultFiles.writeJson(out.resolve("timings.json"), RunRecord.simpleTimings("ships", w, (System.nanoTime() - t0) / 1e9));
            ResultFiles.writeJson(out.resolve("ships.json"), o);
            List<String> cols = new ArrayList<>(List.of("mean"));
            List<double[][]> tables = new ArrayList<>(List.<double[][]>of(mean));
            for (int p = 0; p < scores.length; p++) {
                cols.add("prompt" + p);
                tables.add(scores[p]);
            }
            ResultFiles.writeString(out.resolve("heads.csv"), ScoreTables.toCsv(cols, tables));
            Heatmap.write(out.resolve("heatmap.png"), "Query-level Ships (KL, mean over " + scores.length + " prompts)", mean, Set.of());
            PrintWriter pw = spec.commandLine().getOut();
            if (json) pw.println(o);
            else {
                pw.println("top heads (mean KL over " + scores.length + " prompts): " + String.join(", ", ScoreTables.top(mean, 10)));
                pw.println("results: " + out.toAbsolutePath());
            }
            pw.flush();
        }
        return 0;
    }

    /** Small JSON helpers local to the command. */
    static final class Json {
        static ArrayNode array(List<String> items) {
            ArrayNode a = dev.sahara.model.Json.MAPPER.createArrayNode();
            items.forEach(a::add);
            return a;
        }
    }
}
