package dev.sahara.backend;

import dev.sahara.ablate.HeadEdit;
import dev.sahara.backend.cpu.CpuBackend;
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
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every CPU op against the double-precision reference on random inputs of awkward sizes (odd lengths, not
 * multiples of the vector width), for each weight dtype. Tolerance: |cpu − ref| ≤ 1e-5 · (1 + |ref|) per
 * element, i.e. float32 rounding of sums of up to a few hundred terms.
 */
class CpuBackendParityTest {
    static final double TOL = 1e-5;
    static final CpuBackend CPU = new CpuBackend(2);
    static final ReferenceBackend REF = new ReferenceBackend();
    static final Arena ARENA = Arena.ofShared();

    @AfterAll
    static void close() {
        CPU.close();
        ARENA.close();
    }

    static Stream<Arguments> shapes() {
        // (rows, cols, out, dtype): odd sizes around the 8-lane AVX2 width, and tile edges (64 tokens, 32 weights)
        return Stream.of(DType.values()).flatMap(d -> Stream.of(
                Arguments.of(1, 1, 1, d), Arguments.of(3, 7, 5, d), Arguments.of(5, 17, 9, d), Arguments.of(9, 33, 31, d),
                Arguments.of(67, 45, 70, d), Arguments.of(130, 129, 33, d)));
    }

