package dev.sahara.backend.cuda;

import dev.sahara.backend.BackendParityTest;
import dev.sahara.backend.BackendParityTest.Pair;
import dev.sahara.backend.Divergence;
import dev.sahara.backend.Tensor;
import dev.sahara.backend.TopK;
import dev.sahara.backend.reference.ReferenceBackend;
import dev.sahara.model.DType;
import dev.sahara.model.TensorData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Random;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static dev.sahara.backend.BackendParityTest.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CUDA-only ops against their Java references: kernels/sampling.cu top_k, kernels/divergence.cu kl_divergence,
 * the --precision bf16 matmul (16-bit GEMM inputs) and the cuSOLVER eigensolver. The ops every backend has (matmul,
 * row ops, rope, head edits, attention) are checked for CUDA by the "cuda" cases of
 * {@link BackendParityTest}, against the double-precision {@link ReferenceBackend}, with CUDA's tolerance
 * |gpu − ref| ≤ 1e-4 · (1 + |ref|) per element. Each case runs on the GPU ("cuda": skipped, with the reason, where
 * there is none) and over the CPU emulation of the same kernels ("cuda-emulated": everywhere).
 */
class CudaBackendParityTest {
    static final double TOL = BackendParityTest.CUDA.tolerance();
    static final ReferenceBackend REF = BackendParityTest.REF;
    static final Arena ARENA = Arena.ofShared();

    @AfterAll
    static void close() { ARENA.close(); }

    static Stream<Arguments> shapes() { return BackendParityTest.shapesAndDtypes(); }

    static TensorData weight(Random r, DType dtype, int rows, int cols) { return BackendParityTest.weight(ARENA, r, dtype, rows, cols); }

    /** Every (backend, case) pair: the CUDA backend on a GPU and over the emulation. */
    static Stream<Arguments> onBoth(Object[]... cases) {
        return CudaTestSupport.backends().flatMap(b -> Stream.of(cases).map(c -> {
            Object[] all = new Object[c.length + 1];
            all[0] = b;
            System.arraycopy(c, 0, all, 1, c.length);
            return Arguments.of(all);
        }));
    }

    static Stream<Arguments> topKCases() {
        return onBoth(new Object[] {1, 1}, new Object[] {1, 32000}, new Object[] {5, 32000}, new Object[] {40, 1000}, new Object[] {7, 129},
                new Object[] {300, 300}, new Object[] {1, 128256}, new Object[] {8, 128256});
    }

