package dev.sahara.backend.cuda;

import dev.sahara.ablate.Ablation;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.backend.reference.ReferenceBackend;
import dev.sahara.llama.Forward;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.TokenBatch;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.DType;
import dev.sahara.model.ModelConfig;
import dev.sahara.model.SyntheticModels;
import dev.sahara.model.TensorData;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** synthetic:NAME models (runs on the CPU): deterministic weights, real shapes, a sane forward. */
class SyntheticModelsTest {
    @Test
    void weightsAreDeterministic() {
        try (Checkpoint a = SyntheticModels.open("synthetic:tiny"); Checkpoint b = SyntheticModels.open("synthetic:tiny")) {
            for (TensorData t : a.tensors().values()) {
                TensorData u = b.tensors().get(t.name());
                assertEquals(-1L, t.data().mismatch(u.data()), t.name() + " differs between two builds");
            }
            TensorData q = a.tensors().get("model.layers.0.self_attn.q_proj.weight");
            double ss = 0;
            for (long i = 0; i < q.elementCount(); i++) ss += q.get(i) * q.get(i);
            double var = ss / q.elementCount();
            assertTrue(Math.abs(var * q.cols() - 1) < 0.1, "q_proj variance ≈ 1/cols, got " + var);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama-2-7b", "llama-3-8b"})
    void configsHaveTheRealShapes(String name) {
        ModelConfig c = SyntheticModels.config(name);
        assertEquals(32, c.numLayers());
        assertEquals(4096, c.hiddenSize());
        assertEquals(128, c.headDim());
        assertEquals(name.equals("llama-2-7b") ? 32 : 8, c.numKvHeads());
    }

    @ParameterizedTest
    @ValueSource(strings = {"synthetic:tiny", "synthetic:tiny:f32", "synthetic:tiny:f16"})
    void cpuForwardMatchesTheReference(String spec) {
        try (LlamaModel cpu = new LlamaModel(SyntheticModels.open(spec), new CpuBackend(2));
             LlamaModel ref = new LlamaModel(SyntheticModels.open(spec), new ReferenceBackend())) {
            assertEquals(spec.endsWith("f32") ? DType.F32 : spec.endsWith("f16") ? DType.F16 : DType.BF16,
                    cpu.checkpoint().tensors().get("model.norm.weight").dtype());
            TokenBatch batch = TokenBatch.pack(List.of(new int[] {1, 2, 3, 250}, new int[] {7}));
            float[][] a = cpu.forward(Forward.of(batch, Ablation.none())).lastLogits();
            float[][] b = ref.forward(Forward.of(batch, Ablation.none())).lastLogits();
            for (int s = 0; s < a.length; s++) {
                double spread = 0;
                for (float f : b[s]) spread = Math.max(spread, Math.abs(f));
                assertTrue(spread > 0.1 && spread < 100, spec + ": logits of a sane size, max |logit| " + spread);
                assertTrue(TestModels.maxAbsDiff(a[s], b[s]) < 1e-4, spec + ": cpu vs reference");
            }
        }
    }
}
