package dev.sahara.testing;

import java.io.IOException;
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

    public static double maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
        return m;
    }
}
