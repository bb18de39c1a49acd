package dev.sahara.report;

import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.sahara.ablate.HeadId;
import dev.sahara.model.Json;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Layer × head score matrices: their ranking, and their form in JSON and in heads.csv. */
public final class ScoreTables {
    private ScoreTables() {}

    /** [[layer 0 heads...], [layer 1 heads...], ...]; NaN (a head already in the group) becomes null. */
    public static ArrayNode toJson(double[][] scores) {
        ArrayNode rows = Json.MAPPER.createArrayNode();
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
                sb.append(l).append(',').append(h).append(',').append(new HeadId(l, h).label());
                for (double[][] t : tables) sb.append(',').append(Double.isNaN(t[l][h]) ? "" : String.format(Locale.ROOT, "%.9g", t[l][h]));
                sb.append('\n');
            }
        }
        return sb.toString();
    }

    /**
     * The k best heads of a table, highest score first; ties go to the lower (layer, head), and a head without a
     * score (NaN: already in the group) is not ranked. The one ranking every result and plot shows.
     */
    public static List<HeadId> topHeads(double[][] scores, int k) {
        List<HeadId> all = new ArrayList<>();
        for (int l = 0; l < scores.length; l++) for (int h = 0; h < scores[l].length; h++) if (!Double.isNaN(scores[l][h])) all.add(new HeadId(l, h));
        all.sort((a, b) -> {
            int c = Double.compare(scores[b.layer()][b.head()], scores[a.layer()][a.head()]);
            return c != 0 ? c : a.compareTo(b);
        });
        return List.copyOf(all.subList(0, Math.min(k, all.size())));
    }

    /** The k best heads of a table, best first, as "L1H2 (12.3)". */
    public static List<String> top(double[][] scores, int k) {
        return topHeads(scores, k).stream().map(id -> String.format(Locale.ROOT, "%s (%.4g)", id.label(), scores[id.layer()][id.head()])).toList();
    }
}
