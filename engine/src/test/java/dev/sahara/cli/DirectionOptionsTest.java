package dev.sahara.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.ResidualDirection;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.TokenBatch;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.Json;
import dev.sahara.report.CandidateLog;
import dev.sahara.testing.TestDirections;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * --ablate-direction FILE and --add-direction FILE --coefficient C: the forward's direction edits from the command
 * line, recorded in result headers (file, sha256, layer, position, coefficient); a direction of another model, a
 * missing coefficient, and the options on a command that searches for heads are one error each.
 */
class DirectionOptionsTest {
    static final String MODEL = TestModels.tiny("llama-gqa-bf16").toString();
    static final int[] IDS = {1, 403, 407, 261, 378};

    @TempDir
    Path tmp;

    /** A direction.json as the direction command writes it (its "direction" object; other fields are the run's record). */
    static Path write(Path file, ResidualDirection d) throws Exception {
        var o = Json.MAPPER.createObjectNode();
        o.put("command", "direction");
        var dir = o.putObject("direction");
        dir.put("layer", d.layer()).put("position", d.position());
        var v = dir.putArray("vector");
        for (float f : d.vector()) v.add(f);
        Files.writeString(file, o.toString());
        return file;
    }

    private static float[] logits(CliTestSupport r) throws Exception {
        assertEquals(0, r.exitCode(), r.err());
        JsonNode l = Json.MAPPER.readTree(r.out()).get("logits");
        float[] f = new float[l.size()];
        for (int i = 0; i < f.length; i++) f[i] = l.get(i).floatValue();
        return f;
    }

    @Test
    void logitsTakeTheDirectionEditsAsTheForwardDoes() throws Exception {
        ResidualDirection d = TestDirections.random(48, 1, 5);
        Path file = write(tmp.resolve("direction.json"), d);
        String ids = "1,403,407,261,378";
        float[] ablated = logits(CliTestSupport.run("logits", "--model", MODEL, "--token-ids", ids, "--ablate-direction", file.toString()));
        float[] added = logits(CliTestSupport.run("logits", "--model", MODEL, "--token-ids", ids, "--add-direction", file.toString(), "--coefficient", "-2.5"));
        float[] both = logits(CliTestSupport.run("logits", "--model", MODEL, "--token-ids", ids, "--ablate", "L1H2", "--ablate-direction", file.toString(),
                "--add-direction", file.toString(), "--coefficient", "1"));
        try (LlamaModel m = new LlamaModel(Checkpoint.open(Path.of(MODEL)), new CpuBackend(2))) {
            TokenBatch batch = TokenBatch.pack(List.of(IDS));
            assertArrayEquals(m.forward(batch, Ablation.none().withDirectionAblated(d), LlamaModel.Outputs.LAST_LOGITS).lastLogits()[0], ablated);
            assertArrayEquals(m.forward(batch, Ablation.none().withDirectionAdded(d, -2.5f), LlamaModel.Outputs.LAST_LOGITS).lastLogits()[0], added);
            Ablation all = Ablation.of(List.of(new dev.sahara.ablate.HeadId(1, 2)), dev.sahara.ablate.AblationMode.UNDIFF_Q, AblationOptions.EVAL_EPSILON)
                    .withDirectionAblated(d).withDirectionAdded(d, 1f);
            assertArrayEquals(m.forward(batch, all, LlamaModel.Outputs.LAST_LOGITS).lastLogits()[0], both);
        }
    }

    @Test
    void resultHeadersRecordTheDirection() throws Exception {
        Path file = write(tmp.resolve("direction.json"), TestDirections.random(48, 2, 6));
        Path out = tmp.resolve("asr");
        CliTestSupport r = CliTestSupport.run("asr", "--model", MODEL, "--dataset", "builtin:harmless", "--limit", "2", "--max-tokens", "3",
                "--ablate-direction", file.toString(), "--add-direction", file.toString(), "--coefficient", "0.5", "--out", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        JsonNode o = Json.MAPPER.readTree(out.resolve("asr.json").toFile());
        String sha = CandidateLog.sha256(Files.readAllBytes(file));
        assertEquals("direction-ablated(" + file + "),direction-added(" + file + ",0.5)", o.get("ablation").asText());
        for (String edit : List.of("direction_ablated", "direction_added")) {
            JsonNode e = o.get(edit);
            assertEquals(file.toString(), e.get("file").asText(), edit);
            assertEquals(sha, e.get("sha256").asText(), edit);
            assertEquals(2, e.get("layer").asInt(), edit);
            assertEquals(-1, e.get("position").asInt(), edit);
        }
        assertEquals(0.5, o.get("direction_added").get("coefficient").asDouble());
        assertFalse(o.get("direction_ablated").has("coefficient"));
        // without direction edits the header is what it was
        Path plain = tmp.resolve("plain");
        assertEquals(0, CliTestSupport.run("asr", "--model", MODEL, "--dataset", "builtin:harmless", "--limit", "1", "--max-tokens", "2",
                "--out", plain.toString()).exitCode());
        JsonNode p = Json.MAPPER.readTree(plain.resolve("asr.json").toFile());
        assertFalse(p.has("direction_ablated") || p.has("direction_added"), p.toString());
    }

    @Test
    void aDirectionOfAnotherModelIsOneErrorNamingTheFile() throws Exception {
        Path file = write(tmp.resolve("other-model.json"), TestDirections.random(64, 0, 1));
        for (String option : List.of("--ablate-direction", "--add-direction")) {
            CliTestSupport r = option.equals("--ablate-direction")
                    ? CliTestSupport.run("logits", "--model", MODEL, "--token-ids", "1,2", option, file.toString())
                    : CliTestSupport.run("logits", "--model", MODEL, "--token-ids", "1,2", option, file.toString(), "--coefficient", "1");
            assertEquals(2, r.exitCode(), r.err());
            assertEquals(file + ": the direction has 64 values, the model's hidden size is 48", r.errorLine());
        }
        Path layer = write(tmp.resolve("deep.json"), TestDirections.random(48, 7, 1));
        CliTestSupport r = CliTestSupport.run("logits", "--model", MODEL, "--token-ids", "1,2", "--ablate-direction", layer.toString());
        assertTrue(r.errorLine().startsWith(layer + ": the direction's layer 7 is not one of the model's layers 0-2"), r.err());
    }

    @Test
    void anAddedDirectionNeedsItsCoefficientAndTheSearchCommandsRefuseDirections() throws Exception {
        Path file = write(tmp.resolve("direction.json"), TestDirections.random(48, 1, 2));
        CliTestSupport r = CliTestSupport.run("logits", "--model", MODEL, "--token-ids", "1,2", "--add-direction", file.toString());
        assertEquals("--add-direction needs --coefficient C (the multiple of the direction added)", r.errorLine());
        r = CliTestSupport.run("logits", "--model", MODEL, "--token-ids", "1,2", "--coefficient", "2");
        assertEquals("--coefficient given without --add-direction FILE", r.errorLine());
        for (String command : List.of("ships", "sweep", "attribute", "ships-asr")) {
            r = CliTestSupport.run(command, "--model", MODEL, "--ablate-direction", file.toString());
            assertEquals(2, r.exitCode(), command + ": " + r.err());
            assertTrue(r.errorLine().startsWith(command + " ranks heads on the unedited model and takes no direction edit"), r.err());
        }
    }
}
