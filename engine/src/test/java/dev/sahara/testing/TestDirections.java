package dev.sahara.testing;

import dev.sahara.ablate.ResidualDirection;

import java.util.Random;

/** Residual-stream directions for tests: random (seeded) ones and basis vectors. */
public final class TestDirections {
    private TestDirections() {}

    /** A Gaussian direction of {@code dim} values, raw norm about √dim, at {@code layer}, position -1. */
    public static ResidualDirection random(int dim, int layer, long seed) {
        Random r = new Random(seed);
        float[] v = new float[dim];
        for (int i = 0; i < dim; i++) v[i] = (float) r.nextGaussian();
        return new ResidualDirection(layer, -1, v, "random(seed " + seed + ")");
    }

    /** The basis vector e_k: its unit is exactly itself. */
    public static ResidualDirection basis(int dim, int k, int layer) {
        float[] v = new float[dim];
        v[k] = 1f;
        return new ResidualDirection(layer, -1, v, "e" + k);
    }
}
