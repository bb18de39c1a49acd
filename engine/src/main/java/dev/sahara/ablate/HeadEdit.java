package dev.sahara.ablate;

import java.util.Arrays;

/**
 * What happens to the heads of one activation tensor [tokens, heads × head_dim] of one layer: for each head,
 * first (if {@code mean[h]}) its slice is replaced by the mean over all heads of the original tensor at that
 * token, then it is multiplied by {@code scale[h]}. A head with mean false and scale 1 is untouched.
 */
public record HeadEdit(float[] scale, boolean[] mean) {
    public static HeadEdit identity(int heads) {
        float[] s = new float[heads];
        Arrays.fill(s, 1f);
        return new HeadEdit(s, new boolean[heads]);
    }

    public int heads() { return scale.length; }

    public boolean isIdentity() {
        for (int h = 0; h < scale.length; h++) if (mean[h] || scale[h] != 1f) return false;
        return true;
    }

    public boolean anyMean() {
        for (boolean m : mean) if (m) return true;
        return false;
    }
}
