package dev.sahara.direction;

import dev.sahara.SaharaException;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Which prompts of one set the means are taken over (train) and which score the candidates (validation). The rule,
 * deterministic for a given set, sizes and seed: shuffle the indices 0..n-1 with {@code Collections.shuffle(list, new
 * Random(seed))} (an algorithm the JDK specifies), take the first {@code val} as validation and the next {@code train}
 * as train, each kept in dataset order. Shuffled rather than cut, because the built-in sets are ordered by topic.
 * Defaults, as close to Arditi et al.'s 128 / 32 as the set allows: val = min(32, n/5), at least 1; train = min(128, n − val).
 */
public record DirectionSplit(List<Integer> train, List<Integer> validation) {
    public static final int DEFAULT_TRAIN = 128, DEFAULT_VAL = 32;

    /**
     * @param set   the set's name, for error messages
     * @param train train size, or null for the default
     * @param val   validation size, or null for the default
     */
    public static DirectionSplit of(String set, int size, Integer train, Integer val, long seed) {
        if (size < 2) throw new SaharaException(set + ": " + size + " prompt" + (size == 1 ? "" : "s") + "; the direction needs at least 2 (one to train, one to validate)");
        int v = val != null ? val : Math.max(1, Math.min(DEFAULT_VAL, size / 5));
        int t = train != null ? train : Math.min(DEFAULT_TRAIN, size - v);
        if (t < 1 || v < 1) throw new SaharaException(set + ": --train and --val must be >= 1, got " + t + " and " + v);
        if (t + v > size) throw new SaharaException(set + ": --train " + t + " + --val " + v + " is more than its " + size + " prompts");
        List<Integer> order = new ArrayList<>(size);
        for (int i = 0; i < size; i++) order.add(i);
        Collections.shuffle(order, new Random(seed));
        List<Integer> validation = new ArrayList<>(order.subList(0, v)), trainIdx = new ArrayList<>(order.subList(v, v + t));
        Collections.sort(validation);
        Collections.sort(trainIdx);
        return new DirectionSplit(List.copyOf(trainIdx), List.copyOf(validation));
    }

    /** The items of {@code all} at {@code indices}. */
    public static <T> List<T> pick(List<T> all, List<Integer> indices) { return indices.stream().map(all::get).toList(); }
}
