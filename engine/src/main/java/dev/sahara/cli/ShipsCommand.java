package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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

    @Override
    public Integer call() {
        Path out = OutputFolder.claim(spec, "ships", this.out, null, force.force);
        try (Workload w = text != null ? workload.single(text) : workload.load()) {
            candidate.checkAllowed(w.model().config());
            long t0 = System.nanoTime();
            double[][][] scores = AnalysisSupport.queryShips(w, candidate.mode(), candidate.epsilon(), officialKl, new StderrProgress(spec.commandLine().getErr(), "ships"));
            int layers = w.model().config().numLayers(), heads = w.model().config().numHeads();
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
