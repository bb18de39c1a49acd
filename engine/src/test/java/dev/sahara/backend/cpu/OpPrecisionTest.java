package dev.sahara.backend.cpu;

import dev.sahara.backend.AttentionLayout;
import dev.sahara.backend.Backend;
import dev.sahara.backend.Tensor;
import dev.sahara.backend.reference.ReferenceBackend;
import dev.sahara.model.DType;
import dev.sahara.model.TensorData;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.function.BiConsumer;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each CPU op's own error against exact arithmetic, max|Δ| / max|exact output|, on the same float32 inputs and at
 * the sizes where float32 arithmetic loses most (long sums, far positions): the per-op budget of docs/SPEC.md,
 * "Precision". Every bound is the measured error times about 1.5 (the results are bit-identical on every machine,
 * so the margin only absorbs deliberate changes) and lies below what the arithmetic it replaced gave (the figures
 * in each message).
 */
class OpPrecisionTest {
    static final ReferenceBackend EXACT = new ReferenceBackend();

    static float[] gaussian(SplittableRandom r, int n, double std) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * std);
        return x;
    }

    /** The op on both backends from the same inputs; max|Δ| / max|exact| over {@code out}. */
    static double relativeError(float[][] inputs, int[][] shapes, int outIndex, BiConsumer<Backend, Tensor[]> op) {
        float[] got, want;
        try (CpuBackend cpu = new CpuBackend(2)) {
            got = run(cpu, inputs, shapes, outIndex, op);
        }
        want = run(EXACT, inputs, shapes, outIndex, op);
        double worst = 0, scale = 0;
        for (int i = 0; i < want.length; i++) {
            worst = Math.max(worst, Math.abs((double) got[i] - want[i]));
            scale = Math.max(scale, Math.abs(want[i]));
        }
        return worst / scale;
    }

    private static float[] run(Backend b, float[][] inputs, int[][] shapes, int outIndex, BiConsumer<Backend, Tensor[]> op) {
        Tensor[] t = new Tensor[inputs.length];
        for (int i = 0; i < t.length; i++) {
            t[i] = b.allocate(shapes[i][0], shapes[i][1]);
            if (inputs[i] != null) b.upload(t[i], inputs[i]);
        }
        op.accept(b, t);
        return b.download(t[outIndex]);
    }

    static TensorData bf16(Arena arena, float[] values, int rows, int cols) {
        MemorySegment s = arena.allocate(2L * values.length);
        for (int i = 0; i < values.length; i++) s.set(TensorData.I16_LE, 2L * i, (short) ((Float.floatToRawIntBits(values[i]) + 0x8000) >>> 16));
        return new TensorData("w", DType.BF16, new long[] {rows, cols}, s, Path.of("test"));
    }

    @Test
    void matmulOverLongSums() {
        SplittableRandom r = new SplittableRandom(1);
        for (int k : new int[] {768, 2048, 8192}) {
            int n = 512, rows = 7;   // a 6-row block and the 1-row kernel
            try (Arena arena = Arena.ofConfined()) {
                TensorData w = bf16(arena, gaussian(r, n * k, 0.02), n, k);
                for (int tokens : new int[] {1, rows}) {
                    double e = relativeError(new float[][] {gaussian(r, tokens * k, 1), null}, new int[][] {{tokens, k}, {tokens, n}}, 1,
                            (b, t) -> b.matmul(t[1], t[0], b.weight(w), null));
                    // measured 1.7e-7 .. 3.9e-7; one fma chain over all of k: 8.5e-7 .. 4.0e-6
                    assertTrue(e <= 6e-7, "matmul k " + k + ", " + tokens + " token rows: " + e);
                }
            }
        }
    }

    @Test
    void ropeAtFarPositions() {
        SplittableRandom r = new SplittableRandom(2);
        int heads = 4, headDim = 128;
        int[] positions = {0, 1, 4095, 32767, 131071};
        double[] invFreq = new double[headDim / 2];
        for (int i = 0; i < invFreq.length; i++) invFreq[i] = Math.pow(500000, -2.0 * i / headDim);
        double e = relativeError(new float[][] {gaussian(r, positions.length * heads * headDim, 1)}, new int[][] {{positions.length, heads * headDim}}, 0,
                (b, t) -> b.rope(t[0], heads, headDim, positions, invFreq));
        // measured 6.8e-8; angles p · invFreq rounded to float32 before cos / sin: 2.0e-3
        assertTrue(e <= 1.5e-7, "rope: " + e);
    }

    @Test
    void rmsNormOfAWideRow() {
        SplittableRandom r = new SplittableRandom(3);
        int dim = 8192;
        try (Arena arena = Arena.ofConfined()) {
            float[] g = gaussian(r, dim, 1);
            MemorySegment s = arena.allocate(4L * dim);
            for (int i = 0; i < dim; i++) s.set(TensorData.F32_LE, 4L * i, g[i]);
            TensorData gamma = new TensorData("g", DType.F32, new long[] {dim}, s, Path.of("test"));
            double e = relativeError(new float[][] {gaussian(r, 2 * dim, 3), null}, new int[][] {{2, dim}, {2, dim}}, 1,
                    (b, t) -> b.rmsNorm(t[1], t[0], b.weight(gamma), 1e-5f));
            // measured 5.8e-8; the sum of squares in float32: 1.1e-6
            assertTrue(e <= 1.5e-7, "rmsNorm: " + e);
        }
    }

    @Test
    void attentionOverManyKeys() {
        SplittableRandom r = new SplittableRandom(4);
        int heads = 4, headDim = 128, keys = 4096;
        AttentionLayout layout = new AttentionLayout(new int[] {0}, new int[] {1}, new int[] {keys - 1}, new int[] {0});
        for (double qStd : new double[] {0.3, 3}) {   // nearly uniform weights, and a few keys dominating
            double e = relativeError(new float[][] {gaussian(r, heads * headDim, qStd), gaussian(r, keys * heads * headDim, 1), gaussian(r, keys * heads * headDim, 1), null},
                    new int[][] {{1, heads * headDim}, {keys, heads * headDim}, {keys, heads * headDim}, {1, heads * headDim}}, 3,
                    (b, t) -> b.attention(t[3], t[0], t[1], t[2], layout, heads, heads, headDim));
            // measured 2.4e-7 and 5.6e-7; softmax · V as one fma chain over all keys: 1.9e-6 and 1.2e-6
            assertTrue(e <= 9e-7, "attention, q std " + qStd + ": " + e);
        }
    }

    @Test
    void swigluOverTheRange() {
        SplittableRandom r = new SplittableRandom(5);
        int n = 1 << 16;
        double e = relativeError(new float[][] {gaussian(r, n, 4), gaussian(r, n, 1)}, new int[][] {{1, n}, {1, n}}, 0, (b, t) -> b.swiglu(t[0], t[1]));
        // measured 1.06e-7 (exp within 2 ulp, then a division and a product)
        assertTrue(e <= 2e-7, "swiglu: " + e);
    }
}
