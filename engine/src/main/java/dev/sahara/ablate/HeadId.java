package dev.sahara.ablate;

import dev.sahara.SaharaException;
import dev.sahara.model.ModelConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A query head: (layer, head), both 0-based. Canonical label {@code L2H26}; input also accepts {@code 2-26} and {@code 2.26}. */
public record HeadId(int layer, int head) implements Comparable<HeadId> {
    private static final Pattern FORMS = Pattern.compile("(?i)L(\\d+)H(\\d+)|(\\d+)[-.](\\d+)");

    public HeadId {
        if (layer < 0 || head < 0) throw new SaharaException("head id must be non-negative, got layer " + layer + " head " + head);
    }

    public static HeadId parse(String text) {
        Matcher m = FORMS.matcher(text.strip());
        if (!m.matches()) throw new SaharaException("bad head id '" + text + "': write L2H26, 2-26 or 2.26 (layer and head, 0-based)");
        try {
            return m.group(1) != null ? new HeadId(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)))
                    : new HeadId(Integer.parseInt(m.group(3)), Integer.parseInt(m.group(4)));
        } catch (NumberFormatException e) {
            throw new SaharaException("bad head id '" + text + "': number too large");
        }
    }

    /** Parses a comma-separated list such as {@code L2H26,3-8}; an empty item ({@code L2H26,,3-8}) is an error. */
    public static List<HeadId> parseList(String text) {
        List<HeadId> out = new ArrayList<>();
        for (String part : text.split(",", -1)) {
            if (part.isBlank()) throw new SaharaException("bad head list '" + text + "': an empty item between commas");
            out.add(parse(part));
        }
        return out;
    }

    /** Checks the head exists in the model; the error names the model's ranges. */
    public HeadId checkIn(ModelConfig c) {
        if (layer >= c.numLayers() || head >= c.numHeads()) {
            throw new SaharaException("head " + label() + " does not exist: the model has layers 0-" + (c.numLayers() - 1)
                    + " and heads 0-" + (c.numHeads() - 1));
        }
        return this;
    }

    public String label() { return "L" + layer + "H" + head; }

    @Override
    public String toString() { return label(); }

    @Override
    public int compareTo(HeadId o) { return layer != o.layer ? Integer.compare(layer, o.layer) : Integer.compare(head, o.head); }
}
