package dev.sahara.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.model.Json;
import dev.sahara.report.ResultFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
    void headProjectionRanksTheCarrierFirstAndAblatingItDropsTheProjection() {
        Path out = tmp.resolve("hp");
        CliTestSupport r = CliTestSupport.run("head-projection", "--direction", plantedDirection().toString(), "--limit", "20", "--ablate", "L1H2",
                "--out", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        JsonNode o = Json.readObject(out.resolve("head_projection.json"));
        double[][] s = new double[3][4];
        for (int l = 0; l < 3; l++) for (int h = 0; h < 4; h++) s[l][h] = o.get("scores").get(l).get(h).asDouble();
        System.out.println("head-projection scores: " + o.get("scores"));
        assertTrue(s[1][2] > 5, "the carrier writes C ≈ +1 × 8 on harmful prompts (7.16 measured): " + s[1][2]);
        for (int l = 0; l < 3; l++) for (int h = 0; h < 4; h++) if (l != 1 || h != 2) assertTrue(Math.abs(s[l][h]) < 0.05, "L" + l + "H" + h + ": " + s[l][h]);
        JsonNode at2 = o.at("/ablated/layers/0");
        assertEquals(2, at2.get("layer").asInt());
        assertTrue(at2.get("relative_drop").asDouble() > 0.8, at2.toString());
        assertTrue(r.out().startsWith("top heads: L1H2"), r.out());
        System.out.println(r.out());

        CliTestSupport c = CliTestSupport.run("compare", out.toString(), out.toString(), "--out", tmp.resolve("cmp").toString(), "--json");
        assertEquals(0, c.exitCode(), c.err());
        assertEquals(1.0, Json.readObject(tmp.resolve("cmp/compare.json")).get("spearman").asDouble(), 1e-12);
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
