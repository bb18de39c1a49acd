package dev.sahara.model;

import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The tensor table names exactly the tensors, and shapes, of real checkpoints (biases and tied heads included). */
class LlamaTensorTest {
    @Test
    void tableIsEveryTestModelsTensors() {
        List<Path> models = new ArrayList<>(TestModels.TINY.stream().map(TestModels::tiny).toList());
        models.add(TestModels.stories260K());
        models.add(TestModels.repo().resolve("test-models/planted"));
        for (Path dir : models) {
            try (Checkpoint ck = Checkpoint.open(dir)) {
                Map<String, String> expected = new TreeMap<>(), table = new TreeMap<>();
                ck.tensors().forEach((name, t) -> expected.put(name, Arrays.toString(t.shape())));
                for (LlamaTensor.Entry e : LlamaTensor.all(ck.config())) table.put(e.name(), Arrays.toString(e.shape()));
                assertEquals(expected, table, dir.toString());
            }
        }
    }

    @Test
    void namesFollowHuggingFace() {
        assertEquals("model.layers.3.self_attn.q_proj.weight", LlamaTensor.Q_PROJ.name(3));
        assertEquals("model.embed_tokens.weight", LlamaTensor.EMBED_TOKENS.name(3));
    }
}