    /** kernels/sampling.cu top_k equals TopK.select exactly: ranks, ids and values, ties by lower id; NaN/Inf flagged. */
    @ParameterizedTest(name = "{0}: top_k {1} of {2}")
    @MethodSource("topKCases")
    void topKEqualsTheHostSelection(Supplier<CudaBackend> backend, int k, int n) {
        CudaBackend gpu = backend.get();
        Random r = new Random(k * 131L + n);
        int rows = 5;
        float[] x = new float[rows * n];
        for (int i = 0; i < x.length; i++) x[i] = r.nextInt(4) == 0 ? (float) r.nextGaussian() : (r.nextInt(9) - 4) * 0.5f;   // many ties
        Tensor g = gpu.allocate(rows, n);
        gpu.upload(g, x);
        int[] ids = new int[rows * k], expectedIds = new int[rows * k];
        float[] values = new float[rows * k], expectedValues = new float[rows * k];
        assertTrue(gpu.topK(g, k, ids, values), "all finite");
        for (int s = 0; s < rows; s++) TopK.select(x, s * n, n, k, expectedIds, expectedValues, s * k);
        assertArrayEquals(expectedIds, ids, "ids");
        assertArrayEquals(expectedValues, values, "values");
        x[3 * n + n / 2] = Float.NaN;
        gpu.upload(g, x);
        assertFalse(gpu.topK(g, k, ids, values), "a NaN in row 3 is reported");
        for (float bad : new float[] {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            float[] y = x.clone();
            y[3 * n + n / 2] = 0;
            y[n - 1] = bad;                            // row 0's last column
            gpu.upload(g, y);
            assertFalse(gpu.topK(g, k, ids, values), bad + " in row 0 is reported");
            if (n > k) {                               // the other rows' picks are unaffected; a non-finite value is never picked
                for (int s = 1; s < rows; s++) TopK.select(y, s * n, n, k, expectedIds, expectedValues, s * k);
                assertArrayEquals(Arrays.copyOfRange(expectedIds, k, rows * k), Arrays.copyOfRange(ids, k, rows * k), "ids of rows 1.. with " + bad + " in row 0");
                for (int j = 0; j < k; j++) assertTrue(ids[j] != n - 1, "row 0 never picks its " + bad);
            }
        }
    }

    static Stream<Arguments> klCases() {
        return onBoth(new Object[] {1, false}, new Object[] {7, true}, new Object[] {1000, false}, new Object[] {32000, false},
                new Object[] {32000, true}, new Object[] {128256, false}, new Object[] {128256, true});
    }

    /** kernels/divergence.cu kl_divergence against Divergence.kl / officialKl (double sums in another order). */
    @ParameterizedTest(name = "{0}: kl_divergence n {1}, official {2}")
    @MethodSource("klCases")
    void klDivergenceEqualsTheHostDefinition(Supplier<CudaBackend> backend, int n, boolean official) {
        CudaBackend gpu = backend.get();
        Random r = new Random(n * 7L + (official ? 1 : 0));
        int rows = 4;
        float[] p = new float[rows * n], q = new float[rows * n];
        for (int i = 0; i < p.length; i++) {
            p[i] = (float) (r.nextGaussian() * 3);
            q[i] = i < n ? p[i] : p[i] + (float) (r.nextGaussian() * 0.5);   // row 0: q = p, KL 0
        }
        Tensor pg = gpu.allocate(rows, n), qg = gpu.allocate(rows, n);
        gpu.upload(pg, p);
        gpu.upload(qg, q);
        double[] out = new double[rows];
        gpu.klDivergence(pg, qg, official, out);
        for (int s = 0; s < rows; s++) {
            double expected = Divergence.kl(p, s * n, q, s * n, n, official);
            assertTrue(Math.abs(out[s] - expected) <= 1e-12 + 1e-9 * Math.abs(expected), "row " + s + ": cuda " + out[s] + " host " + expected);
        }
        q[2 * n + n / 2] = Float.NaN;              // row 2: a NaN; row 3: a −Inf, which a plain sum could skip
        q[3 * n] = Float.NEGATIVE_INFINITY;
        gpu.upload(qg, q);
        gpu.klDivergence(pg, qg, official, out);
        assertTrue(Double.isNaN(out[2]) && Double.isNaN(out[3]), "non-finite logits give NaN: " + out[2] + ", " + out[3]);
        assertTrue(Double.isFinite(out[0]) && Double.isFinite(out[1]), "the other rows are unaffected");
        // the first argument's rows too (a NaN there once gave KL 0: every term skipped), for each non-finite value
        float[] bads = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
        for (int s = 0; s < 3; s++) {
            float[] pb = p.clone();
            pb[s * n + (n - 1) / 2] = bads[s];
            gpu.upload(pg, pb);
            gpu.klDivergence(pg, qg, official, out);
            assertTrue(Double.isNaN(out[s]), "p row " + s + " holding " + bads[s] + " gives NaN, got " + out[s]);
            assertTrue(Double.isNaN(Divergence.kl(pb, s * n, q, s * n, n, official)), "as on the host");
        }
    }

    /** x rounded as narrow_bf16 / narrow_f16 round it (nearest even). */
    static float round16(float v, DType dtype) {
        if (dtype == DType.F16) return Float.float16ToFloat(Float.floatToFloat16(v));
        int u = Float.floatToRawIntBits(v);
        u += 0x7fff + ((u >>> 16) & 1);
        return Float.intBitsToFloat(u & 0xffff0000);
    }

    static Stream<Arguments> backendsAndShapes() {
        return onBoth(shapes().map(Arguments::get).toArray(Object[][]::new));
    }

    @ParameterizedTest(name = "{0}: matmul --precision bf16 {1}x{2} · ({3}x{2})ᵀ {4}")
    @MethodSource("backendsAndShapes")
    void matmulWith16BitInputs(Supplier<CudaBackend> backend, int rows, int k, int n, DType dtype) {
        CudaBackend gpu = backend.get();
        Random r = new Random(rows * 37L + k * 11L + n);
        float[] xs = random(r, rows * k), rounded = xs.clone();
        if (dtype != DType.F32) for (int i = 0; i < rounded.length; i++) rounded[i] = round16(xs[i], dtype);
        TensorData w = weight(r, dtype, n, k);
        Tensor xg = gpu.allocate(rows, k), og = gpu.allocate(rows, n);
        gpu.upload(xg, xs);
        Pair out = Pair.of(gpu, TOL, new float[rows * n], rows, n), xr = Pair.of(gpu, TOL, rounded, rows, k);
        gpu.setPrecision(CudaBackend.Precision.BF16);
        try {
            gpu.matmul(og, xg, gpu.weight(w), null);
        } finally {
            gpu.setPrecision(CudaBackend.Precision.F32);
        }
        gpu.copy(out.t(), og);
        // the reference multiplies the rounded inputs in double; the GPU accumulates in FP32 (tensor cores)
        REF.matmul(out.ref(), xr.ref(), REF.weight(w), null);
        out.assertClose("matmul bf16-precision " + dtype + " " + rows + "x" + k + "x" + n);
    }

    @ParameterizedTest(name = "{0}: cuSOLVER syevd eigenpairs")
    @MethodSource("dev.sahara.backend.cuda.CudaTestSupport#backends")
    void symmetricEigenPairs(Supplier<CudaBackend> backend) {
        CudaBackend gpu = backend.get();
        int n = 37;
        Random r = new Random(7);
        double[] a = new double[n * n];
        for (int i = 0; i < n; i++) for (int j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = r.nextGaussian();
        CudaBackend.Eigen e = gpu.symmetricEigen(a, n);
        double trace = 0, sum = 0;
        for (int i = 0; i < n; i++) {
            trace += a[i * n + i];
            sum += e.values()[i];
            if (i > 0) assertTrue(e.values()[i - 1] <= e.values()[i], "eigenvalues ascending");
            double norm = 0;
            for (double v : e.vectors()[i]) norm += v * v;
            assertTrue(Math.abs(norm - 1) < 1e-9, "eigenvector " + i + " has unit length");
        }
        assertTrue(Math.abs(trace - sum) < 1e-9 * n, "sum of eigenvalues = trace");
        for (int j = 0; j < n; j++) {          // A v = λ v for every returned pair
            for (int i = 0; i < n; i++) {
                double av = 0;
                for (int k = 0; k < n; k++) av += a[i * n + k] * e.vectors()[j][k];
                assertTrue(Math.abs(av - e.values()[j] * e.vectors()[j][i]) < 1e-9, "A v = λ v for eigenpair " + j);
            }
        }
    }
}
