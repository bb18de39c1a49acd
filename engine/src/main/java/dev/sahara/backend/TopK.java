package dev.sahara.backend;

/**
 * The k largest values of a row and their column ids, largest first, equal values by lower id first: the order in
 * which greedy decoding (k = 1: the first maximum wins) and top-k sampling consider a row of logits. This is the
 * host statement of {@link Backend#topK}, which every backend must match exactly.
 */
public final class TopK {
    private TopK() {}

    /**
     * Writes the top k of x[off .. off + n) to ids[outOff .. outOff + k) (column ids, 0-based) and
     * values[outOff .. outOff + k). k ≤ n. Returns false when the row holds a NaN or ±Inf (the selection is then
     * not meaningful and the caller stops).
     */
    public static boolean select(float[] x, int off, int n, int k, int[] ids, float[] values, int outOff) {
        if (k < 1 || k > n) throw new IllegalArgumentException("top " + k + " of " + n);
        boolean finite = true;
        int filled = 0;
        for (int i = 0; i < n; i++) {
            float v = x[off + i];
            if (!Float.isFinite(v)) {
                finite = false;
                continue;
            }
            if (filled == k && v <= values[outOff + k - 1]) continue;
            int j = Math.min(filled, k - 1);                // insert after every kept value ≥ v (lower ids first on ties)
            while (j > 0 && values[outOff + j - 1] < v) {
                values[outOff + j] = values[outOff + j - 1];
                ids[outOff + j] = ids[outOff + j - 1];
                j--;
            }
            values[outOff + j] = v;
            ids[outOff + j] = i;
            if (filled < k) filled++;
        }
        return finite && filled == k;
    }
}
