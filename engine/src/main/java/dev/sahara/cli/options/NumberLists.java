package dev.sahara.cli.options;

import dev.sahara.SaharaException;

import java.util.List;
import java.util.TreeSet;

/** Option values that list numbers: "1,2,3" or "1-5" (or a mix), as ships-asr --k and compare --top take them. */
public final class NumberLists {
    private NumberLists() {}

    /** The sorted distinct non-negative numbers {@code text} lists; {@code option} names it in the error. */
    public static List<Integer> parse(String option, String text) {
        TreeSet<Integer> out = new TreeSet<>();
        try {
            for (String part : text.split(",")) {
                String p = part.strip();
                int dash = p.indexOf('-', 1);
                if (dash > 0) {
                    int a = Integer.parseInt(p.substring(0, dash).strip()), b = Integer.parseInt(p.substring(dash + 1).strip());
                    if (b < a) throw new NumberFormatException();
                    for (int i = a; i <= b; i++) out.add(i);
                } else out.add(Integer.parseInt(p));
            }
        } catch (NumberFormatException e) {
            throw new SaharaException(option + " must be a list like 1,2,3 or 1-5, got '" + text + "'");
        }
        if (out.isEmpty() || out.first() < 0) throw new SaharaException(option + " must list numbers >= 0, got '" + text + "'");
        return List.copyOf(out);
    }
}
