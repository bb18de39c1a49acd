package dev.sahara.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;

/** A scatter plot of two runs' head scores (one point per head), drawn with Graphics2D (headless). */
public final class ScatterPlot {
    static {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    static final int SIZE = 560, LEFT = 80, RIGHT = 24, TOP = 56, BOTTOM = 64;

    private ScatterPlot() {}

    /** Heads in {@code labelled} (labels like L2H26) are drawn red and named. NaN heads are skipped. */
    public static void write(Path png, String title, String xLabel, String yLabel, double[][] x, double[][] y, Set<String> labelled) {
        BufferedImage img = render(title, xLabel, yLabel, x, y, labelled);
        ResultFiles.writeBytes(png, Png.encode(img));
    }

    static BufferedImage render(String title, String xLabel, String yLabel, double[][] x, double[][] y, Set<String> labelled) {
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
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
            g.drawString(title, LEFT, 28);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            g.drawRect(LEFT, TOP, SIZE, SIZE);
            for (int i = 0; i <= 4; i++) {
                double fx = x0 + (x1 - x0) * i / 4, fy = y0 + (y1 - y0) * i / 4;
                int sx = LEFT + SIZE * i / 4, sy = TOP + SIZE - SIZE * i / 4;
                g.drawLine(sx, TOP + SIZE, sx, TOP + SIZE + 5);
                g.drawString(String.format(Locale.ROOT, "%.3g", fx), sx - 14, TOP + SIZE + 20);
                g.drawLine(LEFT - 5, sy, LEFT, sy);
                g.drawString(String.format(Locale.ROOT, "%.3g", fy), 4, sy + 4);
            }
            g.drawString(xLabel, LEFT + SIZE / 2 - g.getFontMetrics().stringWidth(xLabel) / 2, TOP + SIZE + 44);
            Graphics2D gy = (Graphics2D) g.create();
            gy.rotate(-Math.PI / 2);
            gy.drawString(yLabel, -(TOP + SIZE / 2 + gy.getFontMetrics().stringWidth(yLabel) / 2), 16);
            gy.dispose();
            g.setStroke(new BasicStroke(1f));
            for (int pass = 0; pass < 2; pass++) {
                for (int l = 0; l < x.length; l++) for (int k = 0; k < x[l].length; k++) {
                    if (!Double.isFinite(x[l][k]) || !Double.isFinite(y[l][k])) continue;
                    String label = "L" + l + "H" + k;
                    boolean mark = labelled.contains(label);
                    if (mark != (pass == 1)) continue;
                    int sx = LEFT + (int) Math.round((x[l][k] - x0) / (x1 - x0) * SIZE);
                    int sy = TOP + SIZE - (int) Math.round((y[l][k] - y0) / (y1 - y0) * SIZE);
                    g.setColor(mark ? Heatmap.MARK : new Color(0x35, 0x5F, 0x8D, 160));
                    g.fillOval(sx - 3, sy - 3, 7, 7);
                    if (mark) g.drawString(label, sx + 5, sy - 4);
                }
            }
        } finally {
            g.dispose();
        }
        return img;
    }
}
