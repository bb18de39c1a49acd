package dev.sahara.bench;

import dev.sahara.model.LlamaTensor;
import dev.sahara.model.ModelConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Writes a Llama checkpoint with random weights (config.json + model.safetensors) from a seed, in the layout of
 * tools/make_tiny_models.py: uniform weights with standard deviation 0.02, norms 1. The folder goes under
 * /dev/shm when it exists: tmpfs pages are not reclaimed like clean file pages (TOOLCHAIN.md), so the mapped
 * checkpoint stays resident for the whole benchmark.
 */
public record SyntheticLlama(String name, int dim, int hidden, int layers, int heads, int kvHeads, int vocab, boolean tied, String dtype) {
    /** ~110M parameters (GPT-2-small-sized Llama): 85M in the layers + a tied 32000 × 768 embedding, bf16 = 221 MB. */
    public static final SyntheticLlama LLAMA_110M = new SyntheticLlama("synthetic-110M", 768, 2048, 12, 12, 12, 32000, true, "BF16");

    public int headDim() { return dim / heads; }

    /** The config the written config.json gives (head_dim = dim / heads, as it writes no head_dim). */
    public ModelConfig config() {
        return new ModelConfig("LlamaForCausalLM", dim, hidden, layers, heads, kvHeads, headDim(), vocab, 1e-5f, 10000.0, null, tied, 2048, false, 0);
    }

    public long parameters() { return LlamaTensor.all(config()).stream().mapToLong(LlamaTensor.Entry::elements).sum(); }

    /** Creates the model folder (a fresh temporary directory) and returns it. */
    public Path write(long seed) {
        try {
            Path base = Files.isDirectory(Path.of("/dev/shm")) && Files.isWritable(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));
            Path dir = Files.createTempDirectory(base, "sahara-bench-" + name + "-");
            Files.writeString(dir.resolve("config.json"), configJson());
            writeSafetensors(dir.resolve("model.safetensors"), seed);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static void delete(Path dir) {
        if (dir == null) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a temp folder left behind is harmless
        }
    }

    private String configJson() {
        return """
                {
                  "architectures": ["LlamaForCausalLM"],
                  "model_type": "llama",
                  "hidden_size": %d,
                  "intermediate_size": %d,
                  "num_hidden_layers": %d,
                  "num_attention_heads": %d,
                  "num_key_value_heads": %d,
                  "vocab_size": %d,
                  "max_position_embeddings": 2048,
                  "rms_norm_eps": 1e-05,
                  "rope_theta": 10000.0,
                  "tie_word_embeddings": %s,
                  "torch_dtype": "%s",
                  "bos_token_id": 1,
                  "eos_token_id": 2,
                  "hidden_act": "silu"
                }
                """.formatted(dim, hidden, layers, heads, kvHeads, vocab, tied, dtype.equals("BF16") ? "bfloat16" : dtype.equals("F16") ? "float16" : "float32");
    }

    private void writeSafetensors(Path file, long seed) throws IOException {
        int bytes = dtype.equals("F32") ? 4 : 2;
        List<LlamaTensor.Entry> list = LlamaTensor.all(config());
        Map<String, String> entries = new LinkedHashMap<>();
        long offset = 0;
        for (LlamaTensor.Entry t : list) {
            long size = t.elements() * bytes;
            StringBuilder shape = new StringBuilder();
            for (long d : t.shape()) shape.append(shape.isEmpty() ? "" : ",").append(d);
            entries.put(t.name(), "{\"dtype\":\"" + dtype + "\",\"shape\":[" + shape + "],\"data_offsets\":[" + offset + "," + (offset + size) + "]}");
            offset += size;
        }
        StringBuilder header = new StringBuilder("{");
        entries.forEach((k, v) -> header.append(header.length() > 1 ? "," : "").append('"').append(k).append("\":").append(v));
        header.append('}');
        while ((header.length() + 8) % 8 != 0) header.append(' ');
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        SplittableRandom random = new SplittableRandom(seed);
        float amplitude = (float) (0.02 * Math.sqrt(3));   // uniform(-a, a) has standard deviation 0.02
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 22).order(ByteOrder.LITTLE_ENDIAN);
            buf.putLong(h.length).put(h);
            for (LlamaTensor.Entry t : list) {
                for (long i = 0; i < t.elements(); i++) {
                    if (buf.remaining() < 4) {
                        buf.flip();
                        while (buf.hasRemaining()) ch.write(buf);
                        buf.clear();
                    }
                    float v = t.norm() ? 1f : (float) ((random.nextDouble() * 2 - 1) * amplitude);
                    switch (dtype) {
                        case "F32" -> buf.putFloat(v);
                        case "F16" -> buf.putShort(Float.floatToFloat16(v));
                        default -> buf.putShort((short) ((Float.floatToIntBits(v) + 0x8000) >>> 16));
                    }
                }
            }
            buf.flip();
            while (buf.hasRemaining()) ch.write(buf);
        }
    }
}
