package dev.sahara.llama;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.ablate.Ablation;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.DType;
import dev.sahara.model.Json;
import dev.sahara.model.SafeTensorsWriter;
import dev.sahara.model.TensorData;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A Llama config with attention_bias has biases on q, k, v and o_proj (transformers' LlamaAttention). Zero
 * biases must give the unbiased model's logits exactly; an o_proj bias b adds b to every layer's attention output,
 * which the test reproduces by comparing against the reference backend on the same checkpoint.
 */
class OutputBiasTest {
    @TempDir
    Path tmp;

    Path withBiases(float oBias) throws Exception {
        Path src = TestModels.tiny("llama-mha-f32-tied"), dir = tmp.resolve("bias" + oBias);
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

    static SafeTensorsWriter.Entry vector(Arena arena, String name, int n, float value) {
        MemorySegment s = arena.allocate(4L * n);
        for (int i = 0; i < n; i++) s.set(TensorData.F32_LE, 4L * i, value);
        return new SafeTensorsWriter.Entry(name, DType.F32, new long[] {n}, s);
    }

    static float[] logits(Path dir, dev.sahara.backend.Backend b) {
        try (LlamaModel m = new LlamaModel(Checkpoint.open(dir), b)) {
            return m.forward(Forward.of(TokenBatch.pack(List.of(new int[] {1, 403, 407, 261, 378})), Ablation.none())).lastLogits()[0];
        }
    }

    @Test
    void zeroBiasesChangeNothingAndTheOutputBiasIsApplied() throws Exception {
        float[] plain = logits(TestModels.tiny("llama-mha-f32-tied"), new CpuBackend(2));
        assertArrayEquals(plain, logits(withBiases(0f), new CpuBackend(2)));
        Path biased = withBiases(0.5f);
        float[] cpu = logits(biased, new CpuBackend(2)), ref = logits(biased, new dev.sahara.backend.reference.ReferenceBackend());
        assertArrayEquals(ref, cpu, 1e-4f);
        double diff = 0;
        for (int i = 0; i < plain.length; i++) diff = Math.max(diff, Math.abs(plain[i] - cpu[i]));
        assertEquals(true, diff > 1e-2, "an o_proj bias of 0.5 must move the logits, moved " + diff);
    }
}
