package dev.sahara.direction;

import dev.sahara.SaharaException;
import dev.sahara.model.Tokenizer;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RefusalTokensTest {
    @Test
    void theScoreIsTheLogOddsOfTheRefusalTokens() {
        RefusalTokens t = new RefusalTokens(List.of(0), List.of("I"), List.of());
        assertEquals(-Math.log(3), t.score(new float[] {0, 0, 0, 0}), 1e-12);            // p = 1/4
        RefusalTokens two = new RefusalTokens(List.of(0, 2), List.of("I", "As"), List.of());
        assertEquals(0, two.score(new float[] {1, 1, 1, 1}), 1e-12);                    // p = 1/2
        // Far beyond float's resolution of p: log-odds stay exact instead of becoming ±Infinity.
        assertEquals(200 - Math.log(2), t.score(new float[] {100, -100, -100}), 1e-9);
        assertEquals(-200, t.score(new float[] {-100, 100}), 1e-9);
    }

    @Test
    void onThePlantedTokenizerTheDefaultIsIAndAsIsSkippedAsUnknown() {
        try (Tokenizer tok = Tokenizer.load(TestModels.repo().resolve("test-models/planted"))) {
            RefusalTokens t = RefusalTokens.of(null, tok);
            assertEquals(List.of(7), t.ids());
            assertEquals(List.of("I"), t.strings());
            assertEquals(1, t.skipped().size());
            assertTrue(t.skipped().getFirst().startsWith("As:"), t.skipped().toString());
            assertEquals(List.of(12, 7), RefusalTokens.of("Sure, 7", tok).ids(), "words and ids, in the order given");
            assertThrows(SaharaException.class, () -> RefusalTokens.of("I,,As", tok));
            assertThrows(SaharaException.class, () -> RefusalTokens.of("99999", tok));
            assertTrue(assertThrows(SaharaException.class, () -> RefusalTokens.of("As", tok)).getMessage().contains("no refusal token left"));
        }
    }
}
