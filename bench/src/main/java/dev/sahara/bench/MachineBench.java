package dev.sahara.bench;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The machine's limits, measured with the same JVM and Vector API as the engine.
 * <ul>
 *   <li>fma*: a kernel that saturates the FMA units — 12 independent vector FMA chains (enough to cover the FMA
 *       latency × 2 pipes), no memory traffic. One op = {@link #FMA_STEPS} steps × 12 FMAs × lanes × 2 flop.</li>
 *   <li>read*: streaming read bandwidth, each thread summing its own 256 MiB array (8× the L3). One op reads
 *       {@link #READ_FLOATS} × 4 bytes: the access pattern of decoding, which streams every weight once.</li>
 *   <li>triad*: STREAM triad a = b + s·c on three 64 MiB arrays per thread; one op moves 3 × 64 MiB (STREAM's count).</li>
 * </ul>
 * Throughput with {@code @Threads(2)} is the sum over both threads.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx3g"})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class MachineBench {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    public static final int FMA_STEPS = 1 << 16;
    public static final int READ_FLOATS = 1 << 26;
    public static final int TRIAD_FLOATS = 1 << 24;

    @State(Scope.Thread)
    public static class Fma {
        float m = 0.999999f, d = 1e-7f;
    }

    @State(Scope.Thread)
    public static class Stream {
        float[] a, b, c;

        @Setup
        public void setup() {
            a = new float[READ_FLOATS];
            for (int i = 0; i < a.length; i++) a[i] = i & 1023;
            b = new float[TRIAD_FLOATS];
            c = new float[TRIAD_FLOATS];
            for (int i = 0; i < b.length; i++) {
                b[i] = i & 511;
                c[i] = i & 255;
            }
        }
    }

    static float fma(Fma s) {
        FloatVector m = FloatVector.broadcast(F, s.m), d = FloatVector.broadcast(F, s.d);
        FloatVector a0 = FloatVector.broadcast(F, 1f), a1 = a0.add(d), a2 = a1.add(d), a3 = a2.add(d), a4 = a3.add(d), a5 = a4.add(d),
                a6 = a5.add(d), a7 = a6.add(d), a8 = a7.add(d), a9 = a8.add(d), a10 = a9.add(d), a11 = a10.add(d);
        for (int i = 0; i < FMA_STEPS; i++) {
            a0 = a0.fma(m, d);
            a1 = a1.fma(m, d);
            a2 = a2.fma(m, d);
            a3 = a3.fma(m, d);
            a4 = a4.fma(m, d);
            a5 = a5.fma(m, d);
            a6 = a6.fma(m, d);
            a7 = a7.fma(m, d);
            a8 = a8.fma(m, d);
            a9 = a9.fma(m, d);
            a10 = a10.fma(m, d);
            a11 = a11.fma(m, d);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11).lane(0);
    }

    static float read(float[] a) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        int L = F.length();
        for (int i = 0; i < a.length; i += 4 * L) {
            s0 = s0.add(FloatVector.fromArray(F, a, i));
            s1 = s1.add(FloatVector.fromArray(F, a, i + L));
            s2 = s2.add(FloatVector.fromArray(F, a, i + 2 * L));
            s3 = s3.add(FloatVector.fromArray(F, a, i + 3 * L));
        }
        return s0.add(s1).add(s2).add(s3).lane(0);
    }

    static float triad(Stream s) {
        FloatVector k = FloatVector.broadcast(F, 3f);
        int L = F.length();
        float[] b = s.b, c = s.c, out = s.a;   // writes into the first TRIAD_FLOATS of the read array
        for (int i = 0; i < TRIAD_FLOATS; i += L) k.fma(FloatVector.fromArray(F, c, i), FloatVector.fromArray(F, b, i)).intoArray(out, i);
        return out[17];
    }

    @Benchmark
    @Threads(1)
    public float fma1Thread(Fma s) { return fma(s); }

    @Benchmark
    @Threads(2)
    public float fma2Threads(Fma s) { return fma(s); }

    @Benchmark
    @Threads(2)
    public float read2Threads(Stream s) { return read(s.a); }

    @Benchmark
    @Threads(2)
    public float triad2Threads(Stream s) { return triad(s); }
}
