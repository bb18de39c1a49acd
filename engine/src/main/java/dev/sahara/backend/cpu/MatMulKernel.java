package dev.sahara.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The matmul inner kernel: out[t][n0 + j] = x[t] · w[j] for a tile of token rows and decoded weight rows.
 * A 4-token × 2-weight register block (8 vector accumulators) so each loaded vector feeds several FMAs.
 * Every output is the same fixed-order sum whatever the tiling around it, so results do not depend on threads.
 */
final class MatMulKernel {
    private static final VectorSpecies<Float> F = WeightDecoder.F;
    private static final int L = F.length();

    private MatMulKernel() {}

    /**
     * @param x     [tokens, k] activations
     * @param w     [nw, k] decoded weight rows
     * @param out   [tokens, outCols]; columns n0 .. n0+nw are written for rows t0 .. t1
     */
    static void tile(float[] x, int k, int t0, int t1, float[] w, int nw, float[] out, int outCols, int n0) {
        int upper = k - k % L;
        int t = t0;
        for (; t + 4 <= t1; t += 4) {
            int j = 0;
            for (; j + 2 <= nw; j += 2) block4x2(x, k, upper, t, w, j, out, outCols, n0);
            for (; j < nw; j++) for (int r = 0; r < 4; r++) out[(t + r) * outCols + n0 + j] = dot(x, (t + r) * k, w, j * k, k, upper);
        }
        for (; t < t1; t++) for (int j = 0; j < nw; j++) out[t * outCols + n0 + j] = dot(x, t * k, w, j * k, k, upper);
    }

    private static void block4x2(float[] x, int k, int upper, int t, float[] w, int j, float[] out, int outCols, int n0) {
        int x0 = t * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k, w0 = j * k, w1 = w0 + k;
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        for (int i = 0; i < upper; i += L) {
            FloatVector b0 = FloatVector.fromArray(F, w, w0 + i), b1 = FloatVector.fromArray(F, w, w1 + i);
            FloatVector v = FloatVector.fromArray(F, x, x0 + i);
            a00 = v.fma(b0, a00);
            a01 = v.fma(b1, a01);
            v = FloatVector.fromArray(F, x, x1 + i);
            a10 = v.fma(b0, a10);
            a11 = v.fma(b1, a11);
            v = FloatVector.fromArray(F, x, x2 + i);
            a20 = v.fma(b0, a20);
            a21 = v.fma(b1, a21);
            v = FloatVector.fromArray(F, x, x3 + i);
            a30 = v.fma(b0, a30);
            a31 = v.fma(b1, a31);
        }
        FloatVector[] acc = {a00, a01, a10, a11, a20, a21, a30, a31};
        for (int r = 0; r < 4; r++) {
            for (int c = 0; c < 2; c++) {
                float s = Lanes.sum(acc[r * 2 + c]);
                int xo = x0 + r * k, wo = w0 + c * k;
                for (int i = upper; i < k; i++) s += x[xo + i] * w[wo + i];
                out[(t + r) * outCols + n0 + j + c] = s;
            }
        }
    }

    /** The same sum as block4x2 computes for one (row, weight) pair, so tails match the blocked path exactly. */
    private static float dot(float[] x, int xo, float[] w, int wo, int k, int upper) {
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < upper; i += L) acc = FloatVector.fromArray(F, x, xo + i).fma(FloatVector.fromArray(F, w, wo + i), acc);
        float s = Lanes.sum(acc);
        for (int i = upper; i < k; i++) s += x[xo + i] * w[wo + i];
        return s;
    }
}
