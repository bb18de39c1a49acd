package dev.sahara.report;

import dev.sahara.ablate.HeadId;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** A scatter plot of two runs' head scores (one point per head), drawn with Graphics2D (headless). */
public final class ScatterPlot {
    static {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    static final int SIZE = 560, LEFT = 80, RIGHT = 24, TOP = 56, BOTTOM = 64;

    private ScatterPlot() {}

    /** Heads in {@code labelled} are drawn red and named. NaN heads are skipped. */
    public static void write(Path png, String title, String xLabel, String yLabel, double[][] x, double[][] y, Set<HeadId> labelled) {
        BufferedImage img = render(title, xLabel, yLabel, x, y, labelled);
        ResultFiles.writeBytes(png, Png.encode(img));
    }

    /** Whether every finite value is a whole number (a rank axis): its ticks are then whole numbers too. */
    static boolean integral(double[][] v) {
        for (double[] row : v) for (double d : row) if (Double.isFinite(d) && d != Math.rint(d)) return false;
        return true;
    }

    /** Tick values in [lo, hi] at a round step (1, 2 or 5 × 10^k; at least 1 on an integral axis), about five of them. */
    static List<Double> ticks(double lo, double hi, boolean integral) {
        double raw = (hi - lo) / 5, mag = Math.pow(10, Math.floor(Math.log10(raw))), step = mag;
        for (double m : new double[] {1, 2, 5, 10}) if (m * mag >= raw) { step = m * mag; break; }
        if (integral) step = Math.max(1, Math.rint(step));
        List<Double> out = new ArrayList<>();
        for (double v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9 && out.size() < 50; v += step) out.add(Math.abs(v) < step * 1e-9 ? 0 : v);
        return out;
    }

    static String tickLabel(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e9 ? Long.toString((long) v) : String.format(Locale.ROOT, "%.3g", v);
    }

    static BufferedImage render(String title, String xLabel, String yLabel, double[][] x, double[][] y, Set<HeadId> labelled) {
        int w = LEFT + SIZE + RIGHT, h = TOP + SIZE + BOTTOM;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, w, h);
            double x0 = Double.POSITIVE_INFINITY, x1 = Double.NEGATIVE_INFINITY, y0 = Double.POSITIVE_INFINITY, y1 = Double.NEGATIVE_INFINITY;
            for (int l = 0; l < x.length; l++) for (int k = 0; k < x[l].length; k++) {
                if (!Double.isFinite(x[l][k]) || !Double.isFinite(y[l][k])) continue;
                x0 = Math.min(x0, x[l][k]); x1 = Math.max(x1, x[l][k]);
                y0 = Math.min(y0, y[l][k]); y1 = Math.max(y1, y[l][k]);
            }
            if (!(x0 <= x1)) { x0 = 0; x1 = 1; y0 = 0; y1 = 1; }
            if (x1 == x0) { x0 -= 0.5; x1 += 0.5; }
            if (y1 == y0) { y0 -= 0.5; y1 += 0.5; }
            double px = (x1 - x0) * 0.05, py = (y1 - y0) * 0.05;
            x0 -= px; x1 += px; y0 -= py; y1 += py;

            g.setColor(Color.BLACK);
            Heatmap.drawTitle(g, title, 12, w - 24);   // wrapped, not cut off
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            java.awt.FontMetrics fm = g.getFontMetrics();
            g.drawRect(LEFT, TOP, SIZE, SIZE);
            // ticks at round values; on an axis of whole numbers (ranks) only at whole numbers
            for (double fx : ticks(x0, x1, integral(x))) {
                int sx = LEFT + (int) Math.round((fx - x0) / (x1 - x0) * SIZE);
                String s = tickLabel(fx);
                g.drawLine(sx, TOP + SIZE, sx, TOP + SIZE + 5);
                g.drawString(s, sx - fm.stringWidth(s) / 2, TOP + SIZE + 20);
            }
            for (double fy : ticks(y0, y1, integral(y))) {
                int sy = TOP + SIZE - (int) Math.round((fy - y0) / (y1 - y0) * SIZE);
                String s = tickLabel(fy);
                g.drawLine(LEFT - 5, sy, LEFT, sy);
                g.drawString(s, LEFT - 8 - fm.stringWidth(s), sy + 4);   // right-aligned against the axis, clear of the y title
            }
            g.drawString(Heatmap.fitted(g, xLabel, SIZE), LEFT + SIZE / 2 - fm.stringWidth(Heatmap.fitted(g, xLabel, SIZE)) / 2, TOP + SIZE + 44);
            Graphics2D gy = (Graphics2D) g.create();
            gy.rotate(-Math.PI / 2);
            String yShown = Heatmap.fitted(gy, yLabel, SIZE);
            gy.drawString(yShown, -(TOP + SIZE / 2 + gy.getFontMetrics().stringWidth(yShown) / 2), 14);
            gy.dispose();
            g.setStroke(new BasicStroke(1f));
            for (int pass = 0; pass < 2; pass++) {
                for (int l = 0; l < x.length; l++) for (int k = 0; k < x[l].length; k++) {
                    if (!Double.isFinite(x[l][k]) || !Double.isFinite(y[l][k])) continue;
                    HeadId id = new HeadId(l, k);
                    boolean mark = labelled.contains(id);
                    if (mark != (pass == 1)) continue;
                    int sx = LEFT + (int) Math.round((x[l][k] - x0) / (x1 - x0) * SIZE);
                    int sy = TOP + SIZE - (int) Math.round((y[l][k] - y0) / (y1 - y0) * SIZE);
                    g.setColor(mark ? Heatmap.MARK : new Color(0x35, 0x5F, 0x8D, 160));
                    g.fillOval(sx - 3, sy - 3, 7, 7);
                    if (mark) g.drawString(id.label(), sx + 5, sy - 4);
                }
            }
        } finally {
            g.dispose();
        }
        return img;
    }
}
