package dev.sahara.model;

import dev.sahara.SaharaException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tokenizer on two fixtures: a hand-made byte-level BPE (src/test/resources/tokenizers/bytebpe,
 * made by make_bytebpe.py there, whose comment derives the ids asserted here) and the
 * SentencePiece-style BPE with byte fallback of stories260K (test-models/stories260K).
 */
class TokenizerTest {
    static Path byteBpeDir;
    static Tokenizer bpe;

    @BeforeAll
    static void load() throws URISyntaxException {
        byteBpeDir = Path.of(TokenizerTest.class.getResource("/tokenizers/bytebpe/tokenizer.json").toURI()).getParent();
        bpe = Tokenizer.load(byteBpeDir);
    }

    @AfterAll
    static void close() { bpe.close(); }

    // ---- byte-level BPE, ids derived by hand ----

    @Test
    void byteLevelBpeIds() {
        assertArrayEquals(new int[] {265, 259, 264}, bpe.encode("hello world", true));
        assertArrayEquals(new int[] {259, 264}, bpe.encode("hello world", false));
        assertArrayEquals(new int[] {72, 101, 257, 111}, bpe.encode("Hello", false));
        assertArrayEquals(new int[] {195, 169}, bpe.encode("é", false));
        assertArrayEquals(new int[] {32, 240, 159, 141, 174}, bpe.encode(" 🍮", false));
        assertArrayEquals(new int[] {265}, bpe.encode("", true));
    }

    @Test
    void noTruncation() {
        // "hello" then 999 × " hello" = [259] + 999 × [32 "Ġ", 259]; DJL would cut at 512 if allowed.
        String text = String.join(" ", java.util.Collections.nCopies(1000, "hello"));
        assertEquals(1 + 999 * 2, bpe.encode(text, false).length);
        assertEquals(text, bpe.decode(bpe.encode(text, true), true));
    }

    @Test
    void specialTokensInTheTextEncodeAsSpecials() {
        assertArrayEquals(new int[] {265, 259, 267}, bpe.encode("<|begin_of_text|>hello<|eot_id|>", false));
    }

    @Test
    void byteLevelDecode() {
        assertEquals("hello world", bpe.decode(new int[] {265, 259, 264}, true));
        assertEquals("<|begin_of_text|>hello world", bpe.decode(new int[] {265, 259, 264}, false));
        for (String s : List.of("hello world", "Hello, wörld! café 🍮 crème\n\ttabs  two spaces", "日本語のテキスト 👩‍👩‍👧")) {
            assertEquals(s, bpe.decode(bpe.encode(s, true), true), s);
        }
    }

    @Test
    void cleanUpTokenizationSpacesFollowsTheConfig() {
        // bytebpe's tokenizer_config.json sets clean_up_tokenization_spaces: true, as Llama-3's does.
        assertEquals("hello world.", bpe.decode(bpe.encode("hello world .", false), true));
    }

    @Test
    void specialTokenMetadata() {
        assertEquals(265, bpe.bosId());
        assertEquals("<|begin_of_text|>", bpe.bosToken());
        assertEquals("<|eot_id|>", bpe.eosToken());              // an AddedToken object in the config
        assertArrayEquals(new int[] {266, 267}, bpe.eosIds());    // generation_config's list ∪ eos_token
        assertEquals(268, bpe.vocabSize());
        assertTrue(bpe.chatTemplate().orElseThrow().contains("<|start_header_id|>"));
    }

