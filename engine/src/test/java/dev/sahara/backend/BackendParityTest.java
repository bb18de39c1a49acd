package dev.sahara.backend;

import dev.sahara.ablate.HeadEdit;
import dev.sahara.ablate.ResidualDirection;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.backend.cuda.CudaTestSupport;
import dev.sahara.backend.reference.ReferenceBackend;
import dev.sahara.model.DType;
import dev.sahara.model.TensorData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every backend op against the double-precision {@link ReferenceBackend} on random inputs of awkward sizes, for
 * each weight dtype, once per backend: "cpu" ({@link CpuBackend}, 2 threads), "cuda" (the shared
 * {@code CudaBackend} of {@link CudaTestSupport#backendOrSkip()}; those cases skip, saying "no CUDA GPU: …", where
 * there is none) and "cuda-emulated" (the same CUDA backend over the real kernels compiled for the CPU, which
 * runs everywhere; {@link CudaTestSupport#emulated()}). Tolerance |backend − ref| ≤ tol · (1 + |ref|) per element: 1e-5 for the CPU (float32 rounding of
 * sums of up to a few hundred terms), 1e-4 for CUDA (float32 sums in another order than the CPU's).
 * The CUDA-only ops (top_k, kl_divergence, the --precision bf16 matmul, the cuSOLVER eigensolver) are in
 * {@code dev.sahara.backend.cuda.CudaBackendParityTest}; tools/gpu-check selects this class by name.
 */
public class BackendParityTest {
    public static final ReferenceBackend REF = new ReferenceBackend();
    static final Arena ARENA = Arena.ofShared();
    private static CpuBackend cpu;

    /** A backend under test: its name (the first word of every case's name), its tolerance and how it is opened. */
    public record Target(String name, double tolerance, Supplier<? extends Backend> open) {
        @Override
        public String toString() { return name; }
    }

    public static final Target CPU = new Target("cpu", 1e-5, BackendParityTest::cpu);
    public static final Target CUDA = new Target("cuda", 1e-4, CudaTestSupport::backendOrSkip);
    /** The CUDA backend over the kernels compiled for the CPU (kernels/emulation): runs everywhere, never skips. */
    public static final Target CUDA_EMULATED = new Target("cuda-emulated", 1e-4, CudaTestSupport::emulated);
    static final List<Target> TARGETS = List.of(CPU, CUDA, CUDA_EMULATED);

    private static synchronized CpuBackend cpu() {
        if (cpu == null) cpu = new CpuBackend(2);
        return cpu;
    }

    @AfterAll
    static synchronized void close() {
        if (cpu != null) cpu.close();
        ARENA.close();
    }

    /**
     * (rows, cols, out): odd sizes around the CPU's 8-lane AVX2 width and its tile edges (64 tokens, 32 weights),
     * and sizes around CUDA's warp (32) / block (128, 256) edges. Every backend runs all of them.
     */
    static final int[][] SHAPES = {
            {1, 1, 1}, {3, 7, 5}, {5, 17, 9}, {9, 33, 31}, {67, 45, 70}, {67, 257, 70}, {130, 129, 33}, {130, 129, 300}};

    /** (rows, cols, out, dtype) for every shape and weight dtype. */
    public static Stream<Arguments> shapesAndDtypes() {
        return Stream.of(DType.values()).flatMap(d -> Stream.of(SHAPES).map(s -> Arguments.of(s[0], s[1], s[2], d)));
    }

    static Stream<Arguments> shapes() {
        return TARGETS.stream().flatMap(t -> shapesAndDtypes().map(a -> Arguments.of(prepend(t, a.get()))));
    }

    private static Object[] prepend(Object first, Object[] rest) {
        Object[] all = new Object[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return all;
    }

    public static float[] random(Random r, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) r.nextGaussian();
        return f;
    }

    /** A weight in the given dtype (values rounded to it, so both sides see the same numbers), in {@code arena}. */
    public static TensorData weight(Arena arena, Random r, DType dtype, int rows, int cols) {
        MemorySegment seg = arena.allocate((long) rows * cols * dtype.bytes);
        for (int i = 0; i < rows * cols; i++) {
            float v = (float) (r.nextGaussian() * 0.5 + (cols == 1 || rows == 1 ? 1 : 0));
            switch (dtype) {
                case F32 -> seg.set(TensorData.F32_LE, i * 4L, v);
                case BF16 -> seg.set(TensorData.I16_LE, i * 2L, (short) (Float.floatToIntBits(v) >>> 16));
                case F16 -> seg.set(TensorData.I16_LE, i * 2L, Float.floatToFloat16(v));
            }
        }
        long[] shape = rows == 1 ? new long[] {cols} : new long[] {rows, cols};
        return new TensorData("w", dtype, shape, seg, Path.of("random"));
    }

    static TensorData weight(Random r, DType dtype, int rows, int cols) { return weight(ARENA, r, dtype, rows, cols); }

    /** The same input in the backend under test ({@code t}) and in the reference ({@code ref}). */
    public record Pair(Backend backend, double tolerance, Tensor t, Tensor ref) {
        public static Pair of(Backend backend, double tolerance, float[] data, int rows, int cols) {
            Pair p = new Pair(backend, tolerance, backend.allocate(rows, cols), REF.allocate(rows, cols));
            backend.upload(p.t, data);
            REF.upload(p.ref, data);
            return p;
        }

        /** |backend − ref| ≤ tolerance · (1 + |ref|) for every element. */
        public void assertClose(String what) {
            float[] a = backend.download(t), b = REF.download(ref);
            for (int i = 0; i < a.length; i++) {
                double err = Math.abs(a[i] - b[i]);
                assertTrue(err <= tolerance * (1 + Math.abs(b[i])), what + ": element " + i + " " + backend.name() + " " + a[i] + " ref " + b[i]);
            }
        }
    }

    /** One case's backend (opened, or the case skipped) and its pairs. */
    private record Run(Backend b, double tol) {
        static Run of(Target target) { return new Run(target.open().get(), target.tolerance()); }

        Pair pair(float[] data, int rows, int cols) { return Pair.of(b, tol, data, rows, cols); }
    }

    @ParameterizedTest(name = "{0}: matmul {1}x{2} · ({3}x{2})ᵀ {4}")
    @MethodSource("shapes")
    void matmulWithAndWithoutBias(Target target, int rows, int k, int n, DType dtype) {
        Run run = Run.of(target);
        Backend b = run.b;
        Random r = new Random(rows * 31L + k * 7L + n);
        Pair x = run.pair(random(r, rows * k), rows, k);
        TensorData w = weight(r, dtype, n, k), bias = weight(r, dtype, 1, n);
        Pair out = run.pair(new float[rows * n], rows, n);
        b.matmul(out.t, x.t, b.weight(w), null);
        REF.matmul(out.ref, x.ref, REF.weight(w), null);
        out.assertClose("matmul " + dtype + " " + rows + "x" + k + "x" + n);
        b.matmul(out.t, x.t, b.weight(w), b.weight(bias));
        REF.matmul(out.ref, x.ref, REF.weight(w), REF.weight(bias));
        out.assertClose("matmul+bias " + dtype + " " + rows + "x" + k + "x" + n);
    }

    @ParameterizedTest(name = "{0}: row ops {1}x{2}, embedding table {3}x{2} {4}")
    @MethodSource("shapes")
    void rowOps(Target target, int rows, int cols, int vocab, DType dtype) {
        Run run = Run.of(target);
        Backend b = run.b;
        Random r = new Random(rows * 17L + cols);
        Pair x = run.pair(random(r, rows * cols), rows, cols), y = run.pair(random(r, rows * cols), rows, cols);
        TensorData gamma = weight(r, dtype, 1, cols);
        b.rmsNorm(x.t, x.t, b.weight(gamma), 1e-5f);
        REF.rmsNorm(x.ref, x.ref, REF.weight(gamma), 1e-5f);
        x.assertClose("rmsNorm " + dtype);
        b.swiglu(x.t, y.t);
        REF.swiglu(x.ref, y.ref);
        x.assertClose("swiglu");
        b.add(x.t, y.t);
        REF.add(x.ref, y.ref);
        x.assertClose("add");
        Pair c = run.pair(new float[rows * cols], rows, cols);
        b.copy(c.t, x.t);
        REF.copy(c.ref, x.ref);
        c.assertClose("copy");

        // the refusal-direction edits: a unit row projected out of every row, then a row added to every row
        Pair unit = run.pair(new ResidualDirection(0, -1, random(r, cols), "random").unit(), 1, cols), row = run.pair(random(r, cols), 1, cols);
        b.projectOut(x.t, unit.t);
        b.addRow(x.t, row.t);
        REF.projectOut(x.ref, unit.ref);
        REF.addRow(x.ref, row.ref);
        x.assertClose("projectOut, then addRow");

        TensorData table = weight(r, dtype, vocab, cols);
        int[] tokens = r.ints(rows, 0, vocab).toArray();
        Pair e = run.pair(new float[rows * cols], rows, cols);
        b.embed(e.t, b.weight(table), tokens);
        REF.embed(e.ref, REF.weight(table), tokens);
        e.assertClose("embed " + dtype);

        // rows picked at random (repeats allowed) gathered from y, then scattered to distinct rows of y (last first)
        int[] pick = r.ints(Math.max(1, rows / 2), 0, rows).toArray();
        Pair g = run.pair(new float[pick.length * cols], pick.length, cols);
        b.gatherRows(g.t, y.t, pick);
        REF.gatherRows(g.ref, y.ref, pick);
        g.assertClose("gatherRows");
        int[] distinct = IntStream.range(0, rows).limit(pick.length).map(i -> rows - 1 - i).toArray();
        b.scatterRows(y.t, distinct, g.t);
        REF.scatterRows(y.ref, distinct, g.ref);
        y.assertClose("scatterRows");
        // the same picks without repeats gathered from x, then scattered back to those rows of y
        int[] picks = IntStream.of(pick).distinct().toArray();
        Pair gathered = run.pair(new float[picks.length * cols], picks.length, cols);
        b.gatherRows(gathered.t, x.t, picks);
        REF.gatherRows(gathered.ref, x.ref, picks);
        gathered.assertClose("gatherRows (distinct)");
        b.scatterRows(y.t, picks, gathered.t);
        REF.scatterRows(y.ref, picks, gathered.ref);
        y.assertClose("scatterRows (to the picked rows)");
    }

    static Stream<Arguments> packedShapes() {
        // (heads, kvHeads, headDim, sequence lengths packed together): tiny and odd head dims, MHA / GQA / MQA
        Stream<Arguments> shapes = Stream.of(Arguments.of(1, 1, 2, new int[] {1}), Arguments.of(4, 4, 6, new int[] {3, 1, 5}),
                Arguments.of(6, 2, 10, new int[] {7, 13}), Arguments.of(8, 2, 17, new int[] {1, 2, 9, 33}),
                Arguments.of(4, 1, 64, new int[] {70}));
        List<Arguments> list = shapes.toList();
        return TARGETS.stream().flatMap(t -> list.stream().map(a -> Arguments.of(prepend(t, a.get()))));
    }

    /** Fresh prompts packed together, their K / V rotated and scattered into a cache laid out with gaps. */
    @ParameterizedTest(name = "{0}: rope + head edits + attention, packed prompts, heads={1} kv={2} d={3}")
    @MethodSource("packedShapes")
    void ropeEditAttentionOverPackedPrompts(Target target, int heads, int kvHeads, int headDim, int[] lens) {
        Run run = Run.of(target);
        Backend b = run.b;
        Random r = new Random(heads * 101L + headDim);
        int seqs = lens.length, rowsTotal = 0;
        int[] start = new int[seqs];
        for (int s = 0; s < seqs; s++) {
            start[s] = rowsTotal;
            rowsTotal += lens[s];
        }
        // two sequences share nothing; the cache is laid out with gaps to test cacheStart
        int[] cacheStart = new int[seqs];
        int cacheRows = 0;
        for (int s = 0; s < seqs; s++) {
            cacheStart[s] = cacheRows;
            cacheRows += lens[s] + 3;
        }
        AttentionLayout layout = new AttentionLayout(start, lens, new int[seqs], cacheStart);
        int qCols = heads * headDim, kvCols = kvHeads * headDim;
        Pair q = run.pair(random(r, rowsTotal * qCols), rowsTotal, qCols);
        Pair k = run.pair(random(r, rowsTotal * kvCols), rowsTotal, kvCols);
        Pair v = run.pair(random(r, rowsTotal * kvCols), rowsTotal, kvCols);
        double[] invFreq = new double[headDim / 2];
        for (int i = 0; i < invFreq.length; i++) invFreq[i] = 1.0 / Math.pow(10000, 2.0 * i / headDim);
        int[] pos = layout.positions();
        b.rope(q.t, heads, headDim, pos, invFreq);
        REF.rope(q.ref, heads, headDim, pos, invFreq);
        q.assertClose("rope q");
        b.rope(k.t, kvHeads, headDim, pos, invFreq);
        REF.rope(k.ref, kvHeads, headDim, pos, invFreq);
        k.assertClose("rope k");

        HeadEdit edit = HeadEdit.identity(heads);
        edit.scale()[0] = 1e-5f;
        edit.mean()[heads - 1] = true;
        if (heads > 2) edit.scale()[1] = 0f;
        b.editHeads(q.t, headDim, edit);
        REF.editHeads(q.ref, headDim, edit);
        q.assertClose("editHeads");

        Pair kc = run.pair(new float[cacheRows * kvCols], cacheRows, kvCols), vc = run.pair(new float[cacheRows * kvCols], cacheRows, kvCols);
        int[] rows = layout.cacheRows();
        b.scatterRows(kc.t, rows, k.t);
        REF.scatterRows(kc.ref, rows, k.ref);
        b.scatterRows(vc.t, rows, v.t);
        REF.scatterRows(vc.ref, rows, v.ref);
        Pair out = run.pair(new float[rowsTotal * qCols], rowsTotal, qCols);
        b.attention(out.t, q.t, kc.t, vc.t, layout, heads, kvHeads, headDim);
        REF.attention(out.ref, q.ref, kc.ref, vc.ref, layout, heads, kvHeads, headDim);
        out.assertClose("attention heads=" + heads + " kv=" + kvHeads + " hd=" + headDim);
    }

    static Stream<Arguments> heads() {
        // (heads, kvHeads, headDim): MHA, GQA, MQA; head dims below and above one 128-thread tile
        List<int[]> heads = List.of(new int[] {4, 4, 16}, new int[] {8, 2, 64}, new int[] {6, 1, 130}, new int[] {32, 8, 128}, new int[] {2, 2, 256});
        return TARGETS.stream().flatMap(t -> heads.stream().map(h -> Arguments.of(t, h[0], h[1], h[2])));
    }

    /** A fresh prompt, one sequence continuing after 300 cached positions (more than two 128-key tiles), one token. */
    @ParameterizedTest(name = "{0}: rope + head edits + attention, after cached positions, heads={1} kv={2} d={3}")
    @MethodSource("heads")
    void attentionOverPackedSequences(Target target, int heads, int kvHeads, int headDim) {
        Run run = Run.of(target);
        Backend b = run.b;
        Random r = new Random(heads * 1000L + kvHeads * 10L + headDim);
        int[] newTokens = {37, 5, 1}, pastLen = {0, 300, 0}, rowStart = {0, 37, 42}, cacheStart = {0, 40, 400};
        AttentionLayout layout = new AttentionLayout(rowStart, newTokens, pastLen, cacheStart);
        int rows = layout.rows(), cacheRows = 401, q = heads * headDim, kv = kvHeads * headDim;
        Pair qq = run.pair(random(r, rows * q), rows, q);
        Pair kc = run.pair(random(r, cacheRows * kv), cacheRows, kv), vc = run.pair(random(r, cacheRows * kv), cacheRows, kv);
        double[] invFreq = new double[headDim / 2];
        for (int i = 0; i < invFreq.length; i++) invFreq[i] = Math.pow(10000, -2.0 * i / headDim);
        b.rope(qq.t, heads, headDim, layout.positions(), invFreq);
        REF.rope(qq.ref, heads, headDim, layout.positions(), invFreq);
        qq.assertClose("rope");

        float[] scale = new float[heads];
        boolean[] mean = new boolean[heads];
        Arrays.fill(scale, 1f);
        scale[0] = 0f;
        if (heads > 1) mean[heads - 1] = true;
        if (heads > 2) scale[1] = 1e-5f;
        HeadEdit edit = new HeadEdit(scale, mean);
        b.editHeads(qq.t, headDim, edit);
        REF.editHeads(qq.ref, headDim, edit);
        qq.assertClose("editHeads");

        Pair out = run.pair(new float[rows * q], rows, q);
        b.attention(out.t, qq.t, kc.t, vc.t, layout, heads, kvHeads, headDim);
        REF.attention(out.ref, qq.ref, kc.ref, vc.ref, layout, heads, kvHeads, headDim);
        out.assertClose("attention heads=" + heads + " kv=" + kvHeads + " d=" + headDim);
    }
}
