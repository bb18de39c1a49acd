package dev.sahara.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sahara.SaharaException;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * A Hugging Face model folder: config.json plus model.safetensors, or shards listed in
 * model.safetensors.index.json. Tensors are memory-mapped in a shared arena (threads read them) and stay
 * mapped until {@link #close()}; nothing is copied onto the heap, so a 13 GB checkpoint loads on a 24 GB machine.
 */
public final class Checkpoint implements AutoCloseable {
    private final Path dir;
    private final ModelConfig config;
    private final Map<String, TensorData> tensors;
    private final Arena arena;

    private Checkpoint(Path dir, ModelConfig config, Map<String, TensorData> tensors, Arena arena) {
        this.dir = dir;
        this.config = config;
        this.tensors = tensors;
        this.arena = arena;
    }

    public static Checkpoint open(Path dir) {
        ModelConfig config = ModelConfig.load(dir);
        Arena arena = Arena.ofShared();
        try {
            return new Checkpoint(dir, config, readTensors(dir, arena), arena);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * A checkpoint whose tensors were made in memory (see {@link SyntheticModels}); {@code dir} only names it in
     * messages. Closing it closes {@code arena}.
     */
    public static Checkpoint inMemory(Path dir, ModelConfig config, Map<String, TensorData> tensors, Arena arena) {
        return new Checkpoint(dir, config, tensors, arena);
    }

    private static Map<String, TensorData> readTensors(Path dir, Arena arena) {
        Path single = dir.resolve("model.safetensors");
        Path index = dir.resolve("model.safetensors.index.json");
        if (Files.isRegularFile(single)) return SafeTensors.read(single, arena);
        if (Files.isRegularFile(index)) return readSharded(dir, index, arena);
        if (Files.isRegularFile(dir.resolve("pytorch_model.bin")) || Files.isRegularFile(dir.resolve("pytorch_model.bin.index.json"))) {
            throw SaharaException.inFile(dir, "has only pickle .bin weights, which are not supported (unsafe to load); convert them to safetensors");
        }
        throw SaharaException.inFile(dir, "missing model.safetensors (or model.safetensors.index.json with its shards)");
    }

    private static Map<String, TensorData> readSharded(Path dir, Path index, Arena arena) {
        JsonNode weightMap = Json.readObject(index).path("weight_map");
        if (!weightMap.isObject() || weightMap.isEmpty()) throw SaharaException.inFile(index, "missing or empty weight_map");
        Set<String> shards = new LinkedHashSet<>();
        for (JsonNode v : weightMap) {
            String shard = v.asText("");
            Path p = dir.resolve(shard).toAbsolutePath().normalize();
            if (!v.isTextual() || shard.isEmpty() || !dir.toAbsolutePath().normalize().equals(p.getParent())) {
                throw SaharaException.inFile(index, "weight_map names '" + shard + "', which is not a file in the model folder");
            }
            shards.add(shard);
        }
        Map<String, TensorData> all = new LinkedHashMap<>();
        for (String shard : shards) {
            Path p = dir.resolve(shard);
            if (!Files.isRegularFile(p)) throw SaharaException.inFile(p, "missing shard listed in " + index.getFileName());
            all.putAll(SafeTensors.read(p, arena));
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            TensorData t = all.get(e.getKey());
            if (t == null || !t.file().getFileName().toString().equals(e.getValue().asText())) {
                throw SaharaException.inFile(dir.resolve(e.getValue().asText()), "missing tensor " + e.getKey() + " (listed in " + index.getFileName() + ")");
            }
        }
        return all;
    }

    public Path dir() { return dir; }

    public ModelConfig config() { return config; }

    public Map<String, TensorData> tensors() { return tensors; }

    public boolean has(String name) { return tensors.containsKey(name); }

    /** The named tensor, checked to have exactly {@code shape}; a clear error naming the file otherwise. */
    public TensorData tensor(String name, long... shape) {
        TensorData t = tensors.get(name);
        if (t == null) throw SaharaException.inFile(weightsFileName(), "missing tensor " + name);
        if (!Arrays.equals(t.shape(), shape)) {
            throw SaharaException.inFile(t.file(), "tensor " + name + " has shape " + t.shapeString() + ", config.json implies " + Arrays.toString(shape));
        }
        return t;
    }

    private Path weightsFileName() {
        Path single = dir.resolve("model.safetensors");
        return Files.isRegularFile(single) ? single : dir.resolve("model.safetensors.index.json");
    }

    /** Total number of parameters (elements) in the checkpoint. */
    public long parameterCount() {
        return tensors.values().stream().mapToLong(TensorData::elementCount).sum();
    }

    @Override
    public void close() { arena.close(); }
}
