package dev.sahara.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;


/**
 * The matmul kernels: out[t][n] = Σ_k x[t][k] · w[n][k] over a {@link PackedWeight}.
 *
 * <p>Every output is one fused multiply-add chain in k order, {@code acc = fma(x[t][k], w[n][k], acc)} from
 * acc = 0, and nothing else: no lane splitting and no horizontal sum. Both kernels below compute exactly that
 * chain, so a result depends neither on the thread count nor on the tiling nor on how many tokens are in the
 * batch (a decoded token gets the same bits as the same row in a prefill).
 *
 * <p>The caller decodes one panel (NR weight rows × k, k-major, contiguous in the packed weight) into a float32
 * scratch that stays in L1/L2; a 6-token × NR-column register block (12 accumulators) broadcasts one activation
 * and multiplies it into two contiguous weight vectors per k step; leftover tokens (and decoding's single token)
 * take a 1-token block over the same scratch.
 */
final class MatMulKernel {
    static final VectorSpecies<Float> F = WeightDecoder.F;
    static final int L = F.length();
    /** Output columns per panel (two vectors). */
    static final int NR = 2 * L;
    /** Token rows per register block. */
    static final int MR = 6;

    private MatMulKernel() {}

    /**
     * out[t][n0 .. n0+NR) for t in [t0, t1), from a decoded panel w (k × NR floats, k-major).
     * Columns at or beyond outCols are not written (zero padding of the last panel).
     */
    static void panelRows(float[] x, int k, int t0, int t1, float[] w, float[] out, int outCols, int n0) {
        int valid = Math.min(NR, outCols - n0);
        int t = t0;
        for (; t + MR <= t1; t += MR) block6(x, k, t, w, out, outCols, n0, valid);
        for (; t < t1; t++) row1(x, k, t, w, out, outCols, n0, valid);
    }

    private static void block6(float[] x, int k, int t, float[] w, float[] out, int outCols, int n0, int valid) {
        int x0 = t * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k, x4 = x3 + k, x5 = x4 + k;
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
                c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int i = 0, wo = 0; i < k; i++, wo += NR) {
            FloatVector b0 = FloatVector.fromArray(F, w, wo), b1 = FloatVector.fromArray(F, w, wo + L);
            FloatVector a = FloatVector.broadcast(F, x[x0 + i]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(F, x[x1 + i]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(F, x[x2 + i]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(F, x[x3 + i]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(F, x[x4 + i]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(F, x[x5 + i]);
            c50 = a.fma(b0, c50);
            c51 = a.fma(b1, c51);
        }
        int o = t * outCols + n0;
        store(c00, c01, out, o, valid);
        store(c10, c11, out, o + outCols, valid);
        store(c20, c21, out, o + 2 * outCols, valid);
        store(c30, c31, out, o + 3 * outCols, valid);
        store(c40, c41, out, o + 4 * outCols, valid);
        store(c50, c51, out, o + 5 * outCols, valid);
    }

    private static void row1(float[] x, int k, int t, float[] w, float[] out, int outCols, int n0, int valid) {
        int x0 = t * k;
        FloatVector c0 = FloatVector.zero(F), c1 = c0;
        for (int i = 0, wo = 0; i < k; i++, wo += NR) {
            FloatVector a = FloatVector.broadcast(F, x[x0 + i]);
            c0 = a.fma(FloatVector.fromArray(F, w, wo), c0);
            c1 = a.fma(FloatVector.fromArray(F, w, wo + L), c1);
        }
        store(c0, c1, out, t * outCols + n0, valid);
    }

    /** The first {@code valid} (≤ NR) of the two vectors' lanes into out[o ..]. */
    private static void store(FloatVector lo, FloatVector hi, float[] out, int o, int valid) {
        if (valid >= NR) {
            lo.intoArray(out, o);
            hi.intoArray(out, o + L);
        } else if (valid > L) {
            lo.intoArray(out, o);
            hi.intoArray(out, o + L, VectorMask.fromLong(F, (1L << (valid - L)) - 1));
        } else {
            lo.intoArray(out, o, VectorMask.fromLong(F, (1L << valid) - 1));
        }
    }
}
