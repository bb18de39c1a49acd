package dev.sahara.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sahara.model.Json;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Same inputs → byte-identical result files whatever the thread count (timings.json, which holds the times and
 * the thread count, is the one file allowed to differ); sampling is seeded and the seed is recorded.
 */
class DeterminismTest {
    @TempDir
    Path tmp;

    @Test
    void attributeFilesAreIdenticalForOneAndThreeThreads() throws IOException {
        String model = TestModels.tiny("llama-mha-f32-tied").toString();
        String[] base = {"attribute", "--model", model, "--dataset", "builtin:advbench", "--format", "direct", "--limit", "5", "--group-size", "2", "--max-tokens", "6",
                "--decoding", "top-k", "--seed", "11"};
        Path one = tmp.resolve("t1"), three = tmp.resolve("t3");
        CliTestSupport a = CliTestSupport.run(ResumeTest.concat(base, "--threads", "1", "--out", one.toString()));
        assertEquals(0, a.exitCode(), a.err());
        CliTestSupport b = CliTestSupport.run(ResumeTest.concat(base, "--threads", "3", "--out", three.toString()));
        assertEquals(0, b.exitCode(), b.err());
        ResumeTest.assertSameFiles(one, three);
        assertEquals(a.out(), b.out().replace(three.toAbsolutePath().toString(), one.toAbsolutePath().toString()));

        JsonNode att = Json.readObject(one.resolve("attribution.json"));
        assertEquals("top-k (k=5, temperature=1.0, seed=11)", att.get("asr").get("decoding").asText());
        assertFalse(att.has("timings_seconds") || att.has("threads"), "no run-dependent fields in the result file");
        assertEquals(1, Json.readObject(one.resolve("timings.json")).get("threads").asInt());
        assertEquals(Math.min(3, Runtime.getRuntime().availableProcessors()), Json.readObject(three.resolve("timings.json")).get("threads").asInt(),
                "--threads is capped at the cores available");
    }

    @Test
    void sweepFilesAreIdenticalForOneAndFourThreads() throws IOException {
        String model = TestModels.tiny("qwen2-bias-bf16").toString();
        String[] base = {"sweep", "--model", model, "--dataset", "builtin:maliciousinstruct", "--limit", "6", "--rank", "2"};
        Path one = tmp.resolve("t1"), four = tmp.resolve("t4");
        assertEquals(0, CliTestSupport.run(ResumeTest.concat(base, "--threads", "1", "--out", one.toString())).exitCode());
        assertEquals(0, CliTestSupport.run(ResumeTest.concat(base, "--threads", "4", "--out", four.toString())).exitCode());
        ResumeTest.assertSameFiles(one, four);
    }
}
