package dev.sahara.data;

import java.util.List;

/**
 * A list of prompts and where it came from.
 *
 * @param name    short name: the builtin's name ({@code advbench}) or the file name without extension
 * @param source  stable provenance string for result files, e.g.
 *                {@code builtin:advbench column goal (sha256 6cd1…e1, 520 rows)}
 * @param prompts the prompts, in file order, unmodified (no trimming, filtering or de-duplication)
 */
public record Dataset(String name, String source, List<String> prompts) {
    public Dataset {
        prompts = List.copyOf(prompts);
    }

    public int size() { return prompts.size(); }
}
