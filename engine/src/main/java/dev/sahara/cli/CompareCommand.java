package dev.sahara.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.ablate.HeadId;
import dev.sahara.cli.options.NumberLists;
import dev.sahara.cli.options.OutputOptions;
import dev.sahara.cli.options.PlotOptions;
import dev.sahara.model.Json;
import dev.sahara.report.HeadComparison;
import dev.sahara.report.Heatmap;
import dev.sahara.report.ResultFiles;
import dev.sahara.report.ResultHeader;
import dev.sahara.report.ScatterPlot;
import dev.sahara.report.ScoreTables;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;

/** {@code compare RUN_A RUN_B}: how alike two runs' head scores are (paper Fig. 5). */
@Command(name = "compare", description = "Compare the head scores of two runs (attribute, ships or sweep): top-k overlap, Jaccard, Spearman; scatter plot and heat maps.")
public final class CompareCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "RUN_A", description = "A run folder (with attribution.json, ships.json or sweep.json) or one of those files.")
    Path runA;

    @Parameters(index = "1", paramLabel = "RUN_B", description = "The other run.")
    Path runB;

    @Option(names = "--top", paramLabel = "LIST", defaultValue = "1,3,5,10", description = "The k of the top-k overlaps. Default: ${DEFAULT-VALUE}.")
    String tops;

    @Option(names = "--step", paramLabel = "N", defaultValue = "1", description = "For attribution.json: which Sahara step's scores (1-based). Default: ${DEFAULT-VALUE}.")
    int step;

    @Option(names = "--scatter", paramLabel = "AXES", defaultValue = "rank",
            description = "Scatter axes: rank (each head's rank in its run, 1 = lowest; what Spearman correlates), linear, or log (log10 of the score; scores <= 0 left out). Default: ${DEFAULT-VALUE}.")
    String scatter;

    @Mixin
    OutputOptions output = new OutputOptions("compare.json, scatter.png, heatmap_a.png, heatmap_b.png", "Print compare.json to stdout instead of the summary.");
    @Mixin
    PlotOptions plot;

    /** One run's score table and where it came from. */
    record Scores(Path file, String command, String kind, JsonNode header, double[][] table) {}

    @Override
    public Integer call() {
        if (!List.of("rank", "linear", "log").contains(scatter)) throw new SaharaException("--scatter must be rank, linear or log, got '" + scatter + "'");
        List<Integer> ks = NumberLists.parse("--top", tops);
        if (ks.getFirst() < 1) throw new SaharaException("--top: k must be >= 1");
        if (step < 1) throw new SaharaException("--step must be >= 1, got " + step);
        Scores a = read(runA, step), b = read(runB, step);
        if (a.table().length != b.table().length || a.table()[0].length != b.table()[0].length) {
            throw new SaharaException("the runs have different shapes: " + a.table().length + "×" + a.table()[0].length + " (" + a.file() + ") vs "
                    + b.table().length + "×" + b.table()[0].length + " (" + b.file() + ")");
        }
        Path out = output.claim();
        ObjectNode o = ResultHeader.start("compare");
        o.set("a", describe(a));
        o.set("b", describe(b));
        o.put("step", step);
        int paired = HeadComparison.pairedCount(a.table(), b.table());
        o.put("heads_compared", paired);
        o.put("spearman", HeadComparison.spearman(a.table(), b.table()));
        o.put("pearson", HeadComparison.pearson(a.table(), b.table()));
        o.put("correlation_note", "over the heads both runs score (null/NaN skipped); Spearman = Pearson of average ranks; NaN when a table is constant");
        ArrayNode top = o.putArray("top_k");
        Set<HeadId> marked = new LinkedHashSet<>();
        StringBuilder summary = new StringBuilder();
        int maxK = ks.getLast();
        for (int k : ks) {
            HeadComparison.Overlap ov = HeadComparison.overlap(a.table(), b.table(), k);
            ObjectNode t = top.addObject();
            t.put("k", k);
            t.put("overlap", ov.common().size());
            t.put("jaccard", ov.jaccard());
            t.set("top_a", strings(ov.topA()));
            t.set("top_b", strings(ov.topB()));
            t.set("common", strings(ov.common()));
            summary.append(String.format(Locale.ROOT, "top-%d: overlap %d, Jaccard %.3f%n", k, ov.common().size(), ov.jaccard()));
            if (k == maxK) {
                marked.addAll(ScoreTables.topHeads(a.table(), k));
                marked.addAll(ScoreTables.topHeads(b.table(), k));
            }
        }
        o.set("scores_a", ScoreTables.toJson(a.table()));
        o.set("scores_b", ScoreTables.toJson(b.table()));
        o.put("figure", "scatter.png");
        o.put("scatter_axes", scatter);
        String axis = switch (scatter) { case "rank" -> "rank of "; case "log" -> "log10 "; default -> ""; };
        ScatterPlot.write(out.resolve("scatter.png"), "Head scores: A vs B (Spearman " + String.format(Locale.ROOT, "%.3f", o.get("spearman").asDouble()) + ")",
                CompareAxes.title("A", axis, a.kind()), CompareAxes.title("B", axis, b.kind()), axes(a.table()), axes(b.table()), marked);
        Heatmap.write(out.resolve("heatmap_a.png"), "A: " + a.kind() + " (top-" + maxK + " of A framed)", a.table(),
                new LinkedHashSet<>(ScoreTables.topHeads(a.table(), maxK)));
        Heatmap.write(out.resolve("heatmap_b.png"), "B: " + b.kind() + " (top-" + maxK + " of B framed)", b.table(),
                new LinkedHashSet<>(ScoreTables.topHeads(b.table(), maxK)));
        ResultFiles.writeJson(out.resolve("compare.json"), o);
        output.print(o, String.format(Locale.ROOT, "Spearman %.3f over %d heads%n", o.get("spearman").asDouble(), paired) + summary);
        return 0;
    }

    /** The table as the scatter plot's axis shows it (NaN = not drawn). */
    private double[][] axes(double[][] t) {
        double[][] r = new double[t.length][];
        for (int l = 0; l < t.length; l++) {
            r[l] = t[l].clone();
            if (scatter.equals("log")) for (int h = 0; h < r[l].length; h++) r[l][h] = r[l][h] > 0 ? Math.log10(r[l][h]) : Double.NaN;
        }
        return scatter.equals("rank") ? HeadComparison.rankTable(r) : r;
    }

    private static ObjectNode describe(Scores s) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("file", s.file().toAbsolutePath().toString());
        n.put("command", s.command());
        n.put("scores", s.kind());
        for (String f : List.of("model", "dataset", "prompt_format", "attribution", "ships", "sweep", "direction")) if (s.header().has(f)) n.set(f, s.header().get(f));
        return n;
    }

    private static ArrayNode strings(List<String> l) {
        ArrayNode a = Json.MAPPER.createArrayNode();
        l.forEach(a::add);
        return a;
    }

    /** Finds the score table in a run folder or result file. */
    static Scores read(Path run, int step) {
        Path file = run;
        if (Files.isDirectory(run)) {
            file = null;
            for (String name : List.of("attribution.json", "ships.json", "sweep.json", "head_projection.json")) {
                if (Files.isRegularFile(run.resolve(name))) {
                    file = run.resolve(name);
                    break;
                }
            }
            if (file == null) throw SaharaException.inFile(run, "has no attribution.json, ships.json, sweep.json or head_projection.json");
        }
        if (!Files.isRegularFile(file)) throw SaharaException.inFile(file, "no such file");
        JsonNode root = Json.readObject(file);
        String command = root.path("command").asText("");
        JsonNode table;
        String kind;
        switch (command) {
            case "attribute" -> {
                JsonNode steps = root.path("steps");
                if (step > steps.size()) throw SaharaException.inFile(file, "has " + steps.size() + " Sahara steps, --step " + step + " asked");
                table = steps.get(step - 1).path("scores");
                kind = "Sahara step " + step + " angle (degrees)";
            }
            case "ships" -> {
                table = root.path("mean_scores");
                kind = "query-level Ships, mean KL";
            }
            case "sweep" -> {
                table = root.path("scores");
                kind = "dataset-level Ships angle (degrees)";
            }
            case "head-projection" -> {
                table = root.path("scores");
                kind = "head output projected on the refusal direction";
            }
            default -> throw SaharaException.inFile(file, "is not an attribute, ships, sweep or head-projection result (command '" + command + "')");
        }
        return new Scores(file, command, kind, root, matrix(file, table));
    }

    private static double[][] matrix(Path file, JsonNode t) {
        if (!t.isArray() || t.isEmpty() || !t.get(0).isArray() || t.get(0).isEmpty()) throw SaharaException.inFile(file, "has no layer × head score table");
        int heads = t.get(0).size();
        double[][] m = new double[t.size()][heads];
        for (int l = 0; l < t.size(); l++) {
            if (t.get(l).size() != heads) throw SaharaException.inFile(file, "score table is ragged at layer " + l);
            for (int h = 0; h < heads; h++) {
                JsonNode v = t.get(l).get(h);
                m[l][h] = v.isNumber() ? v.asDouble() : Double.NaN;
            }
        }
        return m;
    }
}
