package dev.sahara.report;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.attribution.AttributionSettings;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** ships' result files: ships.json (every prompt's layer × head KL and their mean), heads.csv and the heat map of the mean. */
public final class ShipsReport {
    private ShipsReport() {}

    /** The run: its header, the candidate ablation and KL, and each prompt's text, token ids and scores. */
    public record Run(ResultHeader header, AttributionSettings settings, List<String> prompts, List<int[]> encoded, double[][][] scores) {
        /** The mean over the prompts of each head's KL. */
        double[][] mean() {
            int layers = scores[0].length, heads = scores[0][0].length;
            double[][] mean = new double[layers][heads];
            for (double[][] p : scores) for (int l = 0; l < layers; l++) for (int h = 0; h < heads; h++) mean[l][h] += p[l][h] / scores.length;
            return mean;
        }
    }

    /** kl and position: what a query-level Ships score is, in the result files of ships and ships-asr. */
    public static void describeScore(ObjectNode o, boolean officialKl) {
        o.put("kl", officialKl ? "official: sum (p+1e-12) log((p+1e-12)/(q+1e-12)), no renormalisation" : "KL(p || p_h) from log-softmax, natural log");
        o.put("position", "last prompt token");
    }

    /** Writes ships.json, heads.csv and heatmap.png into {@code out}; returns ships.json's content. */
    public static ObjectNode write(Path out, Run run) {
        double[][][] scores = run.scores();
        double[][] mean = run.mean();
        ObjectNode o = run.header().json("ships");
        ObjectNode s = o.putObject("ships");
        ResultHeader.putAblation(s, run.settings().mode(), run.settings().epsilon());
        describeScore(s, run.settings().officialKl());
        o.set("mean_scores", ScoreTables.toJson(mean));
        ArrayNode prompts = o.putArray("prompts");
        for (int p = 0; p < scores.length; p++) {
            ObjectNode po = prompts.addObject();
            po.put("prompt", run.prompts().get(p));
            ArrayNode ids = po.putArray("token_ids");
            for (int id : run.encoded().get(p)) ids.add(id);
            ArrayNode top = po.putArray("top10");
            ScoreTables.top(scores[p], 10).forEach(top::add);
            po.set("scores", ScoreTables.toJson(scores[p]));
        }
        ResultFiles.writeJson(out.resolve("ships.json"), o);
        List<String> columns = new ArrayList<>(List.of("mean"));
        List<double[][]> tables = new ArrayList<>(List.<double[][]>of(mean));
        for (int p = 0; p < scores.length; p++) {
            columns.add("prompt" + p);
            tables.add(scores[p]);
        }
        ResultFiles.writeString(out.resolve("heads.csv"), ScoreTables.toCsv(columns, tables));
        Heatmap.write(out.resolve("heatmap.png"), "Query-level Ships (KL, mean over " + scores.length + " prompts)", mean, Set.of());
        return o;
    }

    /** What ships prints when done: the best heads by mean KL. */
    public static String summary(Run run) {
        return "top heads (mean KL over " + run.scores().length + " prompts): " + String.join(", ", ScoreTables.top(run.mean(), 10)) + "\n";
    }
}
