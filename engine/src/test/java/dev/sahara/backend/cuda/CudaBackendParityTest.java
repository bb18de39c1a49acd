package dev.sahara.backend.cuda;

import dev.sahara.ablate.HeadEdit;
import dev.sahara.backend.AttentionLayout;
import dev.sahara.backend.Backend;
import dev.sahara.backend.Tensor;
import dev.sahara.backend.reference.ReferenceBackend;
import dev.sahara.model.DType;
import dev.sahara.model.TensorData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every CUDA kernel (and the cuBLAS matmul, the cuSOLVER eigensolver) against its Java reference, the
 * double-precision {@link ReferenceBackend}, on random inputs of awkward sizes, for each weight dtype.
 * Tolerance |gpu − ref| ≤ 1e-4 · (1 + |ref|) per element (float32 sums in another order than the CPU's).
 * Skipped, with the reason, where there is no CUDA GPU.
 */
class CudaBackendParityTest {
    static final double TOL = 1e-4;
    static final ReferenceBackend REF = new ReferenceBackend();
    static final Arena ARENA = Arena.ofShared();

    @AfterAll
    static void close() { ARENA.close(); }

    static Stream<Arguments> shapes() {
        // (rows, cols, out, dtype): odd sizes, sizes around warp (32) / block (128, 256) edges
        return Stream.of(DType.values()).flatMap(d -> Stream.of(
                Arguments.of(1, 1, 1, d), Arguments.of(3, 7, 5, d), Arguments.of(9, 33, 31, d),
                Arguments.of(67, 257, 70, d), Arguments.of(130, 129, 300, d)));
    }

    static float[] random(Random r, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) r.nextGaussian();
        return f;
    }

    static TensorData weight(Random r, DType dtype, int rows, int cols) {
        MemorySegment seg = ARENA.allocate((long) rows * cols * dtype.bytes);
        for (int i = 0; i < rows * cols; i++) {
            float v = (float) (r.nextGaussian() * 0.5 + (rows == 1 ? 1 : 0));
            switch (dtype) {
                case F32 -> seg.set(TensorData.F32_LE, i * 4L, v);
                case BF16 -> seg.set(TensorData.I16_LE, i * 2L, (short) (Float.floatToIntBits(v) >>> 16));
                case F16 -> seg.set(TensorData.I16_LE, i * 2L, Float.floatToFloat16(v));
            }
        }
        long[] shape = rows == 1 ? new long[] {cols} : new long[] {rows, cols};
        return new TensorData("w", dtype, shape, seg, Path.of("random"));
    }

    /** The same input on the GPU and in the reference. */
    record Pair(Backend gpu, Tensor g, Tensor ref) {
        static Pair of(Backend gpu, float[] data, int rows, int cols) {
            Pair p = new Pair(gpu, gpu.allocate(rows, cols), REF.allocate(rows, cols));
            gpu.upload(p.g, data);
            REF.upload(p.ref, data);
            return p;
        }

        void assertClose(String what) {
            float[] a = gpu.download(g), b = REF.download(ref);
            for (int i = 0; i < a.length; i++) {
                double err = Math.abs(a[i] - b[i]);
                assertTrue(err <= TOL * (1 + Math.abs(b[i])), what + ": element " + i + " cuda " + a[i] + " ref " + b[i]);
            }
        }
    }

    @ParameterizedTest(name = "matmul {0}x{1} · ({2}x{1})ᵀ {3}")
    @MethodSource("shapes")
    void matmulWithAndWithoutBias(int rows, int k, int n, DType dtype) {
        CudaBackend gpu = CudaTestSupport.backendOrSkip();
        Random r = new Random(rows * 31L + k * 7L + n);
        Pair x = Pair.of(gpu, random(r, rows * k), rows, k);
        TensorData w = weight(r, dtype, n, k), b = weight(r, dtype, 1, n);
        Pair out = Pair.of(gpu, new float[rows * n], rows, n);
        gpu.matmul(out.g, x.g, gpu.weight(w), null);
        REF.matmul(out.ref, x.ref, REF.weight(w), null);
        out.assertClose("matmul " + dtype + " " + rows + "x" + k + "x" + n);
        gpu.matmul(out.g, x.g, gpu.weight(w), gpu.weight(b));
        REF.matmul(out.ref, x.ref, REF.weight(w), REF.weight(b));
        out.assertClose("matmul+bias " + dtype + " " + rows + "x" + k + "x" + n);
    }

    /** kernels/sampling.cu top_k equals TopK.select exactly: ranks, ids and values, ties by lower id; NaN/Inf flagged. */
    @org.junit.jupiter.params.ParameterizedTest(name = "top_k {0} of {1}")
    @org.junit.jupiter.params.provider.CsvSource({"1, 1", "1, 32000", "5, 32000", "40, 1000", "7, 129", "300, 300"})
    void topKEqualsTheHostSelection(int k, int n) {
        CudaBackend gpu = CudaTestSupport.backendOrSkip();
        Random r = new Random(k * 131L + n);
        int rows = 5;
        float[] x = new float[rows * n];
        for (int i = 0; i < x.length; i++) x[i] = r.nextInt(4) == 0 ? (float) r.nextGaussian() : (r.nextInt(9) - 4) * 0.5f;   // many ties
        Tensor g = gpu.allocate(rows, n);
        gpu.upload(g, x);
        int[] ids = new int[rows * k], expectedIds = new int[rows * k];
        float[] values = new float[rows * k], expectedValues = new float[rows * k];
        assertTrue(gpu.topK(g, k, ids, values), "all finite");
        for (int s = 0; s < rows; s++) dev.sahara.backend.TopK.select(x, s * n, n, k, expectedIds, expectedValues, s * k);
        org.junit.jupiter.api.Assertions.assertArrayEquals(expectedIds, ids, "ids");
        org.junit.jupiter.api.Assertions.assertArrayEquals(expectedValues, values, "values");
        x[3 * n + n / 2] = Float.NaN;
        gpu.upload(g, x);
        org.junit.jupiter.api.Assertions.assertFalse(gpu.topK(g, k, ids, values), "a NaN in row 3 is reported");
    }

    /** kernels/divergence.cu kl_divergence against Divergence.kl / officialKl (double sums in another order). */
    @org.junit.jupiter.params.ParameterizedTest(name = "kl_divergence n {0}, official {1}")
    @org.junit.jupiter.params.provider.CsvSource({"1, false", "7, true", "1000, false", "32000, false", "32000, true"})
    void klDivergenceEqualsTheHostDefinition(int n, boolean official) {
        CudaBackend gpu = CudaTestSupport.backendOrSkip();
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
            double expected = dev.sahara.backend.Divergence.kl(p, s * n, q, s * n, n, official);
            assertTrue(Math.abs(out[s] - expected) <= 1e-12 + 1e-9 * Math.abs(expected), "row " + s + ": cuda " + out[s] + " host " + expected);
        }
        q[2 * n + n / 2] = Float.NaN;              // row 2: a NaN; row 3: a −Inf, which a plain sum could skip
        q[3 * n] = Float.NEGATIVE_INFINITY;
        gpu.upload(qg, q);
        gpu.klDivergence(pg, qg, official, out);
        assertTrue(Double.isNaN(out[2]) && Double.isNaN(out[3]), "non-finite logits give NaN: " + out[2] + ", " + out[3]);
        assertTrue(Double.isFinite(out[0]) && Double.isFinite(out[1]), "the other rows are unaffected");
    }

    /** x rounded as narrow_bf16 / narrow_f16 round it (nearest even). */
    static float round16(float v, DType dtype) {
        if (dtype == DType.F16) return Float.float16ToFloat(Float.floatToFloat16(v));
        int u = Float.floatToRawIntBits(v);
        u += 0x7fff + ((u >>> 16) & 1);
        return Float.intBitsToFloat(u & 0xffff0000);
    }

    @ParameterizedTest(name = "matmul --precision bf16 {0}x{1} · ({2}x{1})ᵀ {3}")
    @MethodSource("shapes")
    void matmulWith16BitInputs(int rows, int k, int n, DType dtype) {
        CudaBackend gpu = CudaTestSupport.backendOrSkip();
        Random r = new Random(rows * 37L + k * 11L + n);
        float[] xs = random(r, rows * k), rounded = xs.clone();
        if (dtype != DType.F32) for (int i = 0; i < rounded.length; i++) rounded[i] = round16(xs[i], dtype);
        TensorData w = weight(r, dtype, n, k);
        Tensor xg = gpu.allocate(rows, k), og = gpu.allocate(rows, n);
        gpu.upload(xg, xs);
        Pair out = Pair.of(gpu, new float[rows * n], rows, n), xr = Pair.of(gpu, rounded, rows, k);
        gpu.setPrecision(CudaBackend.Precision.BF16);
        try {
            gpu.matmul(og, xg, gpu.weight(w), null);
        } finally {
            gpu.setPrecision(CudaBackend.Precision.F32);
        }
        gpu.copy(out.g, og);
        // the reference multiplies the rounded inputs in double; the GPU accumulates in FP32 (tensor cores)
        REF.matmul(out.ref, xr.ref, REF.weight(w), null);
        out.assertClose("matmul bf16-precision " + dtype + " " + rows + "x" + k + "x" + n);
    }

    @ParameterizedTest(name = "row ops {0}x{1} {3}")
    @MethodSource("shapes")
    void rowOps(int rows, int cols, int vocab, DType dtype) {
        CudaBackend gpu = CudaTestSupport.backendOrSkip();
        Random r = new Random(rows * 17L + cols);
        Pair x = Pair.of(gpu, random(r, rows * cols), rows, cols), y = Pair.of(gpu, random(r, rows * cols), rows, cols);
        TensorData gamma = weight(r, dtype, 1, cols);
        gpu.rmsNorm(x.g, x.g, gpu.weight(gamma), 1e-5f);
        REF.rmsNorm(x.ref, x.ref, REF.weight(gamma), 1e-5f);
        x.assertClose("rmsNorm " + dtype);
        gpu.swiglu(x.g, y.g);
        REF.swiglu(x.ref, y.ref);
        x.assertClose("swiglu");
        gpu.add(x.g, y.g);
        REF.add(x.ref, y.ref);
        x.assertClose("add");
        Pair c = Pair.of(gpu, new float[rows * cols], rows, cols);
        gpu.copy(c.g, x.g);
        REF.copy(c.ref, x.ref);
        c.assertClose("copy");

        TensorData table = weight(r, dtype, vocab, cols);
        int[] tokens = r.ints(rows, 0, vocab).toArray();
        Pair e = Pair.of(gpu, new float[rows * cols], rows, cols);
        gpu.embed(e.g, gpu.weight(table), tokens);
        REF.embed(e.ref, REF.weight(table), tokens);
        e.assertClose("embed " + dtype);

        int[] picks = r.ints(Math.max(1, rows / 2), 0, rows).distinct().toArray();
        Pair gathered = Pair.of(gpu, new float[picks.length * cols], picks.length, cols);
        gpu.gatherRows(gathered.g, x.g, picks);
        REF.gatherRows(gathered.ref, x.ref, picks);
        gathered.assertClose("gatherRows");
        gpu.scatterRows(y.g, picks, gathered.g);
        REF.scatterRows(y.ref, picks, gathered.ref);
        y.assertClose("scatterRows");
    }

    static Stream<Arguments> heads() {
        // (heads, kvHeads, headDim): MHA, GQA, MQA; head dims below and above one 128-thread tile
        return Stream.of(Arguments.of(4, 4, 16), Arguments.of(8, 2, 64), Arguments.of(6, 1, 130), Arguments.of(32, 8, 128), Arguments.of(2, 2, 256));
    }

    @ParameterizedTest(name = "rope + head edits + attention heads={0} kv={1} d={2}")
    @MethodSource("heads")
    void attentionOverPackedSequences(int heads, int kvHeads, int headDim) {
        CudaBackend gpu = CudaTestSupport.backendOrSkip();
        Random r = new Random(heads * 1000L + kvHeads * 10L + headDim);
        // three sequences: a fresh prompt, one continuing after 300 cached positions (more than two 128-key tiles), one token
        int[] newTokens = {37, 5, 1}, pastLen = {0, 300, 0}, rowStart = {0, 37, 42}, cacheStart = {0, 40, 400};
        AttentionLayout layout = new AttentionLayout(rowStart, newTokens, pastLen, cacheStart);
        int rows = layout.rows(), cacheRows = 401, q = heads * headDim, kv = kvHeads * headDim;
        Pair qq = Pair.of(gpu, random(r, rows * q), rows, q);
        Pair kc = Pair.of(gpu, random(r, cacheRows * kv), cacheRows, kv), vc = Pair.of(gpu, random(r, cacheRows * kv), cacheRows, kv);
        double[] invFreq = new double[headDim / 2];
        for (int i = 0; i < invFreq.length; i++) invFreq[i] = Math.pow(10000, -2.0 * i / headDim);
        gpu.rope(qq.g, heads, headDim, layout.positions(), invFreq);
        REF.rope(qq.ref, heads, headDim, layout.positions(), invFreq);
        qq.assertClose("rope");

        float[] scale = new float[heads];
        boolean[] mean = new boolean[heads];
        java.util.Arrays.fill(scale, 1f);
        scale[0] = 0f;
        if (heads > 1) mean[heads - 1] = true;
        if (heads > 2) scale[1] = 1e-5f;
        HeadEdit edit = new HeadEdit(scale, mean);
        gpu.editHeads(qq.g, headDim, edit);
        REF.editHeads(qq.ref, headDim, edit);
        qq.assertClose("editHeads");

        Pair out = Pair.of(gpu, new float[rows * q], rows, q);
        gpu.attention(out.g, qq.g, kc.g, vc.g, layout, heads, kvHeads, headDim);
        REF.attention(out.ref, qq.ref, kc.ref, vc.ref, layout, heads, kvHeads, headDim);
        out.assertClose("attention heads=" + heads + " kv=" + kvHeads + " d=" + headDim);
    }

    @Test
    void symmetricEigenPairs() {
        CudaBackend gpu = CudaTestSupport.backendOrSkip();
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
