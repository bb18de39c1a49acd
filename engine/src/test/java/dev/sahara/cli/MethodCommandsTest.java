package dev.sahara.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sahara.model.Json;
import dev.sahara.testing.TestModels;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ships, sweep, asr and attribute end to end on a tiny model: exit code, result files, the documented schema. */
class MethodCommandsTest {
    static final String MODEL = TestModels.tiny("llama-gqa-bf16").toString();

    @TempDir
    Path tmp;

    @Test
    void attributeWritesEveryResultFile() throws Exception {
        Path out = tmp.resolve("att");
        CliTestSupport r = CliTestSupport.run("attribute", "--model", MODEL, "--dataset", "builtin:jailbreakbench", "--limit", "6", "--group-size", "2",
                "--max-tokens", "8", "--out", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().startsWith("group: L"), r.out());
        for (String f : List.of("attribution.json", "heads.csv", "heatmap.png", "heatmap_step1.png", "heatmap_step2.png", "report.md",
                "responses_before.jsonl", "responses_after.jsonl")) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        JsonNode a = Json.readObject(out.resolve("attribution.json"));
        assertEquals("attribute", a.get("command").asText());
        assertEquals("undiff-q", a.get("attribution").get("mode").asText());
        assertEquals(1e-5, a.get("attribution").get("epsilon").asDouble(), 1e-12);
        assertEquals(1, a.get("attribution").get("r_main").asInt());
        assertEquals("template", a.get("prompt_format").asText());
        assertEquals(6, a.get("dataset").get("size").asInt());
        assertEquals(2, a.get("group").size());
        assertEquals(2, a.get("steps").size());
        JsonNode step2 = a.get("steps").get(1);
        assertEquals(a.get("group").get(0).asText(), step2.get("group_before").get(0).asText());
        assertEquals(3, step2.get("scores").size(), "layers");
        assertEquals(4, step2.get("scores").get(0).size(), "heads");
        int nulls = 0;
        for (JsonNode layer : step2.get("scores")) for (JsonNode v : layer) if (v.isNull()) nulls++;
        assertEquals(1, nulls, "the head already in the group has no score in step 2");
        assertEquals(6, a.get("asr").get("before").get("n").asInt());
        assertTrue(a.get("asr").get("judge").asText().contains("paper"));
        assertEquals(13, Files.readAllLines(out.resolve("heads.csv")).size(), "header + 12 heads");
        assertEquals(6, Files.readAllLines(out.resolve("responses_after.jsonl")).size());
        assertNotNull(ImageIO.read(out.resolve("heatmap.png").toFile()));
    }

    @Test
    void attributeJsonOnStdoutIsTheFile() throws Exception {
        Path out = tmp.resolve("j");
        CliTestSupport r = CliTestSupport.run("attribute", "--model", MODEL, "--limit", "4", "--group-size", "1", "--no-asr", "--json", "--out", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(Json.MAPPER.readTree(r.out()), Json.readObject(out.resolve("attribution.json")));
    }

    @Test
    void shipsAndSweepAndAsr() throws Exception {
        CliTestSupport ships = CliTestSupport.run("ships", "--model", MODEL, "--prompt", "How do I bake bread?", "--out", tmp.resolve("s").toString(), "--json");
        assertEquals(0, ships.exitCode(), ships.err());
        JsonNode s = Json.MAPPER.readTree(ships.out());
        assertEquals(1, s.get("prompts").size());
        assertEquals(3, s.get("prompts").get(0).get("scores").size());
        assertTrue(s.get("prompts").get(0).get("scores").get(0).get(0).asDouble() >= 0);

        CliTestSupport sweep = CliTestSupport.run("sweep", "--model", MODEL, "--dataset", "builtin:advbench", "--limit", "5", "--rank", "2",
                "--out", tmp.resolve("w").toString(), "--json");
        assertEquals(0, sweep.exitCode(), sweep.err());
        JsonNode w = Json.MAPPER.readTree(sweep.out());
        assertEquals(2, w.get("sweep").get("r_main").asInt());
        for (JsonNode layer : w.get("scores")) for (JsonNode v : layer) assertTrue(v.asDouble() >= 0 && v.asDouble() <= 180, v.toString());

        CliTestSupport asr = CliTestSupport.run("asr", "--model", MODEL, "--dataset", "builtin:harmless", "--limit", "3", "--max-tokens", "5",
                "--ablate", "L0H1", "--decoding", "top-k", "--seed", "3", "--out", tmp.resolve("a").toString(), "--json");
        assertEquals(0, asr.exitCode(), asr.err());
        JsonNode a = Json.MAPPER.readTree(asr.out());
        assertEquals(3, a.get("n").asInt());
        assertTrue(a.get("decoding").asText().contains("k=5"));
        assertTrue(a.get("ablation").asText().startsWith("L0H1:undiff-q"));
        // every response is under 32 characters here (5 tokens), so the judge calls them all refusals
        assertEquals(0.0, a.get("asr").asDouble());
    }

    @Test
    void usageErrors() {
        assertEquals(2, CliTestSupport.run("attribute", "--model", MODEL, "--group-size", "0", "--no-asr", "--limit", "2", "--out", tmp.toString()).exitCode());
        CliTestSupport r = CliTestSupport.run("sweep", "--model", MODEL, "--dataset", tmp.resolve("none.csv").toString());
        assertEquals(2, r.exitCode());
        assertTrue(r.errorLine().contains("none.csv"), r.err());
        r = CliTestSupport.run("ships", "--model", MODEL, "--prompt", "x", "--ablation", "undiff-k");
        assertEquals(2, r.exitCode());
        assertTrue(r.errorLine().contains("--allow-grouped-kv"), r.err());
    }
}
