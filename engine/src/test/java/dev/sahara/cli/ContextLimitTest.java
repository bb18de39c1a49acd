package dev.sahara.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sahara.SaharaException;
import dev.sahara.llama.ContextLimit;
import dev.sahara.model.Json;
import dev.sahara.model.ModelConfig;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The model's context (stories260K: max_position_embeddings = 512) bounds what a user can ask for: --max-tokens above
 * it and a prompt longer than it are refused with one line before any work; a generation that reaches it stops there
 * and the result says so.
 */
class ContextLimitTest {
    static final String STORIES = TestModels.stories260K().toString();
    /** 10 tokens per sentence: 50 of them and BOS are 502 tokens, 60 are 602. */
    static final String SENTENCE = "Once upon a time there was a cat. ";

    @TempDir
    Path tmp;

    @Test
    void maxTokensAboveTheContextIsRefusedAtOnce() {
        for (String n : List.of("100000000", "10000000", "513")) {
            for (String command : List.of("asr", "generate")) {
                CliTestSupport r = command.equals("asr")
                        ? CliTestSupport.run("asr", "--model", STORIES, "--limit", "1", "--max-tokens", n, "--out", tmp.resolve("a" + n).toString())
                        : CliTestSupport.run("generate", "--model", STORIES, "--prompt", "Hi", "--max-tokens", n);
                assertEquals(2, r.exitCode(), r.err());
                assertEquals("--max-tokens: " + n + " is more than the model's context of 512 tokens (max_position_embeddings)", r.errorLine());
                assertEquals("", r.out());
            }
            assertFalse(Files.exists(tmp.resolve("a" + n)), "nothing written");
        }
    }

    @Test
    void aPromptLongerThanTheContextIsRefusedWithItsLengthAndTheLimit() throws Exception {
        Path data = tmp.resolve("long.txt");
        Files.writeString(data, "short one\n" + SENTENCE.repeat(60) + "\n");
        CliTestSupport r = CliTestSupport.run("ships", "--model", STORIES, "--dataset", data.toString(), "--format", "direct", "--out", tmp.resolve("s").toString());
        assertEquals(2, r.exitCode(), r.err());
        String e = r.errorLine();
        assertTrue(e.matches(".*: prompt 2 has 6\\d\\d tokens, more than the model's context of 512 \\(max_position_embeddings\\): shorten it or leave it out"), e);
        assertFalse(e.contains("--limit"), "--limit cannot shorten a prompt: " + e);
        CliTestSupport g = CliTestSupport.run("generate", "--model", STORIES, "--prompt", SENTENCE.repeat(60), "--max-tokens", "3");
        assertEquals(2, g.exitCode(), g.err());
        assertTrue(g.errorLine().startsWith("--prompt: prompt 1 has 6"), g.errorLine());
    }

    @Test
    void generationStopsAtTheContextAndTheResultSaysSo() throws Exception {
        Path data = tmp.resolve("near.txt");
        Files.writeString(data, SENTENCE.repeat(50) + "\nOnce upon a time\n");
        Path out = tmp.resolve("asr");
        CliTestSupport r = CliTestSupport.run("asr", "--model", STORIES, "--dataset", data.toString(), "--format", "direct", "--max-tokens", "40", "--out",
                out.toString(), "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode o = Json.MAPPER.readTree(r.out());
        assertEquals(1, o.get("context_full").asInt(), "one response reached the context");
        List<String> rows = Files.readAllLines(out.resolve("responses.jsonl"));
        assertTrue(Json.MAPPER.readTree(rows.get(0)).path("context_full").asBoolean(), rows.get(0));
        assertFalse(Json.MAPPER.readTree(rows.get(1)).has("context_full"), rows.get(1));

        CliTestSupport g = CliTestSupport.run("generate", "--model", STORIES, "--prompt", SENTENCE.repeat(50), "--max-tokens", "40");
        assertEquals(0, g.exitCode(), g.err());
        assertTrue(g.err().contains("note: stopped at the model's context of 512 tokens (max_position_embeddings)"), g.err());
    }

    @Test
    void aKvCacheBeyondTheHeapIsRefusedBeforeGenerating() {
        ModelConfig c = dev.sahara.model.SyntheticModels.config("llama-2-7b");
        List<int[]> prompts = Collections.nCopies(64, new int[100]);
        SaharaException e = assertThrows(SaharaException.class, () -> ContextLimit.checkGeneration(c, prompts, 0, 2000, true, 16, 8L << 30));
        assertTrue(e.getMessage().matches("--max-tokens 2000 with --batch-size 16 needs about 3\\d\\.\\d GiB of KV cache .* but the heap allows 8\\.0 GiB: .*"), e.getMessage());
        assertTrue(e.getMessage().contains("lower --max-tokens or --batch-size"), e.getMessage());
        ContextLimit.checkGeneration(c, prompts, 0, 128, false, 16, 8L << 30);   // the defaults fit
    }
}
