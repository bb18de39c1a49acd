package dev.sahara.ablate;

import dev.sahara.SaharaException;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.ModelConfig;
import dev.sahara.model.SyntheticModels;
import dev.sahara.testing.TestDirections;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The direction edits of an Ablation: canonical text, equality, and what prefix reuse reads (below, lowestLayer). */
class AblationTest {
    final ResidualDirection d = TestDirections.random(8, 2, 1);
    final HeadId l1h0 = new HeadId(1, 0), l3h1 = new HeadId(3, 1);

    @Test
    void canonicalTextAndEqualityIncludeTheDirectionEdits() {
        Ablation heads = Ablation.none().with(l1h0, AblationMode.MEAN_V, 1f);
        Ablation ablated = heads.withDirectionAblated(d), both = ablated.withDirectionAdded(d, 4f);
        assertEquals("L1H0:mean-v,direction-ablated(random(seed 1))", ablated.toString());
        assertEquals("L1H0:mean-v,direction-ablated(random(seed 1)),direction-added(random(seed 1),4.0)", both.toString());
        assertEquals("direction-added(random(seed 1),-1.0)", Ablation.none().withDirectionAdded(d, -1f).toString());
        assertSame(d, both.directionAblated());
        assertSame(d, both.directionAdded());
        assertEquals(4f, both.addedCoefficient());
        assertNull(heads.directionAblated());
        assertNull(heads.directionAdded());
        assertFalse(Ablation.none().withDirectionAblated(d).isEmpty());
        assertNotEquals(heads, ablated);
        assertNotEquals(ablated, both);
        assertNotEquals(both, ablated.withDirectionAdded(d, 5f));
        // a direction is its values, wherever it was read from
        ResidualDirection sameValues = new ResidualDirection(d.layer(), d.position(), d.vector(), "elsewhere.json");
        assertEquals(both, heads.withDirectionAblated(sameValues).withDirectionAdded(sameValues, 4f));
        assertEquals(both.hashCode(), heads.withDirectionAblated(sameValues).withDirectionAdded(sameValues, 4f).hashCode());
        // adding a head keeps the direction edits
        assertSame(d, both.with(l3h1, AblationMode.UNDIFF_Q, 0f).directionAblated());
        assertThrows(SaharaException.class, () -> Ablation.none().withDirectionAdded(d, Float.NaN));
    }

    @Test
    void belowAndLowestLayerDescribeWhatTheResidualEnteringALayerDependsOn() {
        Ablation ablated = Ablation.none().withDirectionAblated(d), added = Ablation.none().withDirectionAdded(d, 2f);   // d.layer() = 2
        assertEquals(0, ablated.lowestLayer());
        assertEquals(2, added.lowestLayer());
        assertEquals(1, added.with(l1h0, AblationMode.MEAN_V, 1f).lowestLayer());
        assertEquals(Integer.MAX_VALUE, Ablation.none().lowestLayer());
        // layer 0's captured input is the embedding before its projection; every later input saw projected writes
        assertEquals(Ablation.none(), ablated.below(0));
        assertEquals(ablated, ablated.below(1));
        // the addition happens at the input of its layer, after that input is captured
        assertEquals(Ablation.none(), added.below(2));
        assertEquals(added, added.below(3));
        // the input edits of a layer: what decides whether its kept q/k/v are still valid
        assertFalse(ablated.sameInputEdits(0, Ablation.none()));
        assertTrue(ablated.sameInputEdits(1, Ablation.none()));
        assertFalse(added.sameInputEdits(2, Ablation.none()));
        assertTrue(added.sameInputEdits(1, Ablation.none()));
        assertFalse(added.sameInputEdits(2, Ablation.none().withDirectionAdded(d, 3f)));
        assertTrue(added.sameInputEdits(2, added.with(l3h1, AblationMode.MEAN_V, 1f)));
    }

    @Test
    void aDirectionOfAnotherModelIsRefusedNamingItsSource() {
        ModelConfig c;
        try (Checkpoint ck = SyntheticModels.open("synthetic:tiny")) {
            c = ck.config();
        }
        ResidualDirection wrong = TestDirections.random(c.hiddenSize() + 1, 0, 3);
        SaharaException e = assertThrows(SaharaException.class, () -> Ablation.none().withDirectionAblated(wrong).checkIn(c, false));
        assertTrue(e.getMessage().startsWith("random(seed 3): the direction has " + (c.hiddenSize() + 1) + " values"), e.getMessage());
        assertThrows(SaharaException.class, () -> Ablation.none().withDirectionAdded(wrong, 1f).checkIn(c, false));
    }
}