    @Test
    void addBosAndAddEosOverrideThePostProcessor(@TempDir Path dir) throws IOException {
        copyTokenizerJson(dir);
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"bos_token\": \"<|begin_of_text|>\", \"eos_token\": \"<|end_of_text|>\", \"add_bos_token\": false}");
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertArrayEquals(new int[] {259}, t.encode("hello", true));
        }
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"bos_token\": \"<|begin_of_text|>\", \"eos_token\": \"<|end_of_text|>\","
                        + " \"add_bos_token\": true, \"add_eos_token\": true}");
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertArrayEquals(new int[] {265, 259, 266}, t.encode("hello", true));
            assertArrayEquals(new int[] {259}, t.encode("hello", false));
            assertArrayEquals(new int[] {266}, t.eosIds());
        }
    }

    @Test
    void nullBosTokenAsInQwen2(@TempDir Path dir) throws IOException {
        copyTokenizerJson(dir);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": null, \"eos_token\": \"<|eot_id|>\"}");
        Files.writeString(dir.resolve("generation_config.json"), "{\"bos_token_id\": 266, \"eos_token_id\": 267}");
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertEquals(null, t.bosToken());                  // chat templates get bos_token = None
            assertEquals(266, t.bosId());                      // generation_config's bos_token_id
            assertArrayEquals(new int[] {267}, t.eosIds());
            assertEquals(267, t.eosTokenId());                 // tokenizer_config's eos_token, as HF's eos_token_id
            assertArrayEquals(new int[] {265, 259}, t.encode("hello", true));  // tokenizer.json's post-processor
        }
    }

    @Test
    void onlyTokenizerJson(@TempDir Path dir) throws IOException {
        copyTokenizerJson(dir);
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertArrayEquals(new int[] {265, 259}, t.encode("hello", true));   // the post-processor's BOS
            assertEquals(-1, t.bosId());
            assertEquals(0, t.eosIds().length);
            assertEquals(-1, t.eosTokenId());
            assertTrue(t.chatTemplate().isEmpty());
            assertEquals("hello world .", t.decode(t.encode("hello world .", false), true)); // no clean-up by default
        }
    }

    @Test
    void chatTemplateListTakesDefault(@TempDir Path dir) throws IOException {
        copyTokenizerJson(dir);
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}""");
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertEquals("D", t.chatTemplate().orElseThrow());
        }
    }

    @Test
    void incrementalDecoderHoldsBackIncompleteCharacters() {
        String text = "hello café 🍮 world";
        int[] ids = bpe.encode(text, false);
        Tokenizer.IncrementalDecoder d = bpe.newDecoder(true);
        StringBuilder out = new StringBuilder();
        List<String> pieces = new ArrayList<>();
        for (int id : ids) {
            String piece = d.append(id);
            assertFalse(piece.contains("\uFFFD"), "emitted a partial character after id " + id);
            pieces.add(piece);
            out.append(piece);
        }
        out.append(d.flush());
        assertEquals(text, out.toString());
        // " 🍮" is Ġ then four byte tokens: the space comes at once, the emoji only with its last byte.
        int at = indexOf(ids, 240);
        assertEquals(List.of("", "", "", "🍮"), pieces.subList(at, at + 4));
    }

    @Test
    void incrementalDecoderFlushReturnsAnUnfinishedCharacter() {
        Tokenizer.IncrementalDecoder d = bpe.newDecoder(true);
        assertEquals("hello", d.append(259));
        assertEquals("", d.append(240));
        assertEquals("\uFFFD", d.flush());
    }

    // ---- bad input: one SaharaException naming the file ----

    @Test
    void missingTokenizerJson(@TempDir Path dir) {
        assertFileError(dir, "tokenizer.json", "not found");
    }

    @Test
    void brokenTokenizerJson(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), "{\"version\": \"1.0\", \"model\": {");
        assertFileError(dir, "tokenizer.json", "not valid JSON");
    }

    @Test
    void tokenizerJsonTheLibraryRejects(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"),
                "{\"version\": \"1.0\", \"model\": {\"type\": \"NoSuchModel\", \"vocab\": {\"a\": 0}}}");
        assertFileError(dir, "tokenizer.json", "tokenizers library cannot load it");
    }

    @Test
    void brokenTokenizerConfig(@TempDir Path dir) throws IOException {
        copyTokenizerJson(dir);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<s>\",}");
        assertFileError(dir, "tokenizer_config.json", "not valid JSON");
    }

    @Test
    void wrongTypes(@TempDir Path dir) throws IOException {
        copyTokenizerJson(dir);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": 5}");
        assertFileError(dir, "tokenizer_config.json", "bos_token");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"add_bos_token\": \"yes\"}");
        assertFileError(dir, "tokenizer_config.json", "add_bos_token");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": 3}");
        assertFileError(dir, "tokenizer_config.json", "chat_template");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"<nope>\"}");
        assertFileError(dir, "tokenizer_config.json", "<nope>");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{}");
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": \"two\"}");
        assertFileError(dir, "generation_config.json", "eos_token_id");
        Files.writeString(dir.resolve("generation_config.json"), "[1, 2]");
        assertFileError(dir, "generation_config.json", "JSON object");
        Files.writeString(dir.resolve("generation_config.json"), "{}");
        Files.writeString(dir.resolve("tokenizer.json"), "[]");
        assertFileError(dir, "tokenizer.json", "model");
    }

    // ---- SentencePiece-style BPE with byte fallback: stories260K ----

    static Path stories260K() {
        return dev.sahara.testing.TestModels.stories260K();
    }

    @Test
    void stories260KMatchesLlama2c() {
        try (Tokenizer t = Tokenizer.load(stories260K())) {
            int[] ids = t.encode("Once upon a time", true);
            assertArrayEquals(new int[] {1, 403, 407, 261, 378}, ids);
            assertEquals("Once upon a time", t.decode(ids, true));
            assertEquals(1, t.bosId());
            assertArrayEquals(new int[] {2}, t.eosIds());
            assertEquals(512, t.vocabSize());
            assertTrue(t.chatTemplate().isEmpty());
        }
    }

    @Test
    void stories260KByteFallbackRoundTrip() {
        try (Tokenizer t = Tokenizer.load(stories260K())) {
            for (String s : List.of("Lily said: “Zoë’s café is naïve!” 🍮🐶", "日本語  two  spaces", " leading space")) {
                int[] ids = t.encode(s, true);
                assertEquals(1, ids[0]);
                assertEquals(s, t.decode(ids, true), s);
                StringBuilder streamed = new StringBuilder();
                Tokenizer.IncrementalDecoder d = t.newDecoder(true);
                for (int id : ids) streamed.append(d.append(id));
                streamed.append(d.flush());
                assertEquals(s, streamed.toString(), "streamed " + s);
            }
        }
    }

    // ---- helpers ----

    static void copyTokenizerJson(Path dir) throws IOException {
        try (InputStream in = Files.newInputStream(byteBpeDir.resolve("tokenizer.json"))) {
            Files.copy(in, dir.resolve("tokenizer.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
    }

    static void assertFileError(Path dir, String file, String problem) {
        SaharaException e = assertThrows(SaharaException.class, () -> Tokenizer.load(dir).close());
        assertTrue(e.getMessage().startsWith(dir.resolve(file) + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(problem), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) if (a[i] == v) return i;
        throw new AssertionError(v + " not in the ids");
    }
}
