package dev.sahara.backend;

import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.backend.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Backend.klDivergence on the CPU equals the host definition bit for bit, and no score comes out of non-finite logits. */
class DivergenceTest {
    @Test
    void cpuEqualsTheHostDefinitionAndNonFiniteLogitsGiveNaN() {
        SplittableRandom r = new SplittableRandom(4);
        int rows = 4, n = 257;
        float[] p = new float[rows * n], q = new float[rows * n];
        for (int i = 0; i < p.length; i++) {
            p[i] = (float) (r.nextGaussian() * 3);
            q[i] = p[i] + (float) (r.nextGaussian() * 0.3);
        }
        p[2 * n + 5] = -2000f;                        // p underflows to 0 there ...
        q[2 * n + 5] = Float.NEGATIVE_INFINITY;       // ... so a plain sum would skip this −Inf
        q[3 * n + 9] = Float.NaN;
        for (boolean official : new boolean[] {false, true}) {
            for (Backend b : new Backend[] {new CpuBackend(2), new ReferenceBackend()}) {
                try (b) {
                    Tensor pt = b.allocate(rows, n), qt = b.allocate(rows, n);
                    b.upload(pt, p);
                    b.upload(qt, q);
                    double[] out = new double[rows];
                    b.klDivergence(pt, qt, official, out);
                    for (int s = 0; s < 2; s++) {
                        assertEquals(Divergence.kl(p, s * n, q, s * n, n, official), out[s], 0.0, b.name() + " row " + s);
                        assertTrue(out[s] > 0 && Double.isFinite(out[s]));
                    }
                    assertTrue(Double.isNaN(out[2]), b.name() + ": a −Inf logit gives NaN, not a finite score");
                    assertTrue(Double.isNaN(out[3]), b.name() + ": a NaN logit gives NaN");
                }
            }
        }
    }
}
