package dev.sahara.llama;

import dev.sahara.SaharaException;
import dev.sahara.backend.AttentionLayout;

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

    public int size() { return layout.sequences(); }
}
