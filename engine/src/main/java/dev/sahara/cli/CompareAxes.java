package dev.sahara.cli;

/** Titles of compare's scatter axes. */
public final class CompareAxes {
    private CompareAxes() {}

    /** "A: rank of Sahara step 1 angle (1 = lowest)": a rank has no unit, so the score's "(degrees)" is dropped. */
    public static String title(String run, String axis, String kind) {
        return axis.startsWith("rank") ? run + ": rank of " + kind.replaceAll(" \\([^)]*\\)$", "") + " (1 = lowest)" : run + ": " + axis + kind;
    }
}
