package dev.sahara.backend.cuda;

import dev.sahara.backend.BackendParityTest;
import dev.sahara.backend.BackendParityTest.Pair;
import dev.sahara.backend.Tensor;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.backend.reference.ReferenceBackend;
import dev.sahara.model.DType;
import dev.sahara.model.TensorData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.IntStream;

import static dev.sahara.backend.BackendParityTest.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * The CUDA backend's host code over the emulated device, where the emulation refuses what the driver refuses: launch
 * shapes at CUDA's limits (more than 65,535 rows, zero rows), the RoPE tables kept on the device, the staging ring,
 * and cuBLAS / cuSOLVER handles used and closed from other threads than the one that opened them.
 */
class CudaHostCodeTest {
    static final ReferenceBackend REF = BackendParityTest.REF;
    static final double TOL = BackendParityTest.CUDA_EMULATED.tolerance();
    static final Arena ARENA = Arena.ofShared();

    @AfterAll
    static void close() { ARENA.close(); }

    /** Rows used to go in grid y, which CUDA limits to 65,535: a longer packed batch failed to launch. */
    @Test
    void moreThan65535RowsInEveryRowOp() {
        CudaBackend gpu = CudaTestSupport.emulated();
        int rows = 70_000, cols = 3, vocab = 11;
        Random r = new Random(5);
        TensorData table = BackendParityTest.weight(ARENA, r, DType.BF16, vocab, cols), bias = BackendParityTest.weight(ARENA, r, DType.F16, 1, cols);
        int[] tokens = r.ints(rows, 0, vocab).toArray();
        Pair e = Pair.of(gpu, TOL, new float[rows * cols], rows, cols);
        gpu.embed(e.t(), gpu.weight(table), tokens);
        REF.embed(e.ref(), REF.weight(table), tokens);
        e.assertClose("embed of 70,000 rows");

        Pair x = Pair.of(gpu, TOL, random(r, rows * cols), rows, cols), out = Pair.of(gpu, TOL, new float[rows * cols], rows, cols);
        TensorData w = BackendParityTest.weight(ARENA, r, DType.F32, cols, cols);
        gpu.matmul(out.t(), x.t(), gpu.weight(w), gpu.weight(bias));
        REF.matmul(out.ref(), x.ref(), REF.weight(w), REF.weight(bias));
        out.assertClose("matmul + bias over 70,000 rows");

        int[] picks = IntStream.range(0, rows).map(i -> (int) ((i * 7919L) % rows)).toArray();   // a permutation
        Pair g = Pair.of(gpu, TOL, new float[rows * cols], rows, cols);
        gpu.gatherRows(g.t(), x.t(), picks);
        REF.gatherRows(g.ref(), x.ref(), picks);
        g.assertClose("gatherRows of 70,000 rows");
        gpu.scatterRows(out.t(), picks, g.t());
        REF.scatterRows(out.ref(), picks, g.ref());
        out.assertClose("scatterRows of 70,000 rows");

        int headDim = 2;
        Pair q = Pair.of(gpu, TOL, random(r, rows * 2), rows, 2);
        int[] positions = IntStream.range(0, rows).map(i -> i % 9000).toArray();
        double[] invFreq = {1.0};
        gpu.rope(q.t(), 1, headDim, positions, invFreq);
        REF.rope(q.ref(), 1, headDim, positions, invFreq);
        q.assertClose("rope over 70,000 rows");
    }

    /** An op on zero rows launches nothing (a grid dimension of 0 is an invalid launch). */
    @Test
    void zeroRowsLaunchNothing() {
        CudaBackend gpu = CudaTestSupport.emulated();
        Random r = new Random(1);
        Tensor x = gpu.allocate(0, 8), y = gpu.allocate(0, 8), out = gpu.allocate(0, 5);
        TensorData gamma = BackendParityTest.weight(ARENA, r, DType.F32, 1, 8), w = BackendParityTest.weight(ARENA, r, DType.BF16, 5, 8),
                b = BackendParityTest.weight(ARENA, r, DType.F32, 1, 5), table = BackendParityTest.weight(ARENA, r, DType.F16, 4, 8);
        assertDoesNotThrow(() -> {
            gpu.embed(x, gpu.weight(table), new int[0]);
            gpu.rmsNorm(x, x, gpu.weight(gamma), 1e-5f);
            gpu.matmul(out, x, gpu.weight(w), gpu.weight(b));
            gpu.rope(x, 2, 4, new int[0], new double[] {1, 0.5});
            gpu.swiglu(x, y);
            gpu.add(x, y);
            gpu.copy(y, x);
            gpu.gatherRows(y, x, new int[0]);
            assertTrue(gpu.topK(x, 3, new int[0], new float[0]), "no rows: nothing non-finite");
            gpu.klDivergence(x, y, false, new double[0]);
        });
    }

