package dev.sahara.report;

import dev.sahara.ablate.HeadId;
import dev.sahara.cli.CliTestSupport;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Plots a user can read: whole titles, a colour scale that shows a real model's 32 × 32 map, the best heads named, rank axes in whole ranks. */
class PlotsTest {
    @TempDir
    Path tmp;

    /** Dark pixels in the rows [y0, y1) of the header. */
    static int ink(BufferedImage img, int y0, int y1) {
        int n = 0;
        for (int y = y0; y < y1; y++) for (int x = 0; x < img.getWidth(); x++) if ((img.getRGB(x, y) & 0xFF) < 100) n++;
        return n;
    }

    @Test
    void aLongTitleIsWrappedNotCutOff() {
        String title = "Sahara step 1: angle (deg) per head; framed: the group found by the search, over all prompts";
        BufferedImage img = Heatmap.render(title, new double[][] {{1, 2}, {3, 4}}, Set.of());
        assertTrue(ink(img, 27, 40) > 20, "a second title line");
        BufferedImage shortOne = Heatmap.render("Short", new double[][] {{1, 2}, {3, 4}}, Set.of());
        assertEquals(0, ink(shortOne, 27, 40), "one line when it fits");
    }

    @Test
    void rankAndLogScalesSpreadARealModelsScores() {
        double[][] s = HeatmapTest.llamaLike();   // 32 × 32, two heads far above the rest
        double[][] linear = Heatmap.colourPositions(s, Heatmap.Scale.LINEAR), rank = Heatmap.colourPositions(s, Heatmap.Scale.RANK),
                log = Heatmap.colourPositions(s, Heatmap.Scale.LOG);
        int below = 0, rankBelow = 0;
        for (int l = 0; l < 32; l++) for (int h = 0; h < 32; h++) {
            if (linear[l][h] < 0.05) below++;
            if (rank[l][h] < 0.05) rankBelow++;
        }
        assertTrue(below > 900, "linear: almost every head in the bottom 5 % of the colours (" + below + ")");
        assertTrue(rankBelow < 60, "rank: evenly spread (" + rankBelow + ")");
        assertEquals(1.0, rank[2][26], 1e-12);
        assertTrue(Double.isNaN(rank[31][0]), "no score, no colour");
        Set<Integer> colours = new HashSet<>();
        for (double[] row : log) for (double t : row) if (!Double.isNaN(t)) colours.add(Heatmap.viridis(t).getRGB());
        assertTrue(colours.size() > 100, "log: many distinct colours (" + colours.size() + ")");
    }

    @Test
    void theBestHeadsAreNumberedInTheirCells() {
        double[][] s = HeatmapTest.llamaLike();
        List<HeadId> best = Heatmap.best(s, 5);
        assertEquals(List.of("2,26", "3,8"), best.subList(0, 2).stream().map(b -> b.layer() + "," + b.head()).toList());
        BufferedImage img = Heatmap.render("t", s, Set.of());
        int cell = Heatmap.cellSize(32, 32);
        Set<Integer> inCell = new HashSet<>();
        for (int dy = 0; dy < cell; dy++) for (int dx = 0; dx < cell; dx++) inCell.add(img.getRGB(Heatmap.LEFT + 26 * cell + dx, Heatmap.TOP + 2 * cell + dy) & 0xFFFFFF);
        assertTrue(inCell.size() > 1, "a digit drawn in the best head's cell");
    }

    @Test
    void rankAxesHaveWholeTicksAndNoUnit() {
        for (double t : ScatterPlot.ticks(0.4, 12.6, true)) assertEquals(Math.rint(t), t, "whole ranks only: " + t);
        assertFalse(ScatterPlot.ticks(0.4, 12.6, true).isEmpty());
        assertTrue(ScatterPlot.ticks(0, 0.001, false).size() >= 3);
        String axis = dev.sahara.cli.CompareAxes.title("A", "rank of ", "Sahara step 1 angle (degrees)");
        assertEquals("A: rank of Sahara step 1 angle (1 = lowest)", axis);
        assertEquals("B: log10 dataset-level Ships angle (degrees)", dev.sahara.cli.CompareAxes.title("B", "log10 ", "dataset-level Ships angle (degrees)"));
    }

    @Test
    void colorScaleIsAnOptionOfTheCommandsThatDrawHeatMaps() {
        CliTestSupport ok = CliTestSupport.run("sweep", "--model", TestModels.tiny("llama-gqa-bf16").toString(), "--dataset", "builtin:harmless", "--limit", "3",
                "--rank", "1", "--color-scale", "rank", "--out", tmp.resolve("s").toString());
        assertEquals(0, ok.exitCode(), ok.err());
        CliTestSupport bad = CliTestSupport.run("ships", "--model", TestModels.tiny("llama-gqa-bf16").toString(), "--prompt", "x", "--color-scale", "sqrt",
                "--out", tmp.resolve("b").toString());
        assertEquals(2, bad.exitCode());
        assertNotEquals(-1, bad.errorLine().indexOf("--color-scale must be linear, log or rank, got 'sqrt'"), bad.errorLine());
    }
}
