package dev.sahara.report;

import dev.sahara.ablate.HeadId;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * How alike two layer × head score tables are (paper Fig. 5): top-k overlap, Jaccard index of the top-k sets,
 * Spearman rank correlation (average ranks for ties) and Pearson correlation over the heads both tables score.
 */
public final class HeadComparison {
    private HeadComparison() {}

    /** The labels of the k best heads, best first ({@link ScoreTables#topHeads}). */
    public static List<String> top(double[][] s, int k) { return ScoreTables.topHeads(s, k).stream().map(HeadId::label).toList(); }

    public record Overlap(int k, List<String> topA, List<String> topB, List<String> common, double jaccard) {}

    public static Overlap overlap(double[][] a, double[][] b, int k) {
        List<String> ta = top(a, k), tb = top(b, k);
        Set<String> inter = new HashSet<>(ta);
        inter.retainAll(new HashSet<>(tb));
        Set<String> union = new HashSet<>(ta);
        union.addAll(tb);
        List<String> common = ta.stream().filter(inter::contains).toList();
        return new Overlap(k, ta, tb, common, union.isEmpty() ? Double.NaN : (double) inter.size() / union.size());
    }

    /** Pairs (a, b) of the heads where both are finite, in (layer, head) order. */
    static double[][] pairs(double[][] a, double[][] b) {
        List<double[]> p = new ArrayList<>();
        for (int l = 0; l < a.length; l++) for (int h = 0; h < a[l].length; h++)
            if (Double.isFinite(a[l][h]) && Double.isFinite(b[l][h])) p.add(new double[] {a[l][h], b[l][h]});
        double[][] out = new double[2][p.size()];
        for (int i = 0; i < p.size(); i++) {
            out[0][i] = p.get(i)[0];
            out[1][i] = p.get(i)[1];
        }
        return out;
    }

    public static int pairedCount(double[][] a, double[][] b) { return pairs(a, b)[0].length; }

    /** Spearman's ρ: Pearson correlation of the average ranks. NaN with fewer than 2 pairs or a constant table. */
    public static double spearman(double[][] a, double[][] b) {
        double[][] p = pairs(a, b);
        return pearson(ranks(p[0]), ranks(p[1]));
    }

    public static double pearson(double[][] a, double[][] b) {
        double[][] p = pairs(a, b);
        return pearson(p[0], p[1]);
    }

    /** Every finite entry replaced by its average rank among the finite entries (1 = lowest); NaN stays NaN. */
    public static double[][] rankTable(double[][] t) {
        List<double[]> cells = new ArrayList<>();
        for (int l = 0; l < t.length; l++) for (int h = 0; h < t[l].length; h++) if (Double.isFinite(t[l][h])) cells.add(new double[] {t[l][h], l, h});
        double[] v = new double[cells.size()];
        for (int i = 0; i < v.length; i++) v[i] = cells.get(i)[0];
        double[] r = ranks(v);
        double[][] out = new double[t.length][];
        for (int l = 0; l < t.length; l++) {
            out[l] = new double[t[l].length];
            Arrays.fill(out[l], Double.NaN);
        }
        for (int i = 0; i < r.length; i++) out[(int) cells.get(i)[1]][(int) cells.get(i)[2]] = r[i];
        return out;
    }

    /** 1-based ranks, ties get the average of the ranks they span. */
    static double[] ranks(double[] x) {
        Integer[] idx = new Integer[x.length];
        for (int i = 0; i < x.length; i++) idx[i] = i;
        Arrays.sort(idx, (i, j) -> Double.compare(x[i], x[j]));
        double[] r = new double[x.length];
        int i = 0;
        while (i < x.length) {
            int j = i;
            while (j + 1 < x.length && x[idx[j + 1]] == x[idx[i]]) j++;
            double avg = (i + j) / 2.0 + 1;
            for (int t = i; t <= j; t++) r[idx[t]] = avg;
            i = j + 1;
        }
        return r;
    }

    static double pearson(double[] x, double[] y) {
        int n = x.length;
        if (n < 2) return Double.NaN;
        double mx = 0, my = 0;
        for (int i = 0; i < n; i++) {
            mx += x[i] / n;
            my += y[i] / n;
        }
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < n; i++) {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        if (sxx == 0 || syy == 0) return Double.NaN;
        return sxy / Math.sqrt(sxx * syy);
    }
}
