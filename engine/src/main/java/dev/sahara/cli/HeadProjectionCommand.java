package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.ResidualDirection;
import dev.sahara.cli.options.AblationOptions;
import dev.sahara.cli.options.ModelOptions;
import dev.sahara.cli.options.OutputOptions;
import dev.sahara.cli.options.PlotOptions;
import dev.sahara.cli.options.Workload;
import dev.sahara.cli.options.WorkloadOptions;
import dev.sahara.direction.HeadProjection;
import dev.sahara.model.BuiltinModels;
import dev.sahara.model.Checkpoint;
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
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * {@code head-projection}: every head ranked by how much of the refusal direction it writes — its output at the last
 * prompt position projected on the unit direction, averaged over the prompts; forward passes only. With {@code --ablate
 * HEADS}, also how much ablating them lowers the residual stream's projection on the direction.
 */
@Command(name = "head-projection", description = "Rank every head by the projection of its output (last prompt position) on a refusal direction "
        + "(direction.json); with --ablate HEADS, how much ablating them lowers the residual's projection.")
public final class HeadProjectionCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    WorkloadOptions workload;
    @Mixin
    AblationOptions ablation;

    @Option(names = "--direction", paramLabel = "FILE", required = true, description = "direction.json written by the direction command.")
    Path direction;

    @Mixin
    PlotOptions plot;

    @Mixin
    OutputOptions output = new OutputOptions("head_projection.json, heads.csv, heatmap.png", "Print head_projection.json to stdout instead of the summary.");

    @Override
    public Integer call() {
        ResidualDirection d = ResidualDirection.read(direction);
        Path out = output.claim();
        try (Workload w = workload.load()) {
            d.checkIn(w.model().config());
            Ablation a = ablation.ablation(w.model().config());
            long t0 = System.nanoTime();
            float[] unit = d.unit();
            double[][] scores;
            ModelOptions mo = w.modelOptions();
            try (Checkpoint attention = mo.attentionFrom == null ? null : Checkpoint.open(BuiltinModels.resolve(mo.attentionFrom))) {
                scores = HeadProjection.perHead(w.model(), attention != null ? attention : w.model().checkpoint(), w.encoded(), unit);
            }
            ObjectNode o = w.header().json("head-projection");
            ObjectNode dn = o.putObject("direction");
            dn.put("file", direction.toAbsolutePath().toString());
            dn.put("layer", d.layer());
            dn.put("position", d.position());
            dn.put("norm", d.norm());
            o.put("score", "each head's output (its o_proj slice applied to softmax·V, no bias) at the last prompt position, dotted with the unit direction, "
                    + "averaged over the prompts; unablated");
            o.set("scores", ScoreTables.toJson(scores));
            StringBuilder summary = new StringBuilder("top heads: " + String.join(", ", ScoreTables.top(scores, 10)) + "\n");
            if (!a.isEmpty()) {
                ObjectNode ab = o.putObject("ablated");
                ResultHeader.putAblation(ab, a);
                ab.put("projection", "the residual entering the layer, last prompt position, dotted with the unit direction, averaged over the prompts");
                int last = w.model().config().numLayers() - 1;
                List<Integer> layers = d.layer() == last ? List.of(last) : List.of(d.layer(), last);
                double[] unablated = HeadProjection.residualProjections(w.model(), w.encoded(), Ablation.none(), unit, layers);
                double[] ablated = HeadProjection.residualProjections(w.model(), w.encoded(), a, unit, layers);
                for (int k = 0; k < layers.size(); k++) {
                    int layer = layers.get(k);
                    double base = unablated[k], cut = ablated[k];
                    ObjectNode row = ab.withArray("layers").addObject();
                    row.put("layer", layer);
                    row.put("role", layer == d.layer() ? "the direction's layer" : "the last layer");
                    row.put("unablated", base);
                    row.put("ablated", cut);
                    row.put("drop", base - cut);
                    row.put("relative_drop", (base - cut) / base);
                    summary.append(String.format(Locale.ROOT, "projection on the direction at the input of layer %d: %.4g unablated, %.4g with %s (drop %.1f%%)%n",
                            layer, base, cut, a, 100 * (base - cut) / base));
                }
            }
            ResultFiles.writeJson(out.resolve("timings.json"), RunRecord.simpleTimings("head-projection", w, (System.nanoTime() - t0) / 1e9));
            ResultFiles.writeString(out.resolve("heads.csv"), ScoreTables.toCsv(List.of("projection"), List.<double[][]>of(scores)));
            Heatmap.write(out.resolve("heatmap.png"), "Head output projected on the refusal direction (last position, mean)", scores, Set.of());
            ResultFiles.writeJson(out.resolve("head_projection.json"), o);
            output.print(o, summary.toString());
        }
        return 0;
    }
}
