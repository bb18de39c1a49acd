package dev.sahara.llama;

import dev.sahara.SaharaException;
import dev.sahara.backend.AttentionLayout;

import java.util.ArrayList;
import java.util.List;

/**
 * Prompts packed end to end, no padding: tokens [T] and the layout saying where each sequence starts.
 * For a prefill the KV cache rows equal the token rows.
 */
public record TokenBatch(int[] tokens, AttentionLayout layout) {
    public static TokenBatch pack(List<int[]> sequences) {
        int n = sequences.size();
        if (n == 0) throw new SaharaException("no prompts to run");
        int[] start = new int[n], len = new int[n];
        int total = 0;
        for (int s = 0; s < n; s++) {
            if (sequences.get(s).length == 0) throw new SaharaException("prompt " + s + " has no tokens");
            start[s] = total;
            len[s] = sequences.get(s).length;
            total = Math.addExact(total, len[s]);
        }
        int[] tokens = new int[total];
        for (int s = 0; s < n; s++) System.arraycopy(sequences.get(s), 0, tokens, start[s], len[s]);
        return new TokenBatch(tokens, new AttentionLayout(start, len, new int[n], start.clone()));
    }

    /** {@code sequences} packed {@code perBatch} at a time, in order: what a forward over many prompts runs batch by batch. */
    public static List<TokenBatch> packInBatches(List<int[]> sequences, int perBatch) {
        List<TokenBatch> batches = new ArrayList<>();
        for (int from = 0; from < sequences.size(); from += perBatch) batches.add(pack(sequences.subList(from, Math.min(sequences.size(), from + perBatch))));
        return batches;
    }

    public int size() { return layout.sequences(); }
}
