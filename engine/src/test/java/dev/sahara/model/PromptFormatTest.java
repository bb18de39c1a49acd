package dev.sahara.model;

import dev.sahara.SaharaException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The three prompt formats on the byte-level BPE fixture (whose chat template is Llama-3-Instruct's). */
class PromptFormatTest {
    static Tokenizer tok;

    @BeforeAll
    static void load() throws URISyntaxException {
        tok = Tokenizer.load(Path.of(PromptFormatTest.class.getResource("/tokenizers/bytebpe/tokenizer.json").toURI()).getParent());
    }

    @AfterAll
    static void close() { tok.close(); }

    @Test
    void parsesNamesInAnyCase() {
        assertEquals(PromptFormat.DIRECT, PromptFormat.parse("direct"));
        assertEquals(PromptFormat.TEMPLATE, PromptFormat.parse("Template"));
        assertEquals(PromptFormat.CHAT, PromptFormat.parse("CHAT"));
        SaharaException e = assertThrows(SaharaException.class, () -> PromptFormat.parse("instruct"));
        assertTrue(e.getMessage().contains("instruct"), e.getMessage());
    }

    @Test
    void directAndTemplateAddTheTokenizersSpecials() {
        assertEquals("hello world", PromptFormat.DIRECT.render("hello world", null, tok));
        assertArrayEquals(new int[] {265, 259, 264}, PromptFormat.DIRECT.encode("hello world", null, tok));
        assertEquals("## Query:hello\n## Answer:", PromptFormat.TEMPLATE.render("hello", null, tok));
        int[] ids = PromptFormat.TEMPLATE.encode("hello", null, tok);
        assertEquals(265, ids[0]);
        assertArrayEquals(tok.encode("## Query:hello\n## Answer:", true), ids);
    }

    @Test
    void chatUsesTheModelsTemplateAndAddsNoSecondBos() {
        String expected = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhello world<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n";
        assertEquals(expected, PromptFormat.CHAT.render("hello world", null, tok));
        int[] ids = PromptFormat.CHAT.encode("hello world", null, tok);
        assertArrayEquals(tok.encode(expected, false), ids);
        assertEquals(265, ids[0]);
        assertEquals(1, Arrays.stream(ids).filter(id -> id == 265).count(), "one BOS");
    }

    @Test
    void chatWithSystemPrompt() {
        String expected = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nhello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
        assertEquals(expected, PromptFormat.CHAT.render("hello", "Be brief.", tok));
    }

    @Test
    void systemPromptNeedsChat() {
        for (PromptFormat f : new PromptFormat[] {PromptFormat.DIRECT, PromptFormat.TEMPLATE}) {
            SaharaException e = assertThrows(SaharaException.class, () -> f.render("q", "sys", tok));
            assertTrue(e.getMessage().contains("--format chat"), e.getMessage());
        }
    }

    @Test
    void chatWithoutTemplateNamesTokenizerConfig(@TempDir Path dir) throws IOException {
        Files.copy(tok.directory().resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        try (Tokenizer bare = Tokenizer.load(dir)) {
            SaharaException e = assertThrows(SaharaException.class, () -> PromptFormat.CHAT.encode("q", null, bare));
            assertTrue(e.getMessage().startsWith(dir.resolve("tokenizer_config.json") + ": "), e.getMessage());
            assertTrue(e.getMessage().contains("chat_template"), e.getMessage());
        }
    }

    @Test
    void stories260KDirect() {
        try (Tokenizer t = Tokenizer.load(TokenizerTest.stories260K())) {
            assertArrayEquals(new int[] {1, 403, 407, 261, 378}, PromptFormat.DIRECT.encode("Once upon a time", null, t));
        }
    }
}
