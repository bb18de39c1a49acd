package dev.sahara.backend;

/**
 * Where each packed sequence's queries and keys live. Sequences are packed end to end in the activation
 * tensors (no padding); sequence s has {@code newTokens[s]} query rows starting at {@code rowStart[s]}, at
 * positions {@code pastLen[s] ..}, and its keys/values occupy KV-cache rows {@code cacheStart[s] + position}.
 * Query at position p attends to cache rows cacheStart[s] + 0..p (causal).
 */
public record AttentionLayout(int[] rowStart, int[] newTokens, int[] pastLen, int[] cacheStart) {
    public int sequences() { return rowStart.length; }

    public int rows() {
        int n = 0;
        for (int t : newTokens) n += t;
        return n;
    }

    /** Position of every query row. */
    public int[] positions() {
        int[] pos = new int[rows()];
        for (int s = 0; s < sequences(); s++) for (int i = 0; i < newTokens[s]; i++) pos[rowStart[s] + i] = pastLen[s] + i;
        return pos;
    }

    /** KV-cache row of every query row's own key and value. */
    public int[] cacheRows() {
        int[] rows = new int[rows()];
        for (int s = 0; s < sequences(); s++) for (int i = 0; i < newTokens[s]; i++) rows[rowStart[s] + i] = cacheStart[s] + pastLen[s] + i;
        return rows;
    }

    /** Rows of each sequence's last token. */
    public int[] lastRows() {
        int[] rows = new int[sequences()];
        for (int s = 0; s < sequences(); s++) rows[s] = rowStart[s] + newTokens[s] - 1;
        return rows;
    }

    /**
     * The layout of each sequence's last query row alone, packed as rows 0 .. sequences − 1, attending to the same
     * cache rows as before: what is left of a prefill once only the last rows still matter.
     */
    public AttentionLayout lastRowsOnly() {
        int n = sequences();
        int[] start = new int[n], one = new int[n], past = new int[n];
        for (int s = 0; s < n; s++) {
            start[s] = s;
            one[s] = 1;
            past[s] = pastLen[s] + newTokens[s] - 1;
        }
        return new AttentionLayout(start, one, past, cacheStart.clone());
    }

    public int maxPosition() {
        int m = 0;
        for (int s = 0; s < sequences(); s++) m = Math.max(m, pastLen[s] + newTokens[s]);
        return m;
    }
}
