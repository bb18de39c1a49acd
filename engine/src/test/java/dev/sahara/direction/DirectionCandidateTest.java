package dev.sahara.direction;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DirectionCandidateTest {
    static final DirectionCandidate.Filters F = new DirectionCandidate.Filters(0.1, 0.8, 10);   // layers 0-7 allowed

    static DirectionCandidate c(int layer, int position, double bypass, double induce, double kl) {
        return new DirectionCandidate(layer, position, new float[] {1}, bypass, induce, kl);
    }

    @Test
    void eachFilterIsNamed() {
        assertEquals(List.of(), c(3, -1, -5, 0.5, 0.05).failed(F));
        assertEquals(List.of("induce"), c(3, -1, -5, 0, 0.05).failed(F), "induce must be > 0, not >= 0");
        assertEquals(List.of("kl"), c(3, -1, -5, 1, 0.1000001).failed(F));
        assertEquals(List.of(), c(3, -1, -5, 1, 0.1).failed(F), "KL equal to the bound passes");
        assertEquals(List.of("layer"), c(8, -1, -5, 1, 0).failed(F), "8 is not < 0.8 · 10");
        assertEquals(List.of("not_scored", "induce", "kl"), c(1, -1, Double.NaN, Double.NaN, Double.NaN).failed(F));
        assertEquals(List.of("induce", "kl", "layer"), c(9, -2, -5, -1, 3).failed(F));
    }

    @Test
    void theLowestBypassAmongThosePassingIsChosenTiesToTheLowerLayerThenTheLaterPosition() {
        List<DirectionCandidate> cs = List.of(c(9, -1, -50, 1, 0), c(2, -1, -40, -1, 0), c(4, -2, -7, 1, 0), c(4, -1, -7, 1, 0), c(5, -1, -7, 1, 0),
                c(3, -3, -6, 1, 0));
        DirectionCandidate chosen = DirectionCandidate.choose(cs, F).orElseThrow();
        assertEquals(4, chosen.layer());
        assertEquals(-1, chosen.position());
        assertTrue(DirectionCandidate.choose(List.of(c(9, -1, -50, 1, 0), c(2, -1, -40, -1, 0)), F).isEmpty(), "none passing: none chosen");
    }
}
