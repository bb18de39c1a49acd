package dev.sahara.testing;

import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.AblationMode;
import dev.sahara.ablate.HeadId;
import dev.sahara.ablate.ResidualDirection;
import dev.sahara.model.ModelConfig;

import java.util.List;
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

    /**
     * The direction edits the forward tests run on a model: a random direction ablated; added at the last layer's
     * input (coefficient 2); ablated, with another added at layer 0 (−1.5) and a head of the last layer mean-ablated.
     */
    public static List<Ablation> edits(ModelConfig c) {
        int last = c.numLayers() - 1;
        ResidualDirection d = random(c.hiddenSize(), last, 7);
        Ablation ablated = Ablation.none().withDirectionAblated(d), added = Ablation.none().withDirectionAdded(d, 2f);
        Ablation all = ablated.withDirectionAdded(random(c.hiddenSize(), 0, 8), -1.5f).with(new HeadId(last, 1), AblationMode.MEAN_V, 1f);
        return List.of(ablated, added, all);
    }
}
