package dev.sahara.llama;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sahara.cli.CliTestSupport;
import dev.sahara.model.Json;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** NaN / Inf in the activations stops the run with one line naming the layer and the op — never a garbage score. */
class NumericGuardTest {
    @TempDir
    Path tmp;

    /** A copy of the F32 tiny model with {@code value} written into element {@code index} of {@code tensor}. */
    Path poisoned(String tensor, int index, float value) throws IOException {
        Path src = TestModels.tiny("llama-mha-f32-tied"), dir = tmp.resolve("m");
        Files.createDirectories(dir);
        try (var files = Files.list(src)) {
            for (Path f : files.toList()) if (Files.isRegularFile(f)) Files.copy(f, dir.resolve(f.getFileName()));
        }
        Path st = dir.resolve("model.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(st.toFile(), "rw")) {
            byte[] len = new byte[8];
            raf.readFully(len);
            long headerLen = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
            byte[] header = new byte[(int) headerLen];
            raf.readFully(header);
            JsonNode t = Json.MAPPER.readTree(new String(header, StandardCharsets.UTF_8)).get(tensor);
            assertEquals("F32", t.get("dtype").asText());
            raf.seek(8 + headerLen + t.get("data_offsets").get(0).asLong() + 4L * index);
            raf.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(value).array());
        }
        return dir;
    }

    @Test
    void nanInAWeightNamesLayerAndOp() throws IOException {
        Path m = poisoned("model.layers.1.self_attn.v_proj.weight", 5, Float.NaN);
        CliTestSupport r = CliTestSupport.run("logits", "--model", m.toString(), "--token-ids", "1,5,9");
        assertEquals(2, r.exitCode(), r.err());
        String line = r.errorLineAfterProgress();
        assertTrue(line.contains("layer 1") && line.contains("v_proj") && line.contains("NaN"), line);
        assertEquals("", r.out());

        r = CliTestSupport.run("sweep", "--model", m.toString(), "--limit", "3", "--out", tmp.resolve("s").toString());
        assertEquals(2, r.exitCode(), r.err());
        assertTrue(r.errorLineAfterProgress().contains("layer 1, output of v_proj at layer.1.attn.v"), r.err());
    }

    @Test
    void infThatOverflowsInTheMlpIsCaughtWhereItAppears() throws IOException {
        Path m = poisoned("model.layers.1.mlp.down_proj.weight", 0, Float.POSITIVE_INFINITY);
        CliTestSupport r = CliTestSupport.run("attribute", "--model", m.toString(), "--limit", "3", "--group-size", "1", "--no-asr",
                "--out", tmp.resolve("a").toString());
        assertEquals(2, r.exitCode(), r.err());
        String line = r.errorLineAfterProgress();
        assertTrue(line.contains("layer 1, output of down_proj at layer.1.mlp.out"), line);
    }
}
