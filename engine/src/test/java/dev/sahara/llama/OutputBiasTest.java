package dev.sahara.llama;

import dev.sahara.ablate.Ablation;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.model.Checkpoint;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
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

    Path withBiases(float oBias) throws Exception { return TestModels.withAttentionBiases(tmp.resolve("bias" + oBias), oBias); }

    static float[] logits(Path dir, dev.sahara.backend.Backend b) {
        try (LlamaModel m = new LlamaModel(Checkpoint.open(dir), b)) {
            return m.forward(TokenBatch.pack(List.of(new int[] {1, 403, 407, 261, 378})), Ablation.none(), LlamaModel.Outputs.LAST_LOGITS).lastLogits()[0];
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
