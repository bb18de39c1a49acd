package dev.sahara.backend.cpu;

import dev.sahara.backend.Tensor;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link VectorMath} against StrictMath: the exponential within 2 ulp on its whole domain (x ≤ 0), the vector and the
 * scalar form bit for bit equal, the lane sum in its documented order, and SiLU at magnitudes where e^−g overflows.
 */
class VectorMathTest {
    static final int L = VectorMath.F.length();

    static double ulps(float got, double exact) { return Math.abs(got - exact) / Math.ulp((float) exact); }

    @Test
    void expIsWithinTwoUlpOfStrictMathOnItsDomain() {
        SplittableRandom r = new SplittableRandom(7);
        double worst = 0;
        float[] xs = new float[200_000];
        for (int i = 0; i < xs.length; i++) xs[i] = i < 1000 ? -i * 1e-3f : (float) (r.nextDouble() * VectorMath.EXP_MIN_ARG);
        for (float x : xs) {
            double exact = StrictMath.exp(x);
            if (exact < Float.MIN_NORMAL) continue;
            worst = Math.max(worst, ulps(VectorMath.exp(x), exact));
        }
        assertTrue(worst <= 2, "worst error " + worst + " ulp");
        assertEquals(1f, VectorMath.exp(0f));
        assertEquals(1f, VectorMath.exp(-0f));
        assertEquals(0f, VectorMath.exp(-88f));
        assertEquals(0f, VectorMath.exp(Float.NEGATIVE_INFINITY));
        assertTrue(Float.isNaN(VectorMath.exp(Float.NaN)));
        assertTrue(VectorMath.exp(VectorMath.EXP_MIN_ARG) >= Float.MIN_NORMAL * 0.99f);
    }

    @Test
    void vectorExpEqualsScalarExpBitForBit() {
        SplittableRandom r = new SplittableRandom(11);
        float[] x = new float[L * 4096], y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = switch (i % 7) {
                case 0 -> (float) (-r.nextDouble() * 100);
                case 1 -> Float.NEGATIVE_INFINITY;
                case 2 -> Float.NaN;
                case 3 -> -0f;
                default -> (float) (-r.nextDouble() * 5);
            };
        }
        for (int i = 0; i < x.length; i += L) VectorMath.exp(FloatVector.fromArray(VectorMath.F, x, i)).intoArray(y, i);
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToIntBits(VectorMath.exp(x[i])), Float.floatToIntBits(y[i]), "exp(" + x[i] + ")");
        }
    }

    @Test
    void lanesAreSummedAsAFixedPairwiseTree() {
        float[] v = new float[L];
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < L; i++) v[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(8)));
        float[] t = v.clone();
        for (int w = L / 2; w >= 1; w /= 2) for (int i = 0; i < w; i++) t[i] = t[i] + t[i + w];
        assertEquals(Float.floatToIntBits(t[0]), Float.floatToIntBits(VectorMath.sumLanes(FloatVector.fromArray(VectorMath.F, v, 0))));
    }

    @Test
    void swigluIsExactEnoughWhereTheExponentialWouldOverflow() {
        float[] g = {-1000f, -120f, -89f, -88.5f, -20f, -1e-30f, 0f, 1e-30f, 20f, 88.5f, 89f, 120f, 1000f, -3.5f, 2.25f, -0.75f, 0.5f};
        try (CpuBackend cpu = new CpuBackend(1)) {
            Tensor gate = cpu.allocate(1, g.length), up = cpu.allocate(1, g.length);
            cpu.upload(gate, g);
            float[] ones = new float[g.length];
            java.util.Arrays.fill(ones, 1f);
            cpu.upload(up, ones);
            cpu.swiglu(gate, up);
            float[] out = cpu.download(gate);
            for (int i = 0; i < g.length; i++) {
                double exact = g[i] / (1 + Math.exp(-(double) g[i]));
                // e^g is flushed to 0 below ln(FLT_MIN), so silu(g < −87.34) is 0 where the exact value is below 1e-35
                double tolerance = g[i] < VectorMath.EXP_MIN_ARG ? 1e-35 : 4 * Math.ulp((float) exact) + Float.MIN_NORMAL;
                assertTrue(Math.abs(out[i] - exact) <= tolerance, "silu(" + g[i] + ") = " + out[i] + ", exact " + exact);
            }
        }
    }
}
