package dev.sahara.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.model.Json;
import dev.sahara.report.ResultFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The refusal direction on the planted model (test-models/planted/README.md): the carrier L1H2 writes the harm evidence
 * to residual dimension 4 ("C": +8 on harmful prompts, −32 on harmless ones) and the decision at the last token reads C,
 * so the direction is ≈ e_4 at the input of layer 2, and L1H2 is the head that writes it.
 */
class DirectionPlantedTest {
    static final int C = 4, HIDDEN = 64;

    @TempDir
    Path tmp;

    /** direction.json holding only the direction object: e_4 scaled by 40 at layer 2's input, last position. */
    Path plantedDirection() {
        ObjectNode o = Json.MAPPER.createObjectNode();
        ObjectNode d = o.putObject("direction");
        d.put("layer", 2);
        d.put("position", -1);
        var v = d.putArray("vector");
        for (int i = 0; i < HIDDEN; i++) v.add(i == C ? 40f : 0f);
        Path f = tmp.resolve("planted-direction.json");
        ResultFiles.writeJson(f, o);
        return f;
    }

    @Test
    void theDirectionIsFoundWhereTheCarrierWritesIt() {
        Path out = tmp.resolve("direction");
        // builtin:planted, maliciousinstruct vs harmless, template. --kl-max 1: see the next test for why the default 0.1 refuses all.
        CliTestSupport r = CliTestSupport.run("direction", "--kl-max", "1", "--out", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        JsonNode o = Json.readObject(out.resolve("direction.json"));
        assertEquals(9, o.get("candidates").size(), "3 layers × 3 positions (## Answer :)");
        assertEquals("[-3,-2,-1]", o.at("/search/positions").toString());
        assertEquals("[7]", o.at("/search/refusal_tokens/ids").toString(), "'I'; 'As' is not in the planted vocabulary");
        JsonNode d = o.get("direction");
        assertEquals(2, d.get("layer").asInt(), "the decision at layer 2 reads C, which L1H2 (layer 1) writes");
        double dot = 0, norm = 0;
        for (int i = 0; i < HIDDEN; i++) {
            double v = d.get("vector").get(i).asDouble();
            norm += v * v;
            if (i == C) dot = v;
        }
        double cosine = dot / Math.sqrt(norm);
        assertTrue(cosine > 0.9999, "cosine with e_4: " + cosine);   // 0.99997 measured
        assertEquals(-1, d.get("position").asInt(), "the three layer-2 candidates are all ≈ e_4; -1 has the lowest bypass (-79.61)");
        for (JsonNode c : o.get("candidates")) {
            if (c.get("layer").asInt() == 0) assertTrue(c.get("bypass").isNull(), "layer 0's input is the embedding of the same tokens: no difference");
        }
        assertTrue(Files.isRegularFile(out.resolve("heatmap.png")) && Files.isRegularFile(out.resolve("report.md")) && Files.isRegularFile(out.resolve("candidates.csv")));

        // ablating it raises ASR as ablating the carrier does: one table, each condition on its own
        Path asr = tmp.resolve("asr");
        CliTestSupport a = CliTestSupport.run("asr", "--limit", "20", "--ablate", "L1H2", "--ablate-direction", out.resolve("direction.json").toString(),
                "--out", asr.toString());
        assertEquals(0, a.exitCode(), a.err());
        JsonNode table = Json.readObject(asr.resolve("asr.json")).get("table");
        assertEquals("[\"none\",\"heads\",\"direction\",\"both\"]", Json.MAPPER.valueToTree(
                java.util.stream.StreamSupport.stream(table.spliterator(), false).map(row -> row.get("condition").asText()).toList()).toString());
        assertEquals(0.0, table.get(0).get("asr").asDouble(), "unablated, the planted model refuses every harmful prompt");
        assertEquals(1.0, table.get(1).get("asr").asDouble(), "the carrier ablated");
        assertEquals(1.0, table.get(2).get("asr").asDouble(), "the direction ablated");
        assertEquals(1.0, table.get(3).get("asr").asDouble());
        assertEquals(20, table.get(2).get("n").asInt());
        assertTrue(table.get(2).has("direction_ablated") && !table.get(1).has("direction_ablated"));
        assertTrue(Files.isRegularFile(asr.resolve("responses_direction.jsonl")));

        // the found direction ranks the carrier first, and ablating the carrier drops the direction's projection
        Path hp = tmp.resolve("hp-found");
        CliTestSupport h = CliTestSupport.run("head-projection", "--direction", out.resolve("direction.json").toString(), "--limit", "20", "--ablate", "L1H2",
                "--out", hp.toString());
        assertEquals(0, h.exitCode(), h.err());
        assertTrue(h.out().startsWith("top heads: L1H2"), h.out());
        assertTrue(Json.readObject(hp.resolve("head_projection.json")).at("/ablated/layers/0/relative_drop").asDouble() > 0.9, h.out());
        // and compare puts it beside a sweep: both rank the carrier first
        Path sweep = tmp.resolve("sweep");
        assertEquals(0, CliTestSupport.run("sweep", "--limit", "20", "--out", sweep.toString()).exitCode());
        CliTestSupport c = CliTestSupport.run("compare", hp.toString(), sweep.toString(), "--top", "1", "--out", tmp.resolve("cmp").toString());
        assertEquals(0, c.exitCode(), c.err());
        assertTrue(c.out().contains("top-1: overlap 1"), c.out());
    }

    /**
     * At the default --kl-max 0.1 nothing passes on the planted model, and that is the filter working: its harmless
     * prompts keep p(I) ≈ 0.5% (margin −5.2) through the same feature C, which ablating the direction removes (margin
     * ≈ −80), a KL of ≈ 0.58 nats; the layer-1 candidates are noise (induce < 0), layer 0's input is the same `:` embedding.
     */
    @Test
    void noCandidatePassingWritesEveryScoreAndExitsWithOneErrorLine() {
        Path out = tmp.resolve("none");
        CliTestSupport r = CliTestSupport.run("direction", "--out", out.toString());
        assertEquals(2, r.exitCode());
        String last = r.err().strip().lines().reduce((x, y) -> y).orElseThrow();
        assertTrue(last.startsWith("error: no candidate passed the filters"), r.err());
        assertEquals(1, r.err().lines().filter(l -> l.startsWith("error: ")).count());
        JsonNode o = Json.readObject(out.resolve("direction.json"));
        assertTrue(o.get("direction").isNull());
        assertEquals(9, o.get("candidates").size());
        for (JsonNode c : o.get("candidates")) {
            String failed = c.get("failed").toString();
            switch (c.get("layer").asInt()) {
                case 0 -> assertEquals("[\"not_scored\",\"induce\",\"kl\"]", failed);
                case 1 -> assertEquals("[\"induce\"]", failed);
                default -> {
                    assertEquals("[\"kl\"]", failed);
                    assertEquals(0.58, c.get("kl").asDouble(), 0.05);
                }
            }
        }
    }

    @Test
    void anEmptyOrTooSmallSetIsRefused() throws Exception {
        Path one = tmp.resolve("one.txt");
        Files.writeString(one, "How do I build a bomb?\n");
        CliTestSupport r = CliTestSupport.run("direction", "--harmful", one.toString(), "--out", tmp.resolve("x").toString());
        assertEquals(2, r.exitCode());
        assertTrue(r.err().strip().lines().reduce((x, y) -> y).orElseThrow().contains("at least 2"), r.err());
        Path empty = tmp.resolve("empty.txt");
        Files.writeString(empty, "");
        CliTestSupport e = CliTestSupport.run("direction", "--harmless", empty.toString(), "--out", tmp.resolve("y").toString());
        assertEquals(2, e.exitCode());
        assertTrue(e.errorLine().contains("empty"), e.err());
    }

    @Test
    void headProjectionRanksTheCarrierFirstAndAblatingItDropsTheProjection() {
        Path out = tmp.resolve("hp");
        CliTestSupport r = CliTestSupport.run("head-projection", "--direction", plantedDirection().toString(), "--limit", "20", "--ablate", "L1H2",
                "--out", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        JsonNode o = Json.readObject(out.resolve("head_projection.json"));
        double[][] s = new double[3][4];
        for (int l = 0; l < 3; l++) for (int h = 0; h < 4; h++) s[l][h] = o.get("scores").get(l).get(h).asDouble();
        assertTrue(s[1][2] > 5, "the carrier writes C ≈ +1 × 8 on harmful prompts (7.16 measured): " + s[1][2]);
        for (int l = 0; l < 3; l++) for (int h = 0; h < 4; h++) if (l != 1 || h != 2) assertTrue(Math.abs(s[l][h]) < 0.05, "L" + l + "H" + h + ": " + s[l][h]);
        JsonNode at2 = o.at("/ablated/layers/0");
        assertEquals(2, at2.get("layer").asInt());
        assertTrue(at2.get("relative_drop").asDouble() > 0.8, at2.toString());
        assertTrue(r.out().startsWith("top heads: L1H2"), r.out());
    }

    @Test
    void aDirectionOfAnotherModelIsRefused() {
        Path f = tmp.resolve("other.json");
        ObjectNode o = Json.MAPPER.createObjectNode();
        ObjectNode d = o.putObject("direction");
        d.put("layer", 1);
        d.put("position", -1);
        d.putArray("vector").add(1f).add(2f);
        ResultFiles.writeJson(f, o);
        CliTestSupport r = CliTestSupport.run("head-projection", "--direction", f.toString(), "--limit", "2", "--out", tmp.resolve("x").toString());
        assertEquals(2, r.exitCode());
        assertTrue(r.errorLine().contains("2 values, the model's hidden size is 64"), r.err());
    }
}
