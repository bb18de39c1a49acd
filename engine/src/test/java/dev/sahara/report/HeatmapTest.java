package dev.sahara.report;

import dev.sahara.SaharaException;
import dev.sahara.ablate.HeadId;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.Dimension;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HeatmapTest {
    @TempDir Path dir;

    /** A Llama-2-7b-sized matrix: a smooth field, one hot head, one NaN. */
    static double[][] llamaLike() {
        double[][] s = new double[32][32];
        for (int l = 0; l < 32; l++)
            for (int h = 0; h < 32; h++) s[l][h] = 0.01 * Math.exp(-l / 8.0) * (1 + Math.sin(h * 0.7 + l));
        s[2][26] = 1.5;
        s[3][8] = 0.9;
        s[31][0] = Double.NaN;
        return s;
    }

    private static int rgb(BufferedImage img, int x, int y) { return img.getRGB(x, y) & 0xFFFFFF; }

    private static int cellCentreX(int head, int cell) { return Heatmap.LEFT + head * cell + cell / 2; }

    private static int cellCentreY(int layer, int cell) { return Heatmap.TOP + layer * cell + cell / 2; }

    /** A point of the cell clear of the number the best heads get in their centre (and of a frame). */
    private static int[] cellColourPoint(int layer, int head, int cell) { return new int[] {Heatmap.LEFT + head * cell + cell - 5, Heatmap.TOP + layer * cell + cell - 4}; }

    private static int rgbOfCell(BufferedImage img, int layer, int head, int cell) {
        int[] p = cellColourPoint(layer, head, cell);
        return rgb(img, p[0], p[1]);
    }

    @Test
    void writes32x32PngThatDecodesWithExpectedSizeAndColours() throws IOException {
        Path png = dir.resolve("ships.png");
        Heatmap.write(png, "Ships, Llama-2-7b-chat, undiff-q, MaliciousInstruct", llamaLike(), Set.of(new HeadId(2, 26), new HeadId(3, 8)));
        BufferedImage img = ImageIO.read(png.toFile());
        assertNotNull(img, "ImageIO could not decode the PNG");
        int cell = Heatmap.cellSize(32, 32);
        assertEquals(20, cell);
        // width = 72 + 32*20 + 20 + 18 + 104 = 854, height = 64 + 640 + 48 = 752
        assertEquals(new Dimension(854, 752), Heatmap.imageSize(32, 32));
        assertEquals(854, img.getWidth());
        assertEquals(752, img.getHeight());
        assertEquals(2, Heatmap.tickStep(cell));

        // the hottest cell has the top colour of the bar; the NaN cell is grey
        assertEquals(Heatmap.viridis(1.0).getRGB() & 0xFFFFFF, rgbOfCell(img, 2, 26, cell));
        assertEquals(Heatmap.NAN_GREY.getRGB() & 0xFFFFFF, rgb(img, cellCentreX(0, cell), cellCentreY(31, cell)));
        // marked cells have a red frame (left edge of the cell), an unmarked one does not
        assertEquals(Heatmap.MARK.getRGB() & 0xFFFFFF, rgb(img, Heatmap.LEFT + 26 * cell + 1, cellCentreY(2, cell)));
        assertEquals(Heatmap.MARK.getRGB() & 0xFFFFFF, rgb(img, Heatmap.LEFT + 8 * cell + 1, cellCentreY(3, cell)));
        assertTrue(rgb(img, Heatmap.LEFT + 5 * cell + 1, cellCentreY(5, cell)) != (Heatmap.MARK.getRGB() & 0xFFFFFF));
    }

    @Test
    void smallMatrixKeepsMinimumSize() throws IOException {
        Path png = dir.resolve("small.png");
        Heatmap.write(png, "2 x 3", new double[][] {{0, 1, 2}, {3, 4, 5}}, Set.of());
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(Heatmap.imageSize(2, 3), new Dimension(img.getWidth(), img.getHeight()));
        assertEquals(new Dimension(480, 64 + 160 + 48), Heatmap.imageSize(2, 3));
        assertEquals(1, Heatmap.tickStep(Heatmap.cellSize(2, 3)));
        // min is the bottom colour, max the top one
        int cell = Heatmap.cellSize(2, 3);
        assertEquals(Heatmap.viridis(0).getRGB() & 0xFFFFFF, rgbOfCell(img, 0, 0, cell));
        assertEquals(Heatmap.viridis(1).getRGB() & 0xFFFFFF, rgbOfCell(img, 1, 2, cell));
    }

    @Test
    void constantAndAllNaNMatricesRender() throws IOException {
        Path a = dir.resolve("const.png"), b = dir.resolve("nan.png");
        Heatmap.write(a, "constant", new double[][] {{7, 7}, {7, 7}}, Set.of(new HeadId(1, 1)));
        Heatmap.write(b, "all NaN", new double[][] {{Double.NaN, Double.POSITIVE_INFINITY}}, Set.of());
        assertNotNull(ImageIO.read(a.toFile()));
        BufferedImage img = ImageIO.read(b.toFile());
        int cell = Heatmap.cellSize(1, 2);
        assertEquals(Heatmap.NAN_GREY.getRGB() & 0xFFFFFF, rgb(img, cellCentreX(1, cell), cellCentreY(0, cell)));
    }

    @Test
    void badInputs() {
        Path png = dir.resolve("x.png");
        assertThrows(IllegalArgumentException.class, () -> Heatmap.write(png, "t", new double[0][0], Set.of()));
        assertThrows(IllegalArgumentException.class, () -> Heatmap.write(png, "t", new double[][] {{1, 2}, {3}}, Set.of()));
        assertThrows(IllegalArgumentException.class, () -> Heatmap.write(png, "t", new double[][] {{1, 2}}, Set.of(new HeadId(0, 2))));
        Path nowhere = dir.resolve("no/such/dir/x.png");
        SaharaException e = assertThrows(SaharaException.class, () -> Heatmap.write(nowhere, "t", new double[][] {{1}}, Set.of()));
        assertTrue(e.getMessage().startsWith(nowhere + ": cannot write: no such file"), e.getMessage());
    }

    /** Writes a sample to look at by eye: {@code -Dsahara.heatmap.sample=/tmp/sample.png}. */
    @Test
    void sampleForEyes() {
        String out = System.getProperty("sahara.heatmap.sample");
        if (out != null) Heatmap.write(Path.of(out), "Ships KL, Llama-2-7b-chat (synthetic scores), undiff-q", llamaLike(), Set.of(new HeadId(2, 26), new HeadId(3, 8)));
    }
}
