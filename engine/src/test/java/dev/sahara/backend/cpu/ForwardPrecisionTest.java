package dev.sahara.backend.cpu;

import dev.sahara.ablate.Ablation;
import dev.sahara.backend.Backend;
import dev.sahara.backend.reference.ReferenceBackend;
import dev.sahara.llama.Forward;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.TokenBatch;
import dev.sahara.model.DType;
import dev.sahara.model.ModelConfig;
import dev.sahara.model.SyntheticModels;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU forward's distance from exact arithmetic (docs/SPEC.md, "Precision"): a random bf16 Llama of
 * synthetic-110M's proportions at a size CI affords, last-position logits against the double-precision backend,
 * max|Δ| / max|logit|. bench's PrecisionCheck measures synthetic-110M itself and the per-op budget.
 *
 * <p>Measured: 4.97e-7 (12 tokens) and 7.62e-7 (160 tokens); with each output of the matmul and of softmax · V one
 * fma chain over all of k (the engine before the blocked sums) 1.01e-6 and 1.75e-6. The bounds are the measured
 * figures times 1.5: the results are the same bits on every machine (thread count, vector width), so the margin
 * only has to absorb deliberate changes, and a return to the old sums fails. Issue #16's target was llama.cpp's
 * 3.4e-5 on synthetic-110M; the engine measures 5.8e-7 there (docs/SPEC.md, "Precision").
 */
class ForwardPrecisionTest {
    /** hidden 384, 4 layers × 6 heads of 64, ffn 1024, vocabulary 8192, tied, rope_theta 10000. */
    static final ModelConfig SHAPE = new ModelConfig("LlamaForCausalLM", 384, 1024, 4, 6, 6, 64, 8192, 1e-5f, 10000.0, null, true, 4096, false, 0);

    static float[] lastLogits(Backend backend, int[] ids) {
        try (LlamaModel m = new LlamaModel(SyntheticModels.build(Path.of("precision-test"), SHAPE, DType.BF16, 42), backend)) {
            return m.forward(Forward.of(TokenBatch.pack(List.of(ids)), Ablation.none())).lastLogits()[0];
        }
    }

    static int[] ids(int n) {
        SplittableRandom r = new SplittableRandom(16);
        int[] ids = new int[n];
        ids[0] = 1;
        for (int i = 1; i < n; i++) ids[i] = 3 + r.nextInt(SHAPE.vocabSize() - 3);
        return ids;
    }

    static double relativeError(int tokens) {
        int[] ids = ids(tokens);
        float[] got = lastLogits(new CpuBackend(2), ids), want = lastLogits(new ReferenceBackend(), ids);
        double worst = 0, scale = 0;
        for (int i = 0; i < want.length; i++) {
            worst = Math.max(worst, Math.abs((double) got[i] - want[i]));
            scale = Math.max(scale, Math.abs(want[i]));
        }
        return worst / scale;
    }

    @Test
    void twelveTokensAsTheIssueMeasured() {
        double e = relativeError(12);
        assertTrue(e <= 7.5e-7, "max|Δ| / max|logit| = " + e + " (measured 4.97e-7)");
    }

    @Test
    void aLongerPromptWithFartherPositionsAndMoreKeys() {
        double e = relativeError(160);
        assertTrue(e <= 1.15e-6, "max|Δ| / max|logit| = " + e + " (measured 7.62e-7)");
    }
}
