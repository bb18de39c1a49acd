package dev.sahara.cli.options;

import dev.sahara.report.Heatmap;
import picocli.CommandLine.Option;

/**
 * --color-scale: how the heat maps of a command colour the scores. Linear keeps the numbers' proportions; on a real
 * model's 32 × 32 map a few heads dwarf the rest, and log or rank tells the others apart. It applies to every heat map
 * the command draws (SaharaCommand resets it after the command).
 */
public final class PlotOptions {
    @Option(names = "--color-scale", paramLabel = "SCALE", description = "Heat-map colours: linear, log (log10 of the score) or rank "
            + "(evenly spread over the heads, whatever the distribution). Default: linear.")
    void colorScale(String scale) { Heatmap.useScale(Heatmap.Scale.parse(scale)); }
}
