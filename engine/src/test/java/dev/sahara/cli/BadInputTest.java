package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.model.Json;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every kind of bad model input gives exit code 2 and one line naming the file and the problem — tested
 * through the real CLI on broken copies of a tiny test model.
 */
class BadInputTest {
    @TempDir
    Path tmp;

    /** A copy of a tiny model, then {@code breakIt} applied to it. */
    Path broken(String model, Consumer<Path> breakIt) throws IOException {
        Path dir = Files.createTempDirectory(tmp, "case").resolve("m");
        Files.createDirectories(dir);
        try (var files = Files.list(TestModels.tiny(model))) {
            for (Path f : files.toList()) if (Files.isRegularFile(f)) Files.copy(f, dir.resolve(f.getFileName()));
        }
        breakIt.accept(dir);
        return dir;
    }

    static void editConfig(Path dir, Consumer<ObjectNode> edit) {
        ObjectNode c = (ObjectNode) Json.readObject(dir.resolve("config.json"));
        edit.accept(c);
        try {
            Json.MAPPER.writeValue(dir.resolve("config.json").toFile(), c);
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    static void assertError(Path dir, String fileName, String problem) {
        CliTestSupport r = CliTestSupport.run("logits", "--model", dir.toString(), "--token-ids", "1,2,3");
        assertEquals(2, r.exitCode(), r.err());
        String line = r.errorLine();
        assertTrue(line.contains(fileName), "names the file " + fileName + ": " + line);
        assertTrue(line.contains(problem), "says '" + problem + "': " + line);
        assertEquals("", r.out(), "nothing on stdout");
    }

    @Test
    void missingFolderAndConfig() throws IOException {
        assertError(tmp.resolve("nope"), "nope", "does not exist");
        assertError(broken("llama-mha-f32-tied", d -> delete(d.resolve("config.json"))), "config.json", "missing");
    }

    @Test
    void malformedConfig() throws IOException {
        assertError(broken("llama-mha-f32-tied", d -> write(d.resolve("config.json"), "{\"architectures\": [")), "config.json", "malformed JSON");
        assertError(broken("llama-mha-f32-tied", d -> editConfig(d, c -> c.put("hidden_size", -4))), "config.json", "hidden_size must be a positive integer");
        assertError(broken("llama-mha-f32-tied", d -> editConfig(d, c -> c.remove("num_hidden_layers"))), "config.json", "missing num_hidden_layers");
    }

    @Test
    void unsupportedArchitectureRopeAndQuantization() throws IOException {
        assertError(broken("llama-mha-f32-tied", d -> editConfig(d, c -> c.putArray("architectures").add("GPT2LMHeadModel"))),
                "config.json", "architecture GPT2LMHeadModel is not supported");
        assertError(broken("llama-mha-f32-tied", d -> editConfig(d, c -> c.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 4.0))),
                "config.json", "rope_scaling type 'yarn' is not supported");
        assertError(broken("llama-mha-f32-tied", d -> editConfig(d, c -> c.putObject("quantization_config").put("quant_method", "gptq"))),
                "config.json", "quantized checkpoints are not supported");
    }

    @Test
    void pickleWeightsOnly() throws IOException {
        assertError(broken("llama-mha-f32-tied", d -> {
            delete(d.resolve("model.safetensors"));
            write(d.resolve("pytorch_model.bin"), "not really a pickle");
        }), "m", "pickle .bin weights, which are not supported");
    }

    @Test
    void missingWeights() throws IOException {
        assertError(broken("llama-mha-f32-tied", d -> delete(d.resolve("model.safetensors"))), "m", "missing model.safetensors");
    }

    @Test
    void truncatedAndGarbageSafetensors() throws IOException {
        assertError(broken("llama-mha-f32-tied", d -> truncate(d.resolve("model.safetensors"), 5000)), "model.safetensors", "truncated file?");
        assertError(broken("llama-mha-f32-tied", d -> write(d.resolve("model.safetensors"), "hello")), "model.safetensors", "not a safetensors file");
        assertError(broken("llama-mha-f32-tied", d -> {
            ByteBuffer b = ByteBuffer.allocate(8 + 4).order(ByteOrder.LITTLE_ENDIAN).putLong(4).put("{[}]".getBytes(StandardCharsets.US_ASCII));
            writeBytes(d.resolve("model.safetensors"), b.array());
        }), "model.safetensors", "not JSON");
    }

    @Test
    void quantizedDtypeTensor() throws IOException {
        byte[] header = "{\"model.embed_tokens.weight\":{\"dtype\":\"I8\",\"shape\":[2,2],\"data_offsets\":[0,4]}}".getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + 4).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).put(header);
        assertError(broken("llama-mha-f32-tied", d -> writeBytes(d.resolve("model.safetensors"), b.array())), "model.safetensors", "dtype I8 is not supported");
    }

    @Test
    void missingTensorAndWrongShape() throws IOException {
        // the config promises one layer more than the weights hold
        assertError(broken("llama-mha-f32-tied", d -> editConfig(d, c -> c.put("num_hidden_layers", 3))), "model.safetensors", "missing tensor model.layers.2.");
        assertError(broken("llama-mha-f32-tied", d -> editConfig(d, c -> c.put("intermediate_size", 65))), "model.safetensors", "has shape [64, 48], config.json implies [65, 48]");
        // untied config but no lm_head.weight
        assertError(broken("llama-mha-f32-tied", d -> editConfig(d, c -> c.put("tie_word_embeddings", false))), "model.safetensors", "missing tensor lm_head.weight");
    }

    @Test
    void missingShard() throws IOException {
        Path d = broken("mistral-sharded-f32", x -> delete(x.resolve("model-00002-of-00002.safetensors")));
        assertError(d, "model-00002-of-00002.safetensors", "missing shard");
    }

    @Test
    void missingTokenizerWhenOneIsNeeded() throws IOException {
        Path d = broken("llama-mha-f32-tied", x -> delete(x.resolve("tokenizer.json")));
        CliTestSupport r = CliTestSupport.run("logits", "--model", d.toString(), "--prompt", "hello");
        assertEquals(2, r.exitCode());
        assertTrue(r.errorLine().contains("tokenizer.json"), r.err());
    }

    @Test
    void badHeadIdsAndOptions() {
        String m = TestModels.tiny("llama-gqa-bf16").toString();
        CliTestSupport r = CliTestSupport.run("logits", "--model", m, "--token-ids", "1,2", "--ablate", "L9H0");
        assertEquals(2, r.exitCode());
        assertTrue(r.errorLine().contains("head L9H0 does not exist: the model has layers 0-2 and heads 0-3"), r.err());
        r = CliTestSupport.run("logits", "--model", m, "--token-ids", "1,2", "--ablate", "L1X2");
        assertTrue(r.errorLine().contains("bad head id 'L1X2'"), r.err());
        r = CliTestSupport.run("logits", "--model", m, "--token-ids", "1,2", "--ablate", "L1H2", "--ablation", "undiff-k");
        assertEquals(2, r.exitCode());
        assertTrue(r.errorLine().contains("--allow-grouped-kv"), r.err());
        r = CliTestSupport.run("logits", "--model", m, "--token-ids", "1,2", "--ablate", "L1H2", "--epsilon", "-1");
        assertTrue(r.errorLine().contains("--epsilon must be a finite number >= 0"), r.err());
        r = CliTestSupport.run("logits", "--model", m, "--token-ids", "1,99999");
        assertTrue(r.errorLine().contains("outside the vocabulary"), r.err());
        r = CliTestSupport.run("generate", "--model", m, "--prompt", "x", "--max-tokens", "-3");
        assertEquals(2, r.exitCode());
        assertTrue(r.errorLine().contains("--max-tokens must be >= 0"), r.err());
    }

    static void delete(Path p) {
        try {
            Files.delete(p);
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    static void write(Path p, String s) { writeBytes(p, s.getBytes(StandardCharsets.UTF_8)); }

    static void writeBytes(Path p, byte[] b) {
        try {
            Files.write(p, b);
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    static void truncate(Path p, int bytes) {
        try {
            byte[] all = Files.readAllBytes(p);
            Files.write(p, java.util.Arrays.copyOf(all, bytes));
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }
}