    static float[] random(Random r, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) r.nextGaussian();
        return f;
    }

    /** A weight in the given dtype (values rounded to it, so both backends see the same numbers). */
    static TensorData weight(Random r, DType dtype, int rows, int cols) {
        MemorySegment seg = ARENA.allocate((long) rows * cols * dtype.bytes);
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

    /** The same input uploaded to both backends. */
    record Pair(Tensor cpu, Tensor ref) {
        static Pair of(float[] data, int rows, int cols) {
            Pair p = new Pair(CPU.allocate(rows, cols), REF.allocate(rows, cols));
            CPU.upload(p.cpu, data);
            REF.upload(p.ref, data);
            return p;
        }

        void assertClose(String what) {
            float[] a = CPU.download(cpu), b = REF.download(ref);
            for (int i = 0; i < a.length; i++) {
                double err = Math.abs(a[i] - b[i]);
                assertTrue(err <= TOL * (1 + Math.abs(b[i])), what + ": element " + i + " cpu " + a[i] + " ref " + b[i]);
            }
        }
    }

    @ParameterizedTest(name = "matmul {0}x{1} · ({2}x{1})ᵀ {3}")
    @MethodSource("shapes")
    void matmulWithAndWithoutBias(int rows, int k, int n, DType dtype) {
        Random r = new Random(rows * 31L + k * 7L + n);
        Pair x = Pair.of(random(r, rows * k), rows, k);
        TensorData w = weight(r, dtype, n, k), b = weight(r, dtype, 1, n);
        Pair out = Pair.of(new float[rows * n], rows, n);
        CPU.matmul(out.cpu, x.cpu, CPU.weight(w), null);
        REF.matmul(out.ref, x.ref, REF.weight(w), null);
        out.assertClose("matmul " + dtype + " " + rows + "x" + k + "x" + n);
        CPU.matmul(out.cpu, x.cpu, CPU.weight(w), CPU.weight(b));
        REF.matmul(out.ref, x.ref, REF.weight(w), REF.weight(b));
        out.assertClose("matmul+bias " + dtype + " " + rows + "x" + k + "x" + n);
    }

    @ParameterizedTest(name = "elementwise {0}x{1} {3}")
    @MethodSource("shapes")
    void rowOps(int rows, int cols, int vocab, DType dtype) {
        Random r = new Random(rows * 17L + cols);
        float[] data = random(r, rows * cols);
        Pair x = Pair.of(data, rows, cols), y = Pair.of(random(r, rows * cols), rows, cols);
        TensorData gamma = weight(r, dtype, 1, cols);
        CPU.rmsNorm(x.cpu, x.cpu, CPU.weight(gamma), 1e-5f);
        REF.rmsNorm(x.ref, x.ref, REF.weight(gamma), 1e-5f);
        x.assertClose("rmsNorm " + dtype);
        CPU.swiglu(x.cpu, y.cpu);
        REF.swiglu(x.ref, y.ref);
        x.assertClose("swiglu");
        CPU.add(x.cpu, y.cpu);
        REF.add(x.ref, y.ref);
        x.assertClose("add");

        TensorData table = weight(r, dtype, vocab, cols);
        int[] tokens = r.ints(rows, 0, vocab).toArray();
        Pair e = Pair.of(new float[rows * cols], rows, cols);
        CPU.embed(e.cpu, CPU.weight(table), tokens);
        REF.embed(e.ref, REF.weight(table), tokens);
        e.assertClose("embed " + dtype);

        int[] pick = r.ints(Math.max(1, rows / 2), 0, rows).toArray();
        Pair g = Pair.of(new float[pick.length * cols], pick.length, cols);
        CPU.gatherRows(g.cpu, y.cpu, pick);
        REF.gatherRows(g.ref, y.ref, pick);
        g.assertClose("gatherRows");
        int[] distinct = java.util.stream.IntStream.range(0, rows).limit(pick.length).map(i -> rows - 1 - i).toArray();
        CPU.scatterRows(y.cpu, distinct, g.cpu);
        REF.scatterRows(y.ref, distinct, g.ref);
        y.assertClose("scatterRows");
    }

    static Stream<Arguments> attentionShapes() {
        // (heads, kvHeads, headDim, sequence lengths packed together)
        return Stream.of(Arguments.of(1, 1, 2, new int[] {1}), Arguments.of(4, 4, 6, new int[] {3, 1, 5}),
                Arguments.of(6, 2, 10, new int[] {7, 13}), Arguments.of(8, 2, 17, new int[] {1, 2, 9, 33}),
                Arguments.of(4, 1, 64, new int[] {70}));
    }

    @ParameterizedTest(name = "attention heads={0} kv={1} hd={2}")
    @MethodSource("attentionShapes")
    void ropeEditAttention(int heads, int kvHeads, int headDim, int[] lens) {
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
        Pair q = Pair.of(random(r, rowsTotal * qCols), rowsTotal, qCols);
        Pair k = Pair.of(random(r, rowsTotal * kvCols), rowsTotal, kvCols);
        Pair v = Pair.of(random(r, rowsTotal * kvCols), rowsTotal, kvCols);
        double[] invFreq = new double[headDim / 2];
        for (int i = 0; i < invFreq.length; i++) invFreq[i] = 1.0 / Math.pow(10000, 2.0 * i / headDim);
        int[] pos = layout.positions();
        CPU.rope(q.cpu, heads, headDim, pos, invFreq);
        REF.rope(q.ref, heads, headDim, pos, invFreq);
        q.assertClose("rope q");
        CPU.rope(k.cpu, kvHeads, headDim, pos, invFreq);
        REF.rope(k.ref, kvHeads, headDim, pos, invFreq);
        k.assertClose("rope k");

        HeadEdit edit = HeadEdit.identity(heads);
        edit.scale()[0] = 1e-5f;
        edit.mean()[heads - 1] = true;
        if (heads > 2) edit.scale()[1] = 0f;
        CPU.editHeads(q.cpu, headDim, edit);
        REF.editHeads(q.ref, headDim, edit);
        q.assertClose("editHeads");

        Pair kc = Pair.of(new float[cacheRows * kvCols], cacheRows, kvCols), vc = Pair.of(new float[cacheRows * kvCols], cacheRows, kvCols);
        int[] rows = layout.cacheRows();
        CPU.scatterRows(kc.cpu, rows, k.cpu);
        REF.scatterRows(kc.ref, rows, k.ref);
        CPU.scatterRows(vc.cpu, rows, v.cpu);
        REF.scatterRows(vc.ref, rows, v.ref);
        Pair out = Pair.of(new float[rowsTotal * qCols], rowsTotal, qCols);
        CPU.attention(out.cpu, q.cpu, kc.cpu, vc.cpu, layout, heads, kvHeads, headDim);
        REF.attention(out.ref, q.ref, kc.ref, vc.ref, layout, heads, kvHeads, headDim);
        out.assertClose("attention heads=" + heads + " kv=" + kvHeads + " hd=" + headDim);
    }
}
