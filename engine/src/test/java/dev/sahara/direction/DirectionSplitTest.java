package dev.sahara.direction;

import dev.sahara.SaharaException;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DirectionSplitTest {
    @Test
    void defaultSizesFollowArditiWhereTheSetAllows() {
        DirectionSplit s = DirectionSplit.of("x", 100, null, null, 0);
        assertEquals(20, s.validation().size());
        assertEquals(80, s.train().size());
        DirectionSplit big = DirectionSplit.of("x", 520, null, null, 0);
        assertEquals(32, big.validation().size());
        assertEquals(128, big.train().size());
        DirectionSplit tiny = DirectionSplit.of("x", 2, null, null, 0);
        assertEquals(1, tiny.validation().size());
        assertEquals(1, tiny.train().size());
    }

    @Test
    void theSplitIsDisjointSortedAndTheSameEveryTime() {
        DirectionSplit a = DirectionSplit.of("x", 50, 30, 10, 7), b = DirectionSplit.of("x", 50, 30, 10, 7);
        assertEquals(a, b);
        Set<Integer> all = new HashSet<>(a.train());
        all.addAll(a.validation());
        assertEquals(40, all.size(), "train and validation share no prompt");
        assertEquals(a.train().stream().sorted().toList(), a.train());
        assertEquals(a.validation().stream().sorted().toList(), a.validation());
        assertNotEquals(a, DirectionSplit.of("x", 50, 30, 10, 8), "the seed changes the split");
    }

    @Test
    void refusesSetsAndSizesThatCannotSplit() {
        assertTrue(assertThrows(SaharaException.class, () -> DirectionSplit.of("--harmful h.txt", 1, null, null, 0)).getMessage().contains("at least 2"));
        assertTrue(assertThrows(SaharaException.class, () -> DirectionSplit.of("--harmful h.txt", 10, 8, 3, 0)).getMessage().contains("more than its 10"));
        assertThrows(SaharaException.class, () -> DirectionSplit.of("x", 10, 0, 3, 0));
        assertThrows(SaharaException.class, () -> DirectionSplit.of("x", 10, 3, 0, 0));
    }
}
