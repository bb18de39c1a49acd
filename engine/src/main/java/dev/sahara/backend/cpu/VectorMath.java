package dev.sahara.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The two float functions the CPU backend's inner loops need besides multiply-add, written with IEEE basic
 * operations only (add, multiply, fused multiply-add, bit moves), so they give the same bits in the interpreter and
 * in every JIT tier — which {@code lanewise(EXP)} and {@code reduceLanes(ADD)} do not promise. exp gives the same
 * bits on every lane width too; a lane sum's tree follows the width, so callers that must not depend on it keep a
 * fixed number of partial sums (see {@code CpuBackend.dot}). {@link StrictMath#exp} is exact to the last bit too but costs ~10 ns a call: for a 4096-token
 * forward's SwiGLU that was 15 % of the time.
 */
final class VectorMath {
    static final VectorSpecies<Float> F = WeightDecoder.F;
    private static final int L = F.length();

    /** Below ln(FLT_MIN) the result would be subnormal: flushed to 0 (an absolute error under 1.2e-38). */
    static final float EXP_MIN_ARG = -87.33654f;
    private static final float LOG2E = 1.44269504088896341f;
    /** ln 2 split so that n · LN2_HI is exact for |n| ≤ 127 (Cody–Waite). */
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    /** 1.5 · 2²³: adding it rounds a float of magnitude < 2²² to an integer, held in the low mantissa bits. */
    private static final float ROUND = 12582912f;
    private static final int ROUND_BITS = 0x4B400000;
    /** Minimax polynomial for (eʳ − 1 − r) / r² on |r| ≤ ln2 / 2 (Cephes expf; relative error of eʳ under 2⁻²³). */
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
            P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    /** Lane permutations for {@link #sumLanes}: step s moves lane i + L/2^(s+1) onto lane i. */
    private static final VectorShuffle<Float> FOLD_HALF = fold(L / 2), FOLD_QUARTER = fold(Math.max(1, L / 4)),
            FOLD_EIGHTH = fold(Math.max(1, L / 8)), FOLD_SIXTEENTH = fold(Math.max(1, L / 16));

    private VectorMath() {}

    private static VectorShuffle<Float> fold(int by) { return VectorShuffle.fromOp(F, i -> (i + by) % L); }

    /**
     * eˣ for x ≤ 0 (and NaN → NaN), within 2 ulp of the exact value; 0 below {@link #EXP_MIN_ARG}. Callers keep the
     * argument non-positive (softmax subtracts the maximum; SiLU uses e^−|g|), so nothing can overflow.
     */
    static float exp(float x) {
        float c = Math.max(x, EXP_MIN_ARG);          // NaN stays NaN
        float t = c * LOG2E + ROUND;
        float n = t - ROUND;                          // round(x · log2 e), exactly
        float r = Math.fma(n, -LN2_LO, Math.fma(n, -LN2_HI, c));
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(P0, r, P1), r, P2), r, P3), r, P4), r, P5);
        float e = Math.fma(p, r * r, r) + 1f;
        float scale = Float.intBitsToFloat((Float.floatToRawIntBits(t) - ROUND_BITS + 127) << 23);
        return x < EXP_MIN_ARG ? 0f : e * scale;
    }

    /** {@link #exp(float)} on every lane: the same operations, so the same bits. */
    static FloatVector exp(FloatVector x) {
        FloatVector c = x.max(EXP_MIN_ARG);
        FloatVector t = c.mul(LOG2E).add(ROUND);
        FloatVector n = t.sub(ROUND);
        FloatVector r = n.fma(bc(-LN2_LO), n.fma(bc(-LN2_HI), c));
        FloatVector p = bc(P0).fma(r, bc(P1)).fma(r, bc(P2)).fma(r, bc(P3)).fma(r, bc(P4)).fma(r, bc(P5));
        FloatVector e = p.fma(r.mul(r), r).add(1f);
        FloatVector scale = ((IntVector) t.reinterpretAsInts()).sub(ROUND_BITS - 127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return e.mul(scale).blend(0f, x.compare(VectorOperators.LT, EXP_MIN_ARG));
    }

    private static FloatVector bc(float v) { return FloatVector.broadcast(F, v); }

    /** The sum of a vector's lanes as a fixed pairwise tree (lane i + L/2 onto lane i, then + L/4, …). */
    static float sumLanes(FloatVector v) {
        if (L >= 2) v = v.add(v.rearrange(FOLD_HALF));
        if (L >= 4) v = v.add(v.rearrange(FOLD_QUARTER));
        if (L >= 8) v = v.add(v.rearrange(FOLD_EIGHTH));
        if (L >= 16) v = v.add(v.rearrange(FOLD_SIXTEENTH));
        for (int w = L / 32; w >= 1; w /= 2) v = v.add(v.rearrange(fold(w)));   // wider than 512 bits: not on any CPU today
        return v.lane(0);
    }
}
