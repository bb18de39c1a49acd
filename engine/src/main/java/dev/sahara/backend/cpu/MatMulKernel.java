package dev.sahara.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;


/**
 * The matmul kernels: out[t][n] = Σ_k x[t][k] · w[n][k] over a {@link PackedWeight}.
 *
 * <p>Every output is summed in blocks of {@link #KB} consecutive k: each block is one fused multiply-add chain in k
 * order, {@code acc = fma(x[t][k], w[n][k], acc)} from acc = 0, and the blocks' sums are added in k order to a
 * total from 0, {@code total = total + acc}; nothing else: no lane splitting and no horizontal sum. Every kernel
 * (these two and {@link DirectKernel}) computes exactly that, so a result depends neither on the thread count nor
 * on the tiling nor on how many tokens are in the batch (a decoded token gets the same bits as the same row in a
 * prefill); {@link #dotByBlocks} is its scalar statement. Why blocks: a single chain over k = 768 or 2048 lets the
 * rounding error grow with the whole running sum; short chains plus a total cost one add per 64 multiply-adds and
 * cut the matmul's error five- to tenfold — it was nearly all of the forward's error against float64
 * (docs/SPEC.md, "Precision").
 *
 * <p>The caller decodes one panel (NR weight rows × k, k-major, contiguous in the packed weight) into a float32
 * scratch that stays in L1/L2; a 6-token × NR-column register block (12 accumulators and 12 totals) broadcasts one
 * activation and multiplies it into two contiguous weight vectors per k step; leftover tokens (and decoding's
 * single token) take a 1-token block over the same scratch.
 */
final class MatMulKernel {
    static final VectorSpecies<Float> F = WeightDecoder.F;
    static final int L = F.length();
    /** Output columns per panel (two vectors). */
    static final int NR = 2 * L;
    /** Token rows per register block. */
    static final int MR = 6;
    /** k steps per partial sum (see the class comment). */
    static final int KB = 64;

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
        FloatVector z = FloatVector.zero(F);
        FloatVector s00 = z, s01 = z, s10 = z, s11 = z, s20 = z, s21 = z, s30 = z, s31 = z, s40 = z, s41 = z, s50 = z, s51 = z;
        for (int k0 = 0, wo = 0; k0 < k; k0 += KB) {
            FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
            for (int i = k0, k1 = Math.min(k, k0 + KB); i < k1; i++, wo += NR) {
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
            s00 = s00.add(c00);
            s01 = s01.add(c01);
            s10 = s10.add(c10);
            s11 = s11.add(c11);
            s20 = s20.add(c20);
            s21 = s21.add(c21);
            s30 = s30.add(c30);
            s31 = s31.add(c31);
            s40 = s40.add(c40);
            s41 = s41.add(c41);
            s50 = s50.add(c50);
            s51 = s51.add(c51);
        }
        int o = t * outCols + n0;
        store(s00, s01, out, o, valid);
        store(s10, s11, out, o + outCols, valid);
        store(s20, s21, out, o + 2 * outCols, valid);
        store(s30, s31, out, o + 3 * outCols, valid);
        store(s40, s41, out, o + 4 * outCols, valid);
        store(s50, s51, out, o + 5 * outCols, valid);
    }

    private static void row1(float[] x, int k, int t, float[] w, float[] out, int outCols, int n0, int valid) {
        int x0 = t * k;
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        for (int k0 = 0, wo = 0; k0 < k; k0 += KB) {
            FloatVector c0 = FloatVector.zero(F), c1 = c0;
            for (int i = k0, k1 = Math.min(k, k0 + KB); i < k1; i++, wo += NR) {
                FloatVector a = FloatVector.broadcast(F, x[x0 + i]);
                c0 = a.fma(FloatVector.fromArray(F, w, wo), c0);
                c1 = a.fma(FloatVector.fromArray(F, w, wo + L), c1);
            }
            s0 = s0.add(c0);
            s1 = s1.add(c1);
        }
        store(s0, s1, out, t * outCols + n0, valid);
    }

    /** Σ_i x[xOff + i] · w[wOff + i·wStride] for i < k, summed as every kernel sums an output: the scalar definition they must equal bit for bit. */
    static float dotByBlocks(float[] x, int xOff, float[] w, int wOff, int wStride, int k) {
        float total = 0f;
        for (int k0 = 0; k0 < k; k0 += KB) {
            float acc = 0f;
            for (int i = k0, k1 = Math.min(k, k0 + KB); i < k1; i++) acc = Math.fma(x[xOff + i], w[wOff + i * wStride], acc);
            total = total + acc;
        }
        return total;
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
