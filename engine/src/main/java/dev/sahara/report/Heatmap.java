package dev.sahara.report;

import dev.sahara.ablate.HeadId;

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
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

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
 * Colours: viridis, from the smallest to the largest finite score, on a linear, log or rank scale ({@link Scale};
 * on a 32 × 32 map of a real model a few heads dwarf the rest, and only log or rank tells the others apart).
 * Cells without a score (NaN, ±∞: heads already in the group) are grey. Highlighted heads get a red frame; the
 * five best heads are numbered in their cells and listed under the title. Ticks label every {@link #tickStep}
 * rows/columns; every cell has a small tick mark. A title too long for one line is wrapped onto two.
 */
public final class Heatmap {
    static {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    static final int LEFT = 72, TOP = 64, BOTTOM = 48, BAR_GAP = 20, BAR_WIDTH = 18, BAR_LABELS = 104, MIN_PLOT_HEIGHT = 160, MIN_WIDTH = 480;
    static final Color NAN_GREY = new Color(0x9A, 0x9A, 0x9A);
    static final Color MARK = new Color(0xE4, 0x00, 0x2B);

    /** viridis at 0, 0.1, …, 1 (matplotlib). */
    private static final int[] VIRIDIS = {0x440154, 0x482475, 0x414487, 0x355F8D, 0x2A788E, 0x21918C, 0x22A884,
            0x44BF70, 0x7AD151, 0xBDDF26, 0xFDE725};

    private Heatmap() {}

    /** How scores map to colours. */
    public enum Scale {
        /** Linear from the smallest to the largest score. */
        LINEAR,
        /** log10 of the score (scores <= 0 take the colour of the smallest positive one). */
        LOG,
        /** Each head's rank among the scored heads: evenly spread colours, whatever the distribution. */
        RANK;

        public static Scale parse(String s) {
            for (Scale v : values()) if (v.name().equalsIgnoreCase(s)) return v;
            throw new dev.sahara.SaharaException("--color-scale must be linear, log or rank, got '" + s + "'");
        }
    }

    /** The colour scale of the heat maps the running command draws (--color-scale; linear unless set). */
    private static final ThreadLocal<Scale> SCALE = ThreadLocal.withInitial(() -> Scale.LINEAR);

    public static void useScale(Scale scale) { SCALE.set(scale); }

    public static void resetScale() { SCALE.remove(); }

    /** How many of the best heads are numbered on the map. */
    static final int TOP_LABELLED = 5;

    /**
     * @param png         output file (overwritten)
     * @param title       drawn at the top (shortened with … if too wide)
     * @param scores      {@code [layer][head]}, rectangular, at least 1×1
     * @param highlighted head labels like {@code L2H26} to frame; may be empty
     */
    public static void write(Path png, String title, double[][] scores, Set<HeadId> highlighted) {
        BufferedImage image = render(title, scores, highlighted, SCALE.get());
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

    static BufferedImage render(String title, double[][] scores, Set<HeadId> highlighted) { return render(title, scores, highlighted, Scale.LINEAR); }

    static BufferedImage render(String title, double[][] scores, Set<HeadId> highlighted, Scale scale) {
        int layers = scores.length;
        if (layers == 0 || scores[0].length == 0) throw new IllegalArgumentException("empty score matrix");
        int heads = scores[0].length;
        for (int l = 0; l < layers; l++)
            if (scores[l].length != heads) throw new IllegalArgumentException("ragged score matrix: layer " + l + " has " + scores[l].length + " heads, layer 0 has " + heads);
        boolean[][] marked = new boolean[layers][heads];
        TreeSet<HeadId> markedSorted = new TreeSet<>(highlighted);
        for (HeadId id : markedSorted) {
            if (id.layer() >= layers || id.head() >= heads) throw new IllegalArgumentException("highlighted head " + id + " is outside the " + layers + "×" + heads + " matrix");
            marked[id.layer()][id.head()] = true;
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
        double[][] t = colourPositions(scores, scale);
        List<HeadId> top = best(scores, TOP_LABELLED);

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

            // title (wrapped onto two lines when it is too long for one), the marked heads and the best ones
            g.setColor(Color.BLACK);
            drawTitle(g, title, 12, size.width - 24);
            List<String> names = new ArrayList<>();
            for (HeadId id : markedSorted) names.add(id.label());
            List<String> best = new ArrayList<>();
            for (int i = 0; i < top.size(); i++) best.add((i + 1) + " " + top.get(i).label() + " (" + format(scores[top.get(i).layer()][top.get(i).head()]) + ")");
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            g.setColor(MARK);
            String line = (names.isEmpty() ? "" : "marked: " + String.join(", ", names) + "   ");
            g.drawString(fitted(g, line, size.width - 24), 12, 58);
            g.setColor(Color.BLACK);
            int bestX = 12 + g.getFontMetrics().stringWidth(fitted(g, line, size.width - 24));
            if (!best.isEmpty()) g.drawString(fitted(g, "best: " + String.join(", ", best), size.width - 12 - bestX), bestX, 58);

            // cells
            for (int l = 0; l < layers; l++)
                for (int h = 0; h < heads; h++) {
                    double v = scores[l][h];
                    g.setColor(!Double.isFinite(v) ? NAN_GREY : viridis(t[l][h]));
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

            // the best heads, numbered in their cells when the cells are large enough to read a digit
            if (cell >= 12) {
                g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, Math.min(14, cell - 4)));
                FontMetrics dm = g.getFontMetrics();
                for (int i = 0; i < top.size(); i++) {
                    int l = top.get(i).layer(), h = top.get(i).head();
                    String s = Integer.toString(i + 1);
                    g.setColor(t[l][h] > 0.6 ? Color.BLACK : Color.WHITE);   // dark digits on the yellow end of viridis
                    g.drawString(s, LEFT + h * cell + (cell - dm.stringWidth(s)) / 2, TOP + l * cell + (cell + dm.getAscent()) / 2 - 1);
                }
            }

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
                g.drawString(switch (scale) {
                    case LINEAR -> format((min + max) / 2);
                    case LOG -> format(middleOfLog(scores)) + " (log)";
                    case RANK -> "median " + format(median(scores));
                }, textX, TOP + barH / 2 + fm.getAscent() / 2);
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
                g.drawString("not scored", textX, y + 11);
            }
        } finally {
            g.dispose();
        }
        return image;
    }

    /** {@code s}, shortened with … so that it fits in {@code maxWidth}. */
    static String fitted(Graphics2D g, String s, int maxWidth) {
        FontMetrics fm = g.getFontMetrics();
        String shown = s;
        while (fm.stringWidth(shown) > maxWidth && shown.length() > 1) shown = shown.substring(0, shown.length() - 2) + "…";
        return shown;
    }

    /**
     * The title in bold: one line at 16 pt when it fits, else two lines at 13 pt broken at a space (the second
     * shortened with … only if even that is too long). Returns the number of lines.
     */
    static int drawTitle(Graphics2D g, String title, int x, int maxWidth) {
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
        if (g.getFontMetrics().stringWidth(title) <= maxWidth) {
            g.drawString(title, x, 22);
            return 1;
        }
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        FontMetrics fm = g.getFontMetrics();
        int cut = title.length();
        while (cut > 0 && (fm.stringWidth(title.substring(0, cut)) > maxWidth || (cut < title.length() && title.charAt(cut) != ' '))) cut--;
        if (cut == 0) cut = Math.max(1, title.length() / 2);
        g.drawString(title.substring(0, cut), x, 18);
        g.drawString(fitted(g, title.substring(cut).strip(), maxWidth), x, 36);
        return 2;
    }

    /** Where each score sits on the colour scale, 0..1 (NaN for cells without a score). */
    static double[][] colourPositions(double[][] scores, Scale scale) {
        int layers = scores.length, heads = scores[0].length;
        double[][] t = new double[layers][heads];
        List<double[]> finite = new ArrayList<>();   // {value, layer, head}
        for (int l = 0; l < layers; l++)
            for (int h = 0; h < heads; h++) {
                t[l][h] = Double.NaN;
                if (Double.isFinite(scores[l][h])) finite.add(new double[] {scores[l][h], l, h});
            }
        if (finite.isEmpty()) return t;
        switch (scale) {
            case RANK -> {
                finite.sort((a, b) -> Double.compare(a[0], b[0]));
                for (int i = 0; i < finite.size(); i++) {
                    // ties share their average rank, so equal scores get equal colours
                    int j = i;
                    while (j + 1 < finite.size() && finite.get(j + 1)[0] == finite.get(i)[0]) j++;
                    double pos = finite.size() == 1 ? 0.5 : (i + j) / 2.0 / (finite.size() - 1);
                    for (int k = i; k <= j; k++) t[(int) finite.get(k)[1]][(int) finite.get(k)[2]] = pos;
                    i = j;
                }
            }
            case LOG, LINEAR -> {
                double minPositive = finite.stream().mapToDouble(v -> v[0]).filter(v -> v > 0).min().orElse(Double.NaN);
                boolean log = scale == Scale.LOG && !Double.isNaN(minPositive);
                double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
                for (double[] v : finite) {
                    double x = log ? Math.log10(Math.max(v[0], minPositive)) : v[0];
                    lo = Math.min(lo, x);
                    hi = Math.max(hi, x);
                }
                for (double[] v : finite) {
                    double x = log ? Math.log10(Math.max(v[0], minPositive)) : v[0];
                    t[(int) v[1]][(int) v[2]] = hi > lo ? (x - lo) / (hi - lo) : 0.5;
                }
            }
        }
        return t;
    }

    /** The k best heads with a finite score, in {@link ScoreTables#topHeads}' order. */
    static List<HeadId> best(double[][] scores, int k) {
        return ScoreTables.topHeads(scores, Integer.MAX_VALUE).stream().filter(id -> Double.isFinite(scores[id.layer()][id.head()])).limit(k).toList();
    }

    private static double median(double[][] scores) {
        double[] v = Arrays.stream(scores).flatMapToDouble(Arrays::stream).filter(Double::isFinite).sorted().toArray();
        return v.length == 0 ? Double.NaN : v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** The score in the middle of a log colour bar: the geometric mean of the smallest positive and the largest score. */
    private static double middleOfLog(double[][] scores) {
        double[] v = Arrays.stream(scores).flatMapToDouble(Arrays::stream).filter(x -> Double.isFinite(x) && x > 0).toArray();
        if (v.length == 0) return Double.NaN;
        return Math.sqrt(Arrays.stream(v).min().getAsDouble() * Arrays.stream(v).max().getAsDouble());
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
