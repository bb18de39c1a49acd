package dev.sahara.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.ablate.Ablation;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.llama.Forward;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.TokenBatch;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.Json;
import dev.sahara.model.ModelConfig;
import dev.sahara.model.Tokenizer;
import dev.sahara.testing.TestModels;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.Size;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Hostile model folders: config.json (arbitrary bytes, or the real file with hostile values in its fields) all
 * the way through loading the weights and one forward; tokenizer.json and tokenizer_config.json with random
 * byte edits and hostile field values. Each gives a working model/tokenizer or one SaharaException line naming
 * the file — never another exception, an absurd allocation or a crash.
 */
class ModelFilesFuzzTest {
    private static Path folder;

    /** A private copy of a tiny model; each try rewrites the file it fuzzes. */
    static synchronized Path model() {
        if (folder == null) {
            try {
                folder = Files.createTempDirectory("sahara-fuzz-model");
                try (var files = Files.list(TestModels.tiny("llama-gqa-bf16"))) {
                    for (Path f : files.toList()) if (Files.isRegularFile(f)) Files.copy(f, folder.resolve(f.getFileName()));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return folder;
    }

    static byte[] original(String file) {
        try {
            return Files.readAllBytes(TestModels.tiny("llama-gqa-bf16").resolve(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void write(String file, byte[] bytes) {
        try {
            Files.write(model().resolve(file), bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Loads config + weights and runs one forward of three tokens; fine or one SaharaException naming a file. */
    static void loadAndRun() {
        long t0 = System.nanoTime();
        try (LlamaModel m = new LlamaModel(Checkpoint.open(model()), new CpuBackend(1))) {
            int v = m.config().vocabSize();
            m.forward(Forward.of(TokenBatch.pack(List.of(new int[] {1 % v, 2 % v, 3 % v})), Ablation.none()));
        } catch (SaharaException e) {
            Fuzz.assertOneLine(e, null);
        } finally {
            write("config.json", original("config.json"));
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        if (ms > 20_000) throw new AssertionError("load + forward took " + ms + " ms: a hang?");
    }

    @Property(tries = 150, seed = "20261130")
    void configArbitraryBytes(@ForAll @Size(max = 200) byte[] bytes) {
        write("config.json", bytes);
        try {
            ModelConfig.load(model());
        } catch (SaharaException e) {
            Fuzz.assertOneLine(e, "config.json");
        } finally {
            write("config.json", original("config.json"));
        }
    }

    @Property(tries = 80, seed = "20261131")
    void configHostileValues(@ForAll("configEdits") Map<String, String> edits) throws IOException {
        ObjectNode c = (ObjectNode) Json.MAPPER.readTree(original("config.json"));
        for (Map.Entry<String, String> e : edits.entrySet()) c.set(e.getKey(), Json.MAPPER.readTree(e.getValue()));
        write("config.json", Json.MAPPER.writeValueAsBytes(c));
        loadAndRun();
    }

    static Arbitrary<String> hostileValue() {
        return Arbitraries.oneOf(
                Arbitraries.of("0", "-1", "1", "2", "3", "4", "7", "8", "12", "16", "24", "48", "96", "512", "513", "2147483647", "2147483648", "-2147483648",
                        "9223372036854775807", "1e308", "1e400", "-1e400", "1e-320", "1e-50", "0.5", "2.5", "null", "true", "\"48\"", "[]", "{}", "[48]",
                        "{\"type\":\"llama3\",\"factor\":8,\"low_freq_factor\":1,\"high_freq_factor\":4,\"original_max_position_embeddings\":8192}",
                        "{\"type\":\"linear\",\"factor\":0}", "{\"type\":\"dynamic\",\"factor\":2}", "[\"LlamaForCausalLM\"]", "[\"GPT2LMHeadModel\"]",
                        "[\"LlamaForCausalLM\",\"LlamaForCausalLM\"]", "\"gelu\"", "\"silu\""),
                Arbitraries.integers().map(String::valueOf));
    }

    @Provide
    Arbitrary<Map<String, String>> configEdits() {
        Arbitrary<String> key = Arbitraries.of("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
                "head_dim", "vocab_size", "rms_norm_eps", "rope_theta", "rope_scaling", "max_position_embeddings", "architectures", "tie_word_embeddings",
                "hidden_act", "sliding_window", "use_sliding_window", "attention_bias", "mlp_bias", "partial_rotary_factor", "quantization_config");
        return Arbitraries.maps(key, hostileValue()).ofMinSize(1).ofMaxSize(3);
    }

    // ---- tokenizer files ----

    static void loadTokenizer(String fuzzed) {
        try (Tokenizer t = Tokenizer.load(model())) {
            int[] ids = t.encode("How do I ## Query: bake <s> bread?", true);
            t.decode(ids, true);
        } catch (SaharaException e) {
            Fuzz.assertOneLine(e, fuzzed);
        } finally {
            write(fuzzed, original(fuzzed));
        }
    }

    /** Random byte edits (replace, delete, insert) and a truncation of tokenizer.json. */
    @Property(tries = 60, seed = "20261132")
    void tokenizerJsonByteEdits(@ForAll("byteEdits") List<Tuple.Tuple3<Integer, Integer, Byte>> edits, @ForAll("cut") int cut) {
        byte[] b = applyEdits(original("tokenizer.json"), edits);
        if (cut > 0 && cut < b.length) b = java.util.Arrays.copyOf(b, cut);
        write("tokenizer.json", b);
        loadTokenizer("tokenizer.json");
    }

    @Property(tries = 60, seed = "20261133")
    void tokenizerConfigHostileValues(@ForAll("tokenizerConfigEdits") Map<String, String> edits) throws IOException {
        ObjectNode c = (ObjectNode) Json.MAPPER.readTree(original("tokenizer_config.json"));
        for (Map.Entry<String, String> e : edits.entrySet()) c.set(e.getKey(), Json.MAPPER.readTree(e.getValue()));
        write("tokenizer_config.json", Json.MAPPER.writeValueAsBytes(c));
        loadTokenizer("tokenizer_config.json");
    }

    @Provide
    Arbitrary<Map<String, String>> tokenizerConfigEdits() {
        Arbitrary<String> key = Arbitraries.of("bos_token", "eos_token", "add_bos_token", "add_eos_token", "clean_up_tokenization_spaces", "chat_template");
        Arbitrary<String> value = Arbitraries.oneOf(hostileValue(), Arbitraries.of("\"<s>\"", "\"</s>\"", "\"<nope>\"", "{\"content\":\"<s>\"}", "{\"content\":3}",
                "\"{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}\"", "\"{% for %}\"", "[{\"name\":\"default\",\"template\":\"x\"}]",
                "[{\"name\":1}]", "false"));
        return Arbitraries.maps(key, value).ofMinSize(1).ofMaxSize(3);
    }

    @Provide
    Arbitrary<List<Tuple.Tuple3<Integer, Integer, Byte>>> byteEdits() {
        Arbitrary<Byte> chars = Arbitraries.oneOf(Arbitraries.bytes(), Arbitraries.of((byte) '"', (byte) '{', (byte) '}', (byte) '[', (byte) ']', (byte) ',',
                (byte) ':', (byte) '9', (byte) '-', (byte) '\\'));
        return Combinators.combine(Arbitraries.integers().between(0, 2), Arbitraries.integers().between(0, Integer.MAX_VALUE), chars)
                .as(Tuple::of).list().ofMinSize(1).ofMaxSize(4);
    }

    @Provide
    Arbitrary<Integer> cut() { return Arbitraries.frequencyOf(Tuple.of(4, Arbitraries.just(0)), Tuple.of(1, Arbitraries.integers().between(1, 20000))); }

    static byte[] applyEdits(byte[] b, List<Tuple.Tuple3<Integer, Integer, Byte>> edits) {
        for (Tuple.Tuple3<Integer, Integer, Byte> e : edits) {
            if (b.length == 0) break;
            int at = e.get2() % b.length;
            switch (e.get1()) {
                case 0 -> b[at] = e.get3();
                case 1 -> {
                    byte[] n = new byte[b.length - 1];
                    System.arraycopy(b, 0, n, 0, at);
                    System.arraycopy(b, at + 1, n, at, b.length - at - 1);
                    b = n;
                }
                default -> {
                    byte[] n = new byte[b.length + 1];
                    System.arraycopy(b, 0, n, 0, at);
                    n[at] = e.get3();
                    System.arraycopy(b, at, n, at + 1, b.length - at);
                    b = n;
                }
            }
        }
        return b;
    }

    /** Random byte edits of the real model.safetensors (header and data), then load and run. */
    @Property(tries = 60, seed = "20261134")
    void safetensorsByteEdits(@ForAll("byteEdits") List<Tuple.Tuple3<Integer, Integer, Byte>> edits) {
        byte[] orig = original("model.safetensors");
        // aim most edits at the header, where they matter
        long headerLen = java.nio.ByteBuffer.wrap(orig, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        List<Tuple.Tuple3<Integer, Integer, Byte>> aimed = edits.stream()
                .map(e -> Tuple.of(e.get1(), e.get2() % 4 == 0 ? e.get2() : (int) (e.get2() % (headerLen + 8)), e.get3())).toList();
        write("model.safetensors", applyEdits(orig, aimed));
        try {
            loadAndRun();
        } finally {
            write("model.safetensors", orig);
        }
    }

}
