package dev.sahara.backend.cpu;

import dev.sahara.backend.Tensor;
import dev.sahara.model.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The matmul's promises beyond accuracy: the same bits whatever the thread count, and whatever the batch a row
 * sits in (the decoding kernel and the prefill kernel compute the same sums); every kernel equals the scalar
 * definition {@link MatMulKernel#dotByBlocks}, and so does softmax · V; the vectorised f16 decode equals
 * {@link Float#float16ToFloat} on every bit pattern.
 */
class MatMulDeterminismTest {
    static MemorySegment weight(Arena arena, Random r, DType dt, int n, int k) {
        MemorySegment s = arena.allocate((long) n * k * dt.bytes);
        for (long i = 0; i < (long) n * k; i++) {
            float v = (float) r.nextGaussian();
            switch (dt) {
                case F32 -> s.set(ValueLayout.JAVA_FLOAT_UNALIGNED, i * 4, v);
                case BF16 -> s.set(ValueLayout.JAVA_SHORT_UNALIGNED, i * 2, (short) (Float.floatToIntBits(v) >>> 16));
                case F16 -> s.set(ValueLayout.JAVA_SHORT_UNALIGNED, i * 2, Float.floatToFloat16(v));
            }
        }
        return s;
    }

    static float[] matmul(CpuBackend b, CpuWeight w, float[] x, int rows) {
        Tensor in = b.allocate(rows, w.cols()), out = b.allocate(rows, w.rows());
        b.upload(in, x);
        b.matmul(out, in, w, null);
        return b.download(out);
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void sameBitsForAnyThreadCountAndBatch(DType dt) {
        Random r = new Random(7);
        int n = 83, k = 301, rows = 61;   // a partial last panel, a partial last token block, a 6-row remainder
        try (Arena arena = Arena.ofConfined(); CpuBackend one = new CpuBackend(1); CpuBackend two = new CpuBackend(2); CpuBackend three = new CpuBackend(3)) {
            CpuWeight w = new CpuWeight(weight(arena, r, dt, n, k), dt, n, k);
            float[] x = new float[rows * k];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            float[] ref = matmul(one, w, x, rows);
            assertArrayEquals(ref, matmul(two, w, x, rows));
            assertArrayEquals(ref, matmul(three, w, x, rows));
            for (int t : new int[] {0, 5, 60}) {          // one row alone (decoding kernel) = the same row in the batch
                float[] single = matmul(two, w, Arrays.copyOfRange(x, t * k, (t + 1) * k), 1);
                assertArrayEquals(Arrays.copyOfRange(ref, t * n, (t + 1) * n), single, "row " + t);
            }
            float[] five = matmul(two, w, Arrays.copyOfRange(x, 0, 5 * k), 5);
            assertArrayEquals(Arrays.copyOfRange(ref, 0, 5 * n), five);
            float[] fewRows = matmul(two, w, Arrays.copyOfRange(x, 0, 3 * k), 3);    // the direct kernel with several rows
            assertArrayEquals(Arrays.copyOfRange(ref, 0, 3 * n), fewRows);
        }
    }

    /** k across the block boundaries; rows that take the direct kernel (1, 3), the 6-row block and the 1-row remainder (13). */
    @ParameterizedTest
    @EnumSource(DType.class)
    void everyKernelEqualsTheBlockedSumBitForBit(DType dt) {
        Random r = new Random(13);
        int n = 45;   // a partial last panel
        try (Arena arena = Arena.ofConfined(); CpuBackend b = new CpuBackend(2)) {
            for (int k : new int[] {1, 5, 63, 64, 65, 130, 301, 768}) {
                MemorySegment src = weight(arena, r, dt, n, k);
                CpuWeight w = new CpuWeight(src, dt, n, k);
                float[] wf = new float[n * k];
                WeightDecoder.decode(src, dt, 0, n * k, wf, 0);
                for (int rows : new int[] {1, 3, 13}) {
                    float[] x = new float[rows * k];
                    for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
                    float[] got = matmul(b, w, x, rows);
                    for (int t = 0; t < rows; t++) {
                        for (int j = 0; j < n; j++) {
                            float want = MatMulKernel.dotByBlocks(x, t * k, wf, j * k, 1, k);
                            assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(got[t * n + j]), dt + " k " + k + ", " + rows + " rows, output (" + t + ", " + j + ")");
                        }
                    }
                }
            }
        }
    }

    /** softmax · V over key counts across the block boundaries and widths that use every loop (four vectors, one, scalar). */
    @Test
    void weightedSumEqualsTheBlockedSumBitForBit() {
        Random r = new Random(17);
        int L = MatMulKernel.L;
        for (int keys : new int[] {1, 63, 64, 65, 200, 1000}) {
            for (int n : new int[] {3, L + 3, 4 * L + L + 3}) {
                int stride = n + 5;
                float[] p = new float[keys], v = new float[keys * stride + 2], out = new float[n + 1];
                for (int j = 0; j < keys; j++) p[j] = r.nextFloat();
                for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
                float inv = 1f / keys;
                CpuBackend.weightedSum(p, inv, keys, v, 2, stride, out, 1, n);
                float[] weights = new float[keys];
                for (int j = 0; j < keys; j++) weights[j] = p[j] * inv;
                for (int i = 0; i < n; i++) {
                    float want = MatMulKernel.dotByBlocks(weights, 0, v, 2 + i, stride, keys);
                    assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(out[1 + i]), keys + " keys, n " + n + ", element " + i);
                }
            }
        }
    }

    @Test
    void f16DecodeMatchesFloat16ToFloat() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(65536 * 2);
            for (int i = 0; i < 65536; i++) s.set(ValueLayout.JAVA_SHORT_UNALIGNED, i * 2L, (short) i);
            float[] got = new float[65536];
            WeightDecoder.decode(s, DType.F16, 0, 65536, got, 0);
            for (int i = 0; i < 65536; i++) {
                assertEquals(Float.floatToRawIntBits(Float.float16ToFloat((short) i)), Float.floatToRawIntBits(got[i]), "f16 bits " + Integer.toHexString(i));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void severalWeightsInOneLoopGiveTheSameBitsAsOneEach(DType dt) {
        Random r = new Random(11);
        int k = 77;
        try (Arena arena = Arena.ofConfined(); CpuBackend b = new CpuBackend(2)) {
            CpuWeight[] ws = {new CpuWeight(weight(arena, r, dt, 40, k), dt, 40, k), new CpuWeight(weight(arena, r, dt, 9, k), dt, 9, k),
                    new CpuWeight(weight(arena, r, dt, 70, k), dt, 70, k)};
            for (int rows : new int[] {1, 3, 13, 61}) {
                float[] x = new float[rows * k];
                for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
                Tensor in = b.allocate(rows, k);
                b.upload(in, x);
                Tensor[] outs = new Tensor[ws.length];
                for (int i = 0; i < ws.length; i++) outs[i] = b.allocate(rows, ws[i].rows());
                b.matmuls(outs, in, ws, new dev.sahara.backend.Weight[ws.length]);
                for (int i = 0; i < ws.length; i++) assertArrayEquals(matmul(b, ws[i], x, rows), b.download(outs[i]), "weight " + i + ", " + rows + " rows");
            }
        }
    }
}
