package dev.sahara.backend;

import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.backend.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link TopK#select} against sorting, ties included, and the CPU backend's {@link Backend#topK} against the host definition. */
class TopKTest {
    static float[] row(SplittableRandom r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = r.nextInt(4) == 0 ? (float) r.nextGaussian() : r.nextInt(-3, 4) * 0.5f;   // many ties
        return x;
    }

    @Test
    void selectsTheLargestFirstAndLowerIdsFirstOnTies() {
        SplittableRandom r = new SplittableRandom(1);
        for (int n : new int[] {1, 2, 7, 50, 513}) {
            for (int k : new int[] {1, 2, 7, n}) {
                if (k > n) continue;
                for (int trial = 0; trial < 20; trial++) {
                    float[] x = row(r, n);
                    int[] ids = new int[k + 3];
                    float[] values = new float[k + 3];
                    assertTrue(TopK.select(x, 0, n, k, ids, values, 3));
                    int[] expected = IntStream.range(0, n).boxed()
                            .sorted((a, b) -> x[a] != x[b] ? Float.compare(x[b], x[a]) : Integer.compare(a, b))
                            .limit(k).mapToInt(Integer::intValue).toArray();
                    for (int j = 0; j < k; j++) {
                        assertEquals(expected[j], ids[3 + j], "n " + n + " k " + k + " rank " + j);
                        assertEquals(x[expected[j]], values[3 + j]);
                    }
                }
            }
        }
    }

    @Test
    void saysWhenARowIsNotFinite() {
        int[] ids = new int[2];
        float[] values = new float[2];
        assertFalse(TopK.select(new float[] {1f, Float.NaN, 0f}, 0, 3, 2, ids, values, 0));
        assertFalse(TopK.select(new float[] {1f, Float.POSITIVE_INFINITY, 0f}, 0, 3, 1, ids, values, 0));
        assertFalse(TopK.select(new float[] {Float.NEGATIVE_INFINITY, 0f}, 0, 2, 2, ids, values, 0));
        assertTrue(TopK.select(new float[] {-3e38f, 3e38f}, 0, 2, 2, ids, values, 0));
        assertArrayEquals(new int[] {1, 0}, ids);
    }

    @Test
    void cpuBackendEqualsTheHostDefinition() {
        SplittableRandom r = new SplittableRandom(2);
        int rows = 9, n = 301, k = 6;
        float[] data = new float[rows * n];
        for (int s = 0; s < rows; s++) System.arraycopy(row(r, n), 0, data, s * n, n);
        try (CpuBackend cpu = new CpuBackend(2)) {
            Backend ref = new ReferenceBackend();   // uses Backend's default: download, then TopK.select per row
            Tensor a = cpu.allocate(rows, n), b = ref.allocate(rows, n);
            cpu.upload(a, data);
            ref.upload(b, data);
            int[] ia = new int[rows * k], ib = new int[rows * k];
            float[] va = new float[rows * k], vb = new float[rows * k];
            assertTrue(cpu.topK(a, k, ia, va));
            assertTrue(ref.topK(b, k, ib, vb));
            assertArrayEquals(ib, ia);
            assertArrayEquals(vb, va);
            data[5 * n + 17] = Float.NaN;
            cpu.upload(a, data);
            assertFalse(cpu.topK(a, k, ia, va), "a NaN in row 5");
        }
    }
}
