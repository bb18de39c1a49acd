package dev.sahara.model;

import dev.sahara.SaharaException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Test models carried inside engine.jar ({@code builtin:planted}, {@code builtin:stories260K}) so the front door
 * works with no download. Weights are memory-mapped, so a builtin model is copied to a temporary folder,
 * removed when the JVM exits.
 */
public final class BuiltinModels {
    static final Map<String, String> RESOURCE = Map.of("planted", "/models/planted/", "stories260K", "/models/stories260K/");
    private static final List<String> FILES = List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json");

    private BuiltinModels() {}

    public static Path resolve(String spec) {
        if (!spec.startsWith("builtin:")) return Path.of(spec);
        String name = spec.substring("builtin:".length());
        String base = RESOURCE.get(name);
        if (base == null) throw new SaharaException("--model " + spec + ": unknown builtin model; use builtin:" + String.join(" or builtin:", RESOURCE.keySet().stream().sorted().toList())
                + ", or a Hugging Face model folder");
        try {
            Path dir = Files.createTempDirectory("sahara-" + name + "-");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteQuietly(dir)));
            for (String f : FILES) {
                try (InputStream in = BuiltinModels.class.getResourceAsStream(base + f)) {
                    if (in == null) continue;
                    Files.copy(in, dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            return dir;
        } catch (IOException e) {
            throw new SaharaException("cannot unpack builtin model " + name + ": " + e.getMessage());
        }
    }

    private static void deleteQuietly(Path dir) {
        try (var files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temp folder left behind is harmless
        }
    }
}
