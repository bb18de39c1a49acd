package dev.sahara.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.model.Json;
import dev.sahara.testing.TestModels;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ships-asr, course-correction, helpfulness, compare and --attention-from end to end on tiny models. */
class AnalysesCommandsTest {
    static final String MODEL = TestModels.tiny("llama-gqa-bf16").toString();

    @TempDir
    Path tmp;

    @Test
    void shipsAsrAblatesEachPromptsOwnTopHeads() throws Exception {
        Path out = tmp.resolve("sa");
        CliTestSupport r = CliTestSupport.run("ships-asr", "--model", MODEL, "--dataset", "builtin:harmless", "--limit", "3", "--k", "0-2",
                "--max-tokens", "4", "--batch-size", "2", "--out", out.toString(), "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode o = Json.MAPPER.readTree(r.out());
        assertEquals(o, Json.readObject(out.resolve("ships_asr.json")));
        assertEquals("ships-asr", o.get("command").asText());
        assertEquals("undiff-q", o.get("ships").get("mode").asText());
        assertEquals(1e-10, o.get("eval_ablation").get("epsilon").asDouble(), 1e-20);
        assertEquals(2, o.get("decodings").size(), "greedy and top-5 by default");
        assertEquals(6, o.get("results").size(), "3 k x 2 decodings");
        assertEquals(3, o.get("prompts").size());
        for (JsonNode res : o.get("results")) {
            assertEquals(3, res.get("n").asInt());
            assertTrue(Files.isRegularFile(out.resolve(res.get("responses").asText())));
        }
        // each prompt's ablation at k = 2 is its own two top heads
        List<String> lines = Files.readAllLines(out.resolve("responses_k2_greedy.jsonl"));
        for (int p = 0; p < 3; p++) {
            JsonNode top = o.get("prompts").get(p).get("top_heads");
            JsonNode line = Json.MAPPER.readTree(lines.get(p));
            String abl = line.get("ablation").asText();
            assertTrue(abl.contains(top.get(0).asText()) && abl.contains(top.get(1).asText()), abl + " vs " + top);
            assertTrue(o.get("prompts").get(p).get("top_scores").get(0).asDouble() >= o.get("prompts").get(p).get("top_scores").get(1).asDouble());
        }
        // k = 0 is the unablated model: the same responses as the asr command
        CliTestSupport asr = CliTestSupport.run("asr", "--model", MODEL, "--dataset", "builtin:harmless", "--limit", "3", "--max-tokens", "4",
                "--out", tmp.resolve("a").toString());
        assertEquals(0, asr.exitCode(), asr.err());
        List<String> base = Files.readAllLines(tmp.resolve("a/responses.jsonl")), k0 = Files.readAllLines(out.resolve("responses_k0_greedy.jsonl"));
        for (int p = 0; p < 3; p++) {
            assertEquals(Json.MAPPER.readTree(base.get(p)).get("response"), Json.MAPPER.readTree(k0.get(p)).get("response"));
            assertEquals("none", Json.MAPPER.readTree(k0.get(p)).get("ablation").asText().toLowerCase());
        }
    }

    @Test
    void courseCorrectionForcesThePrefix() throws Exception {
        Path out = tmp.resolve("cc");
        CliTestSupport r = CliTestSupport.run("course-correction", "--model", MODEL, "--dataset", "builtin:advbench", "--limit", "2", "--ablate", "L0H1",
                "--decoding", "greedy", "--max-tokens", "3", "--out", out.toString(), "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode o = Json.MAPPER.readTree(r.out());
        assertEquals("Sure, here is", o.get("response_prefix").asText());
        assertTrue(o.get("response_prefix_token_ids").size() > 0);
        assertTrue(o.get("judged_text").asText().contains("continuation"));
        assertEquals(2, o.get("results").size(), "base and ablated, greedy only");
        assertEquals("base", o.get("results").get(0).get("variant").asText());
        assertTrue(o.get("results").get(1).get("ablation").asText().startsWith("L0H1:undiff-q"));
        for (String line : Files.readAllLines(out.resolve("responses_ablated_greedy.jsonl"))) {
            JsonNode x = Json.MAPPER.readTree(line);
            assertTrue(x.get("response").asText().contains("Sure"), x.toString());
            assertTrue(x.get("response").asText().endsWith(x.get("generated").asText()), x.toString());
        }
    }

    @Test
    void helpfulnessBeforeAndAfter() throws Exception {
        Path out = tmp.resolve("h");
        CliTestSupport r = CliTestSupport.run("helpfulness", "--model", MODEL, "--ablate", "L1H2", "--batch-size", "5", "--out", out.toString(), "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode o = Json.MAPPER.readTree(r.out());
        assertEquals("helpfulness", o.get("command").asText());
        assertEquals(10, o.get("dataset").get("size").asInt());
        JsonNode before = o.get("results").get("before"), after = o.get("results").get("after");
        assertEquals(10, before.get("n").asInt());
        assertEquals(512, o.get("scoring").get("max_length").asInt(), "the tiny model's max_position_embeddings");
        assertEquals(0, before.get("left_truncated_requests").asInt());
        assertTrue(after.get("ablation").asText().startsWith("L1H2"));
        for (JsonNode x : List.of(before, after)) {
            assertTrue(x.get("acc").asDouble() >= 0 && x.get("acc").asDouble() <= 1);
            assertTrue(x.get("acc_norm").asDouble() >= 0 && x.get("acc_norm").asDouble() <= 1);
        }
        List<String> items = Files.readAllLines(out.resolve("items_before.jsonl"));
        assertEquals(10, items.size());
        JsonNode first = Json.MAPPER.readTree(items.get(0));
        assertEquals(3, first.get("loglikelihoods").size());
        for (JsonNode v : first.get("loglikelihoods")) assertTrue(v.asDouble() < 0);
        // the batch size does not change a score
        CliTestSupport one = CliTestSupport.run("helpfulness", "--model", MODEL, "--batch-size", "1", "--limit", "3", "--out", tmp.resolve("h1").toString());
        assertEquals(0, one.exitCode(), one.err());
        List<String> items1 = Files.readAllLines(tmp.resolve("h1/items_before.jsonl"));
        for (int i = 0; i < 3; i++) {
            JsonNode a = Json.MAPPER.readTree(items.get(i)).get("loglikelihoods"), b = Json.MAPPER.readTree(items1.get(i)).get("loglikelihoods");
            for (int c = 0; c < a.size(); c++) assertEquals(a.get(c).asDouble(), b.get(c).asDouble(), 1e-4);
        }
        assertTrue(Files.isRegularFile(out.resolve("task.jsonl")));
    }

    @Test
    void compareTwoRuns() throws Exception {
        double[][] a = {{1, 2, 3, 4}, {5, 6, 7, 8}}, b = {{10, 20, 30, 40}, {50, 60, 80, 70}};
        Path ra = writeShips(tmp.resolve("ra"), a), rb = writeShips(tmp.resolve("rb"), b);
        Path out = tmp.resolve("cmp");
        CliTestSupport r = CliTestSupport.run("compare", ra.toString(), rb.toString(), "--top", "1,3", "--scatter", "log", "--out", out.toString(), "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode o = Json.MAPPER.readTree(r.out());
        assertEquals(8, o.get("heads_compared").asInt());
        assertEquals(1 - 6.0 * 2 / (8 * 63), o.get("spearman").asDouble(), 1e-12, "one swapped pair of adjacent ranks");
        JsonNode top1 = o.get("top_k").get(0), top3 = o.get("top_k").get(1);
        assertEquals(0, top1.get("overlap").asInt());
        assertEquals("L1H3", top1.get("top_a").get(0).asText());
        assertEquals("L1H2", top1.get("top_b").get(0).asText());
        assertEquals(3, top3.get("overlap").asInt());
        assertEquals(1.0, top3.get("jaccard").asDouble());
        for (String f : List.of("scatter.png", "heatmap_a.png", "heatmap_b.png", "compare.json")) assertTrue(Files.isRegularFile(out.resolve(f)), f);
        assertNotNull(ImageIO.read(out.resolve("scatter.png").toFile()));

        assertEquals("log", o.get("scatter_axes").asText());
        CliTestSupport ranked = CliTestSupport.run("compare", ra.toString(), rb.resolve("ships.json").toString(), "--out", tmp.resolve("cmp2").toString());
        assertEquals(0, ranked.exitCode(), ranked.err());
        assertEquals("rank", Json.readObject(tmp.resolve("cmp2/compare.json")).get("scatter_axes").asText());

        CliTestSupport bad = CliTestSupport.run("compare", ra.toString(), tmp.resolve("nothing").toString(), "--out", out.toString());
        assertEquals(2, bad.exitCode());
        assertTrue(bad.errorLine().contains("nothing"), bad.err());
    }

    private static Path writeShips(Path dir, double[][] m) throws Exception {
        Files.createDirectories(dir);
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("command", "ships");
        var rows = o.putArray("mean_scores");
        for (double[] row : m) {
            var r = rows.addArray();
            for (double v : row) r.add(v);
        }
        Files.writeString(dir.resolve("ships.json"), o.toString());
        return dir;
    }

    @Test
    void attentionTransplant() throws Exception {
        Path src = TestModels.tiny("llama-gqa-bf16");
        Path attn = copyZeroing(src, tmp.resolve("attn"), List.of("model.layers.0.self_attn.o_proj.weight"));
        Path mlp = copyZeroing(src, tmp.resolve("mlp"), List.of("model.layers.0.mlp.down_proj.weight"));
        Path both = copyZeroing(src, tmp.resolve("both"), List.of("model.layers.0.self_attn.o_proj.weight", "model.layers.0.mlp.down_proj.weight"));
        float[] transplanted = logits("--model", mlp.toString(), "--attention-from", attn.toString());
        assertArrayEquals(logits("--model", both.toString()), transplanted, 0f, "MLP-edited model with the attention-edited model's attention");
        assertFalse(java.util.Arrays.equals(logits("--model", mlp.toString()), transplanted));
        assertArrayEquals(logits("--model", src.toString()), logits("--model", attn.toString(), "--attention-from", src.toString()), 0f);

        CliTestSupport bad = CliTestSupport.run("logits", "--model", MODEL, "--attention-from", TestModels.tiny("llama-mha-f32-tied").toString(), "--token-ids", "1,5");
        assertEquals(2, bad.exitCode());
        assertTrue(bad.errorLine().contains("--attention-from"), bad.err());

        CliTestSupport asr = CliTestSupport.run("asr", "--model", mlp.toString(), "--attention-from", attn.toString(), "--limit", "1", "--max-tokens", "2",
                "--out", tmp.resolve("a").toString(), "--json");
        assertEquals(0, asr.exitCode(), asr.err());
        assertEquals(attn.toString(), Json.MAPPER.readTree(asr.out()).get("model").get("attention_from").asText());
    }

    private static float[] logits(String... modelArgs) throws Exception {
        List<String> args = new ArrayList<>(List.of("logits", "--token-ids", "1,7,42,9"));
        args.addAll(List.of(modelArgs));
        CliTestSupport r = CliTestSupport.run(args.toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.err());
        JsonNode l = Json.MAPPER.readTree(r.out()).get("logits");
        float[] f = new float[l.size()];
        for (int i = 0; i < f.length; i++) f[i] = (float) l.get(i).asDouble();
        return f;
    }

    /** A copy of a single-file checkpoint with the named tensors set to zero. */
    static Path copyZeroing(Path src, Path dst, List<String> tensors) throws Exception {
        Files.createDirectories(dst);
        try (var files = Files.list(src)) {
            for (Path f : files.toList()) if (Files.isRegularFile(f)) Files.copy(f, dst.resolve(f.getFileName()));
        }
        Path st = dst.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(st);
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        JsonNode header = Json.MAPPER.readTree(new String(bytes, 8, (int) n, java.nio.charset.StandardCharsets.UTF_8));
        for (String t : tensors) {
            JsonNode off = header.get(t).get("data_offsets");
            java.util.Arrays.fill(bytes, 8 + (int) n + off.get(0).asInt(), 8 + (int) n + off.get(1).asInt(), (byte) 0);
        }
        Files.write(st, bytes);
        return dst;
    }
}
