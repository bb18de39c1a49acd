package dev.sahara.backend.cpu;

import dev.sahara.model.DType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The matmul kernel for a few token rows (decoding): reads a {@link PackedWeight} panel straight from memory, in
 * its dtype, with no float32 copy of the panel, so decoding streams each weight byte once.
 *
 * <p>bf16 / f16 panels are loaded as ints: one int holds two neighbouring columns (2m in the low half, 2m + 1 in
 * the high half), so a shift or a mask widens them to float32 with plain int lane ops, and the kernel keeps the
 * even and the odd columns in separate accumulators. Each output is still summed as {@link MatMulKernel} sums it
 * (a fused multiply-add chain per block of {@link MatMulKernel#KB} k steps, the blocks added in order), so
 * decoding and prefill give bit-identical results.
 */
final class DirectKernel {
    private static final VectorSpecies<Float> F = MatMulKernel.F;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final int L = MatMulKernel.L, NR = MatMulKernel.NR, KB = MatMulKernel.KB;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Token rows up to which decoding a panel into a float32 scratch does not pay. */
    static final int MAX_TOKENS = 4;

    private DirectKernel() {}

    /** out[t][n0 .. n0+NR) for t in [t0, t1) (t1 − t0 ≤ MAX_TOKENS), from panel {@code panel} of p. */
    static void panelRows(PackedWeight p, int panel, float[] x, int t0, int t1, float[] out, int outCols, int n0, float[] lanes) {
        int valid = Math.min(NR, outCols - n0);
        for (int t = t0; t < t1; t++) {
            if (p.dtype == DType.F32) f32Row(p, panel, x, t, out, outCols, n0, valid, lanes);
            else halfRow(p, panel, x, t, out, outCols, n0, valid, lanes);
        }
    }

    private static void f32Row(PackedWeight p, int panel, float[] x, int t, float[] out, int outCols, int n0, int valid, float[] lanes) {
        int k = p.k, x0 = t * k, i = 0;
        long off = p.offset(panel, 0), step = NR * 4L;
        MemorySegment w = p.data;
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        for (int k0 = 0; k0 < k; k0 += KB) {
            int k1 = Math.min(k, k0 + KB);
            FloatVector c0 = FloatVector.zero(F), c1 = c0;
            for (; i + 4 <= k1; i += 4, off += 4 * step) {   // unrolled: the loop's own overhead halved the bandwidth
                for (int u = 0; u < 4; u++) {
                    FloatVector a = FloatVector.broadcast(F, x[x0 + i + u]);
                    c0 = a.fma(FloatVector.fromMemorySegment(F, w, off + u * step, LE), c0);
                    c1 = a.fma(FloatVector.fromMemorySegment(F, w, off + u * step + L * 4L, LE), c1);
                }
            }
            for (; i < k1; i++, off += step) {
                FloatVector a = FloatVector.broadcast(F, x[x0 + i]);
                c0 = a.fma(FloatVector.fromMemorySegment(F, w, off, LE), c0);
                c1 = a.fma(FloatVector.fromMemorySegment(F, w, off + L * 4L, LE), c1);
            }
            s0 = s0.add(c0);
            s1 = s1.add(c1);
        }
        s0.intoArray(lanes, 0);
        s1.intoArray(lanes, L);
        System.arraycopy(lanes, 0, out, t * outCols + n0, valid);
    }

    private static void halfRow(PackedWeight p, int panel, float[] x, int t, float[] out, int outCols, int n0, int valid, float[] lanes) {
        int k = p.k, x0 = t * k, i = 0;
        boolean bf16 = p.dtype == DType.BF16;
        long off = p.offset(panel, 0), step = NR * 2L;
        MemorySegment w = p.data;
        FloatVector evenTotal = FloatVector.zero(F), oddTotal = evenTotal;
        for (int k0 = 0; k0 < k; k0 += KB) {
            int k1 = Math.min(k, k0 + KB);
            FloatVector even = FloatVector.zero(F), odd = even;
            if (bf16) {
                // Unrolled four k steps at a time (the same chain per output): one step per iteration left a core at
                // half the memory bandwidth, so two cores could not saturate it.
                for (; i + 4 <= k1; i += 4, off += 4 * step) {
                    IntVector p0 = pairs(w, off), p1 = pairs(w, off + step), p2 = pairs(w, off + 2 * step), p3 = pairs(w, off + 3 * step);
                    FloatVector a0 = FloatVector.broadcast(F, x[x0 + i]), a1 = FloatVector.broadcast(F, x[x0 + i + 1]);
                    FloatVector a2 = FloatVector.broadcast(F, x[x0 + i + 2]), a3 = FloatVector.broadcast(F, x[x0 + i + 3]);
                    even = a0.fma(bf16Even(p0), even);
                    odd = a0.fma(bf16Odd(p0), odd);
                    even = a1.fma(bf16Even(p1), even);
                    odd = a1.fma(bf16Odd(p1), odd);
                    even = a2.fma(bf16Even(p2), even);
                    odd = a2.fma(bf16Odd(p2), odd);
                    even = a3.fma(bf16Even(p3), even);
                    odd = a3.fma(bf16Odd(p3), odd);
                }
            }
            for (; i < k1; i++, off += step) {
                IntVector pair = pairs(w, off);
                FloatVector a = FloatVector.broadcast(F, x[x0 + i]);
                even = a.fma(bf16 ? bf16Even(pair) : WeightDecoder.f16(pair.and(0xffff)), even);
                odd = a.fma(bf16 ? bf16Odd(pair) : WeightDecoder.f16(pair.lanewise(VectorOperators.LSHR, 16)), odd);
            }
            evenTotal = evenTotal.add(even);
            oddTotal = oddTotal.add(odd);
        }
        evenTotal.intoArray(lanes, 0);
        oddTotal.intoArray(lanes, L);
        int o = t * outCols + n0;
        for (int j = 0; j < valid; j++) out[o + j] = lanes[(j & 1) * L + (j >> 1)];
    }

    /** One k step of a bf16 / f16 panel: NR values as NR / 2 ints. */
    private static IntVector pairs(MemorySegment w, long off) { return IntVector.fromMemorySegment(I, w, off, LE); }

    private static FloatVector bf16Even(IntVector pair) { return pair.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(); }

    private static FloatVector bf16Odd(IntVector pair) { return pair.and(0xffff0000).reinterpretAsFloats(); }
}
