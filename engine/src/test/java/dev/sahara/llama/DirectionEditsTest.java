package dev.sahara.llama;

import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.AblationMode;
import dev.sahara.ablate.HeadId;
import dev.sahara.ablate.ResidualDirection;
import dev.sahara.backend.Backend;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.backend.reference.ReferenceBackend;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.ModelConfig;
import dev.sahara.testing.TestDirections;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The refusal-direction edits of the forward (SPEC.md, "Refusal direction"): the CPU backend against the float64
 * reference backend with them on every tiny model, prefix reuse with them (with and without kept q/k/v), an added
 * direction leaving the layers below it alone, and the ablation of a basis vector zeroing that coordinate of the
 * residual stream at every layer. The CUDA backend's forward with them is in CudaForwardParityTest; surgery's
 * equivalence in SurgeryTest.
 */
class DirectionEditsTest {
    static final List<int[]> PROMPTS = List.of(new int[] {1, 403, 407, 261, 378, 11, 97}, new int[] {1, 5, 200}, new int[] {3});

    static List<String> models() { return TestModels.TINY; }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void cpuMatchesTheReferenceBackendUnderDirectionEdits(String model) {
        try (LlamaModel cpu = new LlamaModel(Checkpoint.open(TestModels.tiny(model)), new CpuBackend(2));
             LlamaModel ref = new LlamaModel(Checkpoint.open(TestModels.tiny(model)), new ReferenceBackend())) {
            TokenBatch batch = TokenBatch.pack(PROMPTS);
            LlamaModel.Outputs all = new LlamaModel.Outputs(false, true, true);
            float[][] unablated = cpu.forward(batch, Ablation.none(), all).allLogits();
            for (Ablation a : TestDirections.edits(cpu.config())) {
                a.checkIn(cpu.config(), true);
                LlamaModel.Result c = cpu.forward(batch, a, all), r = ref.forward(batch, a, all);
                double moved = 0;
                for (int t = 0; t < c.allLogits().length; t++) {
                    double d = TestModels.maxAbsDiff(c.allLogits()[t], r.allLogits()[t]);
                    assertTrue(d < 1e-4, model + " with " + a + ": logits at row " + t + " differ from the reference by " + d);
                    moved = Math.max(moved, TestModels.maxAbsDiff(c.allLogits()[t], unablated[t]));
                }
                assertTrue(moved > 1e-2, model + " with " + a + ": the edit moved no logit (by " + moved + ")");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void aForwardFromCachedResidualsEqualsTheFullForward(String model) {
        try (LlamaModel m = new LlamaModel(Checkpoint.open(TestModels.tiny(model)), new CpuBackend(2))) {
            TokenBatch batch = TokenBatch.pack(PROMPTS);
            ModelConfig c = m.config();
            ResidualDirection d = TestDirections.random(c.hiddenSize(), 1, 7);
            Ablation ablated = Ablation.none().withDirectionAblated(d), added = Ablation.none().withDirectionAdded(d, 2f);
            for (boolean keepQkv : new boolean[] {false, true}) {
                LlamaModel.Residuals none = m.captureResiduals(batch, Ablation.none(), keepQkv);
                // from an unablated prefix, at the edit's lowest layer (0 for an ablated direction, its layer for an added one)
                for (Ablation a : List.of(ablated, added, added.with(new HeadId(1, 0), AblationMode.UNDIFF_Q, 0f))) {
                    assertEquals(a == ablated ? 0 : 1, a.lowestLayer(), a.toString());
                    assertSameLogits(m.forward(batch, a, LlamaModel.Outputs.LAST_LOGITS), m.forwardFrom(none, a.lowestLayer(), a, LlamaModel.Outputs.LAST_LOGITS),
                            model + " " + a + " from layer " + a.lowestLayer() + (keepQkv ? " with q/k/v kept" : ""));
                }
                // a candidate head on top of a base with direction edits, as CandidateRunner does, at its own layer
                for (Ablation base : List.of(ablated, added, ablated.withDirectionAdded(d, 2f))) {
                    LlamaModel.Residuals r = m.captureResiduals(batch, base, keepQkv);
                    for (int l = 0; l < c.numLayers(); l++) {
                        Ablation candidate = base.with(new HeadId(l, 1), AblationMode.UNDIFF_Q, 1e-5f);
                        assertSameLogits(m.forward(batch, candidate, LlamaModel.Outputs.LAST_LOGITS), m.forwardFrom(r, l, candidate, LlamaModel.Outputs.LAST_LOGITS),
                                model + " " + candidate + " from layer " + l + (keepQkv ? " with q/k/v kept" : ""));
                    }
                }
                // an ablated direction changes every layer's input from layer 1 up: no start above 0 from an unablated prefix
                assertThrows(IllegalArgumentException.class, () -> m.forwardFrom(none, 1, ablated, LlamaModel.Outputs.LAST_LOGITS));
            }
        }
    }

    private static void assertSameLogits(LlamaModel.Result full, LlamaModel.Result from, String what) {
        for (int s = 0; s < full.lastLogits().length; s++) assertArrayEquals(full.lastLogits()[s], from.lastLogits()[s], what + ": sequence " + s);
    }

    @Test
    void anAddedDirectionLeavesTheLayersBelowItAlone() {
        try (LlamaModel m = new LlamaModel(Checkpoint.open(TestModels.tiny("llama-gqa-bf16")), new CpuBackend(2))) {
            TokenBatch batch = TokenBatch.pack(PROMPTS);
            ModelConfig c = m.config();
            for (int layer = 0; layer < c.numLayers(); layer++) {
                ResidualDirection d = TestDirections.random(c.hiddenSize(), layer, 11);
                Ablation added = Ablation.none().withDirectionAdded(d, 3f);
                LlamaModel.Residuals plain = m.captureResiduals(batch, Ablation.none()), edited = m.captureResiduals(batch, added);
                for (int l = 0; l < c.numLayers(); l++) {
                    float[] p = m.backend().download(plain.residIn()[l]), e = m.backend().download(edited.residIn()[l]);
                    // captured entering layer l before its own edits: the addition shows from layer + 1 on
                    if (l <= layer) assertArrayEquals(p, e, "added at layer " + layer + ": the residual entering layer " + l + " changed");
                    else assertNotEquals(java.util.Arrays.toString(p), java.util.Arrays.toString(e), "added at layer " + layer + ": layer " + l + " unchanged");
                }
                // coefficient 0 adds exact zeros: the unedited forward, bit for bit
                Ablation zero = Ablation.none().withDirectionAdded(d, 0f);
                assertSameLogits(m.forward(batch, Ablation.none(), LlamaModel.Outputs.LAST_LOGITS), m.forward(batch, zero, LlamaModel.Outputs.LAST_LOGITS),
                        "added × 0 at layer " + layer);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void ablatingABasisVectorZeroesThatCoordinateAtEveryLayer(String model) {
        for (Backend b : new Backend[] {new CpuBackend(2), new ReferenceBackend()}) {
            try (LlamaModel m = new LlamaModel(Checkpoint.open(TestModels.tiny(model)), b)) {
                ModelConfig c = m.config();
                int k = c.hiddenSize() / 3, dim = c.hiddenSize();
                Ablation a = Ablation.none().withDirectionAblated(TestDirections.basis(dim, k, 0));
                TokenBatch batch = TokenBatch.pack(PROMPTS);
                LlamaModel.Residuals r = m.captureResiduals(batch, a);
                boolean embeddingHadIt = false;
                for (int l = 0; l < c.numLayers(); l++) {
                    float[] x = b.download(r.residIn()[l]);
                    for (int t = 0; t < x.length / dim; t++) {
                        // layer 0's residual is captured before the embedding's projection (applied at layer 0's input)
                        if (l == 0) embeddingHadIt |= x[t * dim + k] != 0;
                        else assertEquals(0f, x[t * dim + k], model + " on " + b.name() + ": coordinate " + k + " entering layer " + l + ", row " + t);
                    }
                }
                assertTrue(embeddingHadIt, "the test needs an embedding with a nonzero coordinate " + k);
                for (float[] h : m.forward(batch, a, LlamaModel.Outputs.FINAL_NORM_LAST).finalNormLast()) {
                    assertEquals(0f, h[k], model + " on " + b.name() + ": coordinate " + k + " after the last layer and the final norm");
                }
            }
        }
    }
}
