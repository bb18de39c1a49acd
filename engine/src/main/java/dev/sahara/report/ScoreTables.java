package dev.sahara.report;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;

import java.util.List;
import java.util.Locale;

/** Layer × head score matrices as JSON arrays and as the rows of heads.csv. */
public final class ScoreTables {
    private ScoreTables() {}

    /** [[layer 0 heads...], [layer 1 heads...], ...]; NaN (a head already in the group) becomes null. */
    public static ArrayNode toJson(double[][] scores) {
        ArrayNode rows = JsonNodeFactory.instance.arrayNode();
        for (double[] layer : scores) {
            ArrayNode r = rows.addArray();
            for (double v : layer) {
                if (Double.isNaN(v)) r.addNull();
                else r.add(v);
            }
        }
        return rows;
    }

    /** CSV with one row per head: layer,head,label, then one column per table (empty where NaN). */
    public static String toCsv(List<String> columns, List<double[][]> tables) {
        StringBuilder sb = new StringBuilder("layer,head,label");
        for (String c : columns) sb.append(',').append(c);
        sb.append('\n');
        double[][] first = tables.get(0);
        for (int l = 0; l < first.length; l++) {
            for (int h = 0; h < first[l].length; h++) {
                sb.append(l).append(',').append(h).append(",L").append(l).append('H').append(h);
                for (double[][] t : tables) sb.append(',').append(Double.isNaN(t[l][h]) ? "" : String.format(Locale.ROOT, "%.9g", t[l][h]));
                sb.append('\n');
            }
        }
        return sb.toString();
    }

    /** The k best heads of a table, best first, as "L1H2 (12.3)". */
    public static List<String> top(double[][] scores, int k) {
        java.util.List<double[]> all = new java.util.ArrayList<>();
        for (int l = 0; l < scores.length; l++) for (int h = 0; h < scores[l].length; h++) if (!Double.isNaN(scores[l][h])) all.add(new double[] {scores[l][h], l, h});
        all.sort((a, b) -> a[0] != b[0] ? Double.compare(b[0], a[0]) : Double.compare(a[1] * 1e6 + a[2], b[1] * 1e6 + b[2]));
        return all.stream().limit(k).map(a -> String.format(Locale.ROOT, "L%dH%d (%.4g)", (int) a[1], (int) a[2], a[0])).toList();
    }
}