    /** The device tables hold exactly the CPU backend's cos / sin: rotated vectors are equal bit for bit, also past the first table. */
    @Test
    void ropeTablesGiveTheCpuBackendsBits() {
        CudaBackend gpu = CudaTestSupport.emulated();
        try (CpuBackend cpu = new CpuBackend(1)) {
            int heads = 3, headDim = 10, rows = 40;
            double[] invFreq = new double[headDim / 2];
            for (int i = 0; i < invFreq.length; i++) invFreq[i] = Math.pow(500000, -2.0 * i / headDim);
            Random r = new Random(3);
            for (int maxPos : new int[] {10, 300, 5000, 70}) {         // 300 and 5000 grow the table; 70 reuses it
                float[] data = random(r, rows * heads * headDim);
                int[] positions = r.ints(rows, 0, maxPos).toArray();
                Tensor g = gpu.allocate(rows, heads * headDim), c = cpu.allocate(rows, heads * headDim);
                gpu.upload(g, data);
                cpu.upload(c, data);
                gpu.rope(g, heads, headDim, positions, invFreq);
                cpu.rope(c, heads, headDim, positions, invFreq);
                assertArrayEquals(cpu.download(c), gpu.download(g), "positions below " + maxPos);
            }
        }
    }

    /** Index arrays larger than the staging ring (it grows) and many small ones (it wraps) arrive intact. */
    @Test
    void stagingRingGrowsAndWraps() {
        CudaBackend gpu = CudaTestSupport.emulated();
        int[] big = IntStream.range(0, 1 << 21).map(i -> i * 31).toArray();   // 8 MiB: more than the 4 MiB ring
        assertArrayEquals(big, deviceInts(gpu.stage(big), big.length), "the large array");
        long previous = -1;
        int wraps = 0;
        for (int round = 0; round < 400; round++) {                           // 400 × 200 KB: the ring wraps several times
            int shift = round;
            int[] small = IntStream.range(0, 50_000).map(i -> i + shift).toArray();
            long at = gpu.stage(small);
            if (at < previous) wraps++;
            previous = at;
            assertArrayEquals(small, deviceInts(at, small.length), "round " + round);
        }
        assertTrue(wraps >= 2, "the ring wrapped " + wraps + " times");
    }

    /** The emulated device's memory is host memory: read it back directly. */
    private static int[] deviceInts(long address, int n) {
        return MemorySegment.ofAddress(address).reinterpret(4L * n).toArray(JAVA_INT);
    }

    /** The FFM arenas of the cuBLAS / cuSOLVER bindings were confined: a call or close() from another thread threw WrongThreadException. */
    @Test
    void blasAndSolverWorkFromOtherThreads() throws Exception {
        NativeLibraries.Found lib = EmulatedDevice.library();
        Cublas blas = Cublas.open(lib, 0);
        Cusolver solver = Cusolver.open(lib, 0);
        ExecutorService other = Executors.newSingleThreadExecutor();
        try {
            other.submit(() -> {
                try (Arena a = Arena.ofConfined()) {
                    // out[1, 2] = x[1, 3] · w[2, 3]ᵀ on plain host memory (the emulated device's memory is host memory)
                    var x = a.allocateFrom(JAVA_FLOAT, 1, 2, 3);
                    var w = a.allocateFrom(JAVA_FLOAT, 1, 0, 0, 0, 1, 1);
                    var out = a.allocate(JAVA_FLOAT, 2);
                    blas.matmulRowMajorWt(out.address(), x.address(), w.address(), 1, 3, 2);
                    assertEquals(1f, out.getAtIndex(JAVA_FLOAT, 0));
                    assertEquals(5f, out.getAtIndex(JAVA_FLOAT, 1));
                    var m = a.allocateFrom(JAVA_DOUBLE, 2, 0, 0, 3);
                    var ev = a.allocate(JAVA_DOUBLE, 2);
                    int lwork = solver.workspace(2, m.address(), ev.address());
                    var work = a.allocate(JAVA_DOUBLE, Math.max(1, lwork));
                    var info = a.allocate(JAVA_INT);
                    solver.syevd(2, m.address(), ev.address(), work.address(), lwork, info.address());
                    assertEquals(0, info.get(JAVA_INT, 0), "devInfo");
                    assertEquals(2.0, ev.getAtIndex(JAVA_DOUBLE, 0), 1e-12);
                    assertEquals(3.0, ev.getAtIndex(JAVA_DOUBLE, 1), 1e-12);
                }
                return null;
            }).get();
            other.submit(() -> {
                blas.close();
                solver.close();
                return null;
            }).get();
        } finally {
            other.shutdown();
        }
    }

    /** The emulation registers every entry point the backend launches, and nothing the backend does not know. */
    @Test
    void emulationExportsEveryKernel() {
        List<String> expected = new ArrayList<>();
        for (String family : CudaDevice.FAMILIES) expected.addAll(KernelNames.of(family));
        assertEquals(new TreeSet<>(expected), new TreeSet<>(EmulatedDevice.kernelNames()));
    }
}
