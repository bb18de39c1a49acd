package dev.sahara.backend.cpu;

import jdk.incubator.vector.FloatVector;

/**
 * Horizontal sums in a fixed order. {@code reduceLanes(ADD)} may add float lanes in any order, and the
 * interpreter and the JIT tiers do differ, which made the same forward give different last bits.
 */
final class Lanes {
    private Lanes() {}

    static float sum(FloatVector v) {
        float[] lanes = v.toArray();
        float s = 0;
        for (float x : lanes) s += x;
        return s;
    }
}
