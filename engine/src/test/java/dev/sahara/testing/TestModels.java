package dev.sahara.testing;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.DType;
import dev.sahara.model.Json;
import dev.sahara.model.SafeTensorsWriter;
import dev.sahara.model.TensorData;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Where the repository's test models live, and readers for their golden files. */
public final class TestModels {
    private TestModels() {}

    public static Path repo() {
        return Path.of(System.getProperty("sahara.repo", "..")).toAbsolutePath().normalize();
    }

    public static Path stories260K() { return repo().resolve("test-models/stories260K"); }

    public static Path tiny(String name) { return repo().resolve("test-models/tiny").resolve(name); }

    public static final List<String> TINY = List.of("llama-mha-f32-tied", "llama-gqa-bf16", "llama3-rope-f16", "qwen2-bias-bf16", "mistral-sharded-f32");

    /** A llama2.c logits file: '#' header lines, then one value per line. */
    public static float[] readLogits(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file).stream().filter(l -> !l.startsWith("#") && !l.isBlank()).toList();
        float[] out = new float[lines.size()];
        for (int i = 0; i < out.length; i++) out[i] = Float.parseFloat(lines.get(i).strip());
        return out;
    }

    /** Token ids of golden/tokens_once_upon_a_time.txt: lines "pos token" after '#' headers. */
    public static int[] readTokens(Path file) throws IOException {
        List<Integer> ids = new ArrayList<>();
        for (String l : Files.readAllLines(file)) {
            if (l.startsWith("#") || l.isBlank()) continue;
            String[] parts = l.strip().split("\\s+");
            ids.add(Integer.parseInt(parts[parts.length - 1]));
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * llama-mha-f32-tied as a Llama with attention_bias, written into {@code dir}: zero q/k/v biases and an o_proj bias
     * of {@code oBias} in every element (transformers' LlamaAttention has all four).
     */
    public static Path withAttentionBiases(Path dir, float oBias) throws IOException {
        Path src = tiny("llama-mha-f32-tied");
        Files.createDirectories(dir);
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "generation_config.json")) Files.copy(src.resolve(f), dir.resolve(f));
        ObjectNode c = (ObjectNode) Json.readObject(src.resolve("config.json"));
        c.put("attention_bias", true);
        Json.MAPPER.writeValue(dir.resolve("config.json").toFile(), c);
        try (Checkpoint ck = Checkpoint.open(src); Arena arena = Arena.ofConfined()) {
            List<SafeTensorsWriter.Entry> entries = new ArrayList<>();
            for (TensorData t : ck.tensors().values()) entries.add(SafeTensorsWriter.Entry.of(t));
            int dim = ck.config().hiddenSize(), q = ck.config().qDim(), kv = ck.config().kvDim();
            for (int l = 0; l < ck.config().numLayers(); l++) {
                String p = "model.layers." + l + ".self_attn.";
                entries.add(vector(arena, p + "q_proj.bias", q, 0f));
                entries.add(vector(arena, p + "k_proj.bias", kv, 0f));
                entries.add(vector(arena, p + "v_proj.bias", kv, 0f));
                entries.add(vector(arena, p + "o_proj.bias", dim, oBias));
            }
            SafeTensorsWriter.write(dir.resolve("model.safetensors"), entries, SafeTensorsWriter.ptMetadata());
        }
        return dir;
    }

    private static SafeTensorsWriter.Entry vector(Arena arena, String name, int n, float value) {
        MemorySegment s = arena.allocate(4L * n);
        for (int i = 0; i < n; i++) s.set(TensorData.F32_LE, 4L * i, value);
        return new SafeTensorsWriter.Entry(name, DType.F32, new long[] {n}, s);
    }

    public static double maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
        return m;
    }
}
