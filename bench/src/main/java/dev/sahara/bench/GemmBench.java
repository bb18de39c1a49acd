package dev.sahara.bench;

import dev.sahara.backend.Tensor;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.backend.cpu.CpuWeight;
import dev.sahara.model.DType;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One prefill matmul of the synthetic 110M model, C[T][N] = X[T][K] · W[N][K]ᵀ through CpuBackend.matmul, with
 * the weight in its dtype in anonymous memory. Shapes (K×N): 768×768 = q/k/v/o_proj, 768×2048 = gate/up_proj,
 * 2048×768 = down_proj. GFLOP/s = 2·T·K·N / time (the report computes it).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx3g"})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@State(Scope.Benchmark)
public class GemmBench {
    @Param({"768x768", "768x2048", "2048x768"})
    public String shape;

    @Param({"BF16"})
    public String dtype;

    @Param({"256"})
    public int tokens;

    @Param({"2"})
    public int threads;

    CpuBackend backend;
    CpuWeight weight;
    Tensor x, out;
    Arena arena;

    @Setup(Level.Trial)
    public void setup() {
        int k = Integer.parseInt(shape.split("x")[0]), n = Integer.parseInt(shape.split("x")[1]);
        DType dt = DType.valueOf(dtype);
        arena = Arena.ofShared();
        MemorySegment w = arena.allocate((long) n * k * dt.bytes, 64);
        SplittableRandom r = new SplittableRandom(1);
        for (long i = 0; i < (long) n * k; i++) {
            float v = (float) (r.nextDouble() - 0.5) * 0.07f;
            switch (dt) {
                case F32 -> w.set(ValueLayout.JAVA_FLOAT_UNALIGNED, i * 4, v);
                case BF16 -> w.set(ValueLayout.JAVA_SHORT_UNALIGNED, i * 2, (short) (Float.floatToIntBits(v) >>> 16));
                case F16 -> w.set(ValueLayout.JAVA_SHORT_UNALIGNED, i * 2, Float.floatToFloat16(v));
            }
        }
        backend = new CpuBackend(threads);
        weight = new CpuWeight(w, dt, n, k);
        x = backend.allocate(tokens, k);
        float[] in = new float[tokens * k];
        for (int i = 0; i < in.length; i++) in[i] = (float) r.nextGaussian();
        backend.upload(x, in);
        out = backend.allocate(tokens, n);
        backend.matmul(out, x, weight, null);   // packs the weight once, as the first forward does
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        backend.close();
        arena.close();
    }

    @Benchmark
    public Tensor matmul() {
        backend.matmul(out, x, weight, null);
        return out;
    }
}
