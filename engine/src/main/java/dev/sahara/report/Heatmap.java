package dev.sahara.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Dimension;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A layer × head score matrix as a PNG heat map, drawn with java.desktop in headless mode.
 *
 * <pre>
 *            title
 *            marked: L2H26, L3H8
 *        ┌──────────────────────┐  ┌─┐ max
 *  layer │ row = layer 0 at top │  │ │
 *        │ column = head        │  │ │ min
 *        └──────────────────────┘  └─┘ ■ NaN
 *           0   2   4  … head
 * </pre>
 * Colours: viridis, from the smallest to the largest finite score. Non-finite cells (NaN, ±∞) are grey.
 * Highlighted heads get a red frame. Ticks label every {@link #tickStep} rows/columns; every cell
 * has a small tick mark.
 */
public final class Heatmap {
    static {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    static final int LEFT = 72, TOP = 64, BOTTOM = 48, BAR_GAP = 20, BAR_WIDTH = 18, BAR_LABELS = 104, MIN_PLOT_HEIGHT = 160, MIN_WIDTH = 480;
    static final Color NAN_GREY = new Color(0x9A, 0x9A, 0x9A);
    static final Color MARK = new Color(0xE4, 0x00, 0x2B);
    private static final Pattern LABEL = Pattern.compile("L(\\d+)H(\\d+)");

    /** viridis at 0, 0.1, …, 1 (matplotlib). */
    private static final int[] VIRIDIS = {0x440154, 0x482475, 0x414487, 0x355F8D, 0x2A788E, 0x21918C, 0x22A884,
            0x44BF70, 0x7AD151, 0xBDDF26, 0xFDE725};

    private Heatmap() {}

    /**
     * @param png         output file (overwritten)
     * @param title       drawn at the top (shortened with … if too wide)
     * @param scores      {@code [layer][head]}, rectangular, at least 1×1
     * @param highlighted head labels like {@code L2H26} to frame; may be empty
     */
    public static void write(Path png, String title, double[][] scores, Set<String> highlighted) {
        BufferedImage image = render(title, scores, highlighted);
        ResultFiles.writeBytes(png, Png.encode(image));
    }

    /** Side of one cell in pixels: about 640 px for the larger dimension, between 6 and 32 px. */
    static int cellSize(int layers, int heads) {
        return Math.clamp(640 / Math.max(layers, heads), 6, 32);
    }

    /** Label every step-th row/column, with labels at least 24 px apart. */
    static int tickStep(int cell) {
        for (int step : new int[] {1, 2, 4, 5, 8, 10, 16, 20, 25, 50, 100})
            if (step * cell >= 24) return step;
        return 100;
    }

    /** The size of the image {@link #write} produces for a layers × heads matrix. */
    static Dimension imageSize(int layers, int heads) {
        int cell = cellSize(layers, heads);
        int width = Math.max(MIN_WIDTH, LEFT + heads * cell + BAR_GAP + BAR_WIDTH + BAR_LABELS);
        int height = TOP + Math.max(MIN_PLOT_HEIGHT, layers * cell) + BOTTOM;
        return new Dimension(width, height);
    }

    static BufferedImage render(String title, double[][] scores, Set<String> highlighted) {
        int layers = scores.length;
        if (layers == 0 || scores[0].length == 0) throw new IllegalArgumentException("empty score matrix");
        int heads = scores[0].length;
        for (int l = 0; l < layers; l++)
            if (scores[l].length != heads) throw new IllegalArgumentException("ragged score matrix: layer " + l + " has " + scores[l].length + " heads, layer 0 has " + heads);
        boolean[][] marked = new boolean[layers][heads];
        TreeSet<int[]> markedSorted = new TreeSet<>((a, b) -> a[0] != b[0] ? Integer.compare(a[0], b[0]) : Integer.compare(a[1], b[1]));
        for (String label : highlighted) {
            Matcher m = LABEL.matcher(label);
            if (!m.matches()) throw new IllegalArgumentException("highlighted head '" + label + "' is not a label like L2H26");
            int l = Integer.parseInt(m.group(1)), h = Integer.parseInt(m.group(2));
            if (l >= layers || h >= heads) throw new IllegalArgumentException("highlighted head " + label + " is outside the " + layers + "×" + heads + " matrix");
            marked[l][h] = true;
            markedSorted.add(new int[] {l, h});
        }

        double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
        boolean anyNonFinite = false;
        for (double[] row : scores)
            for (double v : row) {
                if (!Double.isFinite(v)) { anyNonFinite = true; continue; }
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
        boolean anyFinite = min <= max;

        Dimension size = imageSize(layers, heads);
        int cell = cellSize(layers, heads);
        int plotW = heads * cell, plotH = layers * cell;
        BufferedImage image = new BufferedImage(size.width, size.height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_OFF);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, size.width, size.height);

            // title and the list of marked heads
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
            drawFitted(g, title, 12, 24, size.width - 24);
            if (!markedSorted.isEmpty()) {
                List<String> names = new ArrayList<>();
                for (int[] lh : markedSorted) names.add("L" + lh[0] + "H" + lh[1]);
                g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
                g.setColor(MARK);
                drawFitted(g, "marked: " + String.join(", ", names), 12, 44, size.width - 24);
            }

            // cells
            for (int l = 0; l < layers; l++)
                for (int h = 0; h < heads; h++) {
                    double v = scores[l][h];
                    g.setColor(!Double.isFinite(v) ? NAN_GREY : viridis(max > min ? (v - min) / (max - min) : 0.5));
                    g.fillRect(LEFT + h * cell, TOP + l * cell, cell, cell);
                }
            g.setColor(Color.DARK_GRAY);
            g.drawRect(LEFT - 1, TOP - 1, plotW + 1, plotH + 1);

            // frames on marked cells, drawn inside the cell
            int stroke = Math.max(2, cell / 8);
            g.setStroke(new BasicStroke(stroke));
            g.setColor(MARK);
            for (int l = 0; l < layers; l++)
                for (int h = 0; h < heads; h++)
                    if (marked[l][h]) {
                        int inset = stroke / 2;
                        g.drawRect(LEFT + h * cell + inset, TOP + l * cell + inset, cell - stroke, cell - stroke);
                    }
            g.setStroke(new BasicStroke(1));

            // axes: minor tick at every cell, labelled tick every step
            int step = tickStep(cell);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            FontMetrics fm = g.getFontMetrics();
            g.setColor(Color.BLACK);
            for (int h = 0; h < heads; h++) {
                int x = LEFT + h * cell + cell / 2;
                boolean labelled = h % step == 0;
                g.drawLine(x, TOP + plotH + 1, x, TOP + plotH + (labelled ? 6 : 3));
                if (labelled) {
                    String s = Integer.toString(h);
                    g.drawString(s, x - fm.stringWidth(s) / 2, TOP + plotH + 8 + fm.getAscent());
                }
            }
            for (int l = 0; l < layers; l++) {
                int y = TOP + l * cell + cell / 2;
                boolean labelled = l % step == 0;
                g.drawLine(LEFT - 2, y, LEFT - (labelled ? 7 : 4), y);
                if (labelled) {
                    String s = Integer.toString(l);
                    g.drawString(s, LEFT - 10 - fm.stringWidth(s), y + fm.getAscent() / 2 - 1);
                }
            }
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 12));
            fm = g.getFontMetrics();
            g.drawString("head", LEFT + plotW / 2 - fm.stringWidth("head") / 2, TOP + plotH + 40);
            AffineTransform saved = g.getTransform();
            g.rotate(-Math.PI / 2);
            g.drawString("layer", -(TOP + plotH / 2 + fm.stringWidth("layer") / 2), 22);
            g.setTransform(saved);

            // colour bar: max at the top, min at the bottom, grey NaN swatch below if needed
            int barX = LEFT + plotW + BAR_GAP;
            int barH = Math.max(plotH, MIN_PLOT_HEIGHT) - (anyNonFinite ? 28 : 0);
            for (int y = 0; y < barH; y++) {
                g.setColor(viridis(1.0 - (double) y / Math.max(1, barH - 1)));
                g.drawLine(barX, TOP + y, barX + BAR_WIDTH - 1, TOP + y);
            }
            g.setColor(Color.DARK_GRAY);
            g.drawRect(barX - 1, TOP - 1, BAR_WIDTH + 1, barH + 1);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            fm = g.getFontMetrics();
            g.setColor(Color.BLACK);
            int textX = barX + BAR_WIDTH + 5;
            if (anyFinite) {
                g.drawString("max " + format(max), textX, TOP + fm.getAscent() - 2);
                g.drawString(format((min + max) / 2), textX, TOP + barH / 2 + fm.getAscent() / 2);
                g.drawString("min " + format(min), textX, TOP + barH);
            } else {
                g.drawString("no finite", textX, TOP + fm.getAscent());
                g.drawString("values", textX, TOP + 2 * fm.getAscent() + 2);
            }
            if (anyNonFinite) {
                int y = TOP + barH + 12;
                g.setColor(NAN_GREY);
                g.fillRect(barX, y, BAR_WIDTH, 14);
                g.setColor(Color.BLACK);
                g.drawString("NaN / ±inf", textX, y + 11);
            }
        } finally {
            g.dispose();
        }
        return image;
    }

    /** Draws {@code s}, shortened with … so that it fits in {@code maxWidth}. */
    private static void drawFitted(Graphics2D g, String s, int x, int y, int maxWidth) {
        FontMetrics fm = g.getFontMetrics();
        String shown = s;
        while (fm.stringWidth(shown) > maxWidth && shown.length() > 1) shown = shown.substring(0, shown.length() - 2) + "…";
        g.drawString(shown, x, y);
    }

    static String format(double v) {
        return String.format(Locale.ROOT, "%.4g", v);
    }

    /** viridis at t ∈ [0, 1], linear between the eleven anchors. */
    static Color viridis(double t) {
        double x = Math.clamp(t, 0.0, 1.0) * (VIRIDIS.length - 1);
        int i = Math.min((int) x, VIRIDIS.length - 2);
        double f = x - i;
        int a = VIRIDIS[i], b = VIRIDIS[i + 1];
        int r = (int) Math.round(((a >> 16) & 0xFF) * (1 - f) + ((b >> 16) & 0xFF) * f);
        int gr = (int) Math.round(((a >> 8) & 0xFF) * (1 - f) + ((b >> 8) & 0xFF) * f);
        int bl = (int) Math.round((a & 0xFF) * (1 - f) + (b & 0xFF) * f);
        return new Color(r, gr, bl);
    }
}
