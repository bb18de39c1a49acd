package dev.sahara.llama;

import dev.sahara.SaharaException;
import dev.sahara.model.ModelConfig;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The memory estimate made before a long run, and the refusal when it cannot fit. */
class MemoryPlanTest {
    /** Llama-2-7b's shape. */
    static final ModelConfig LLAMA2_7B = new ModelConfig("LlamaForCausalLM", 4096, 11008, 32, 32, 32, 128, 32000, 1e-5f, 10000, null, false, 4096,
            false, 0);

    static List<int[]> prompts(int n, int len) {
        List<int[]> p = new ArrayList<>();
        for (int i = 0; i < n; i++) p.add(new int[len]);
        return p;
    }

    @Test
    void estimateCountsEachPart() {
        MemoryPlan m = MemoryPlan.of(LLAMA2_7B, prompts(100, 30), true, false, 13_476_839_424L);
        assertEquals(3000, m.tokens());
        assertEquals(2L * 3000 * 4096 * 4, m.kvCacheBytes(), "one K/V pair shared by every layer (KvCache.scratch)");
        assertEquals(33L * 3000 * 4096 * 4, m.residualCacheBytes());
        // activations 3000 × 50,688 floats (0.61 GB) + KV 0.10 GB + residuals 1.62 GB + states ≈ 2.33 GB = 2.2 GiB
        assertTrue(m.heapBytes() > 2L << 30 && m.heapBytes() < (5L << 30) / 2, MemoryPlan.gib(m.heapBytes()));
        assertEquals(0, MemoryPlan.of(LLAMA2_7B, prompts(100, 30), false, false, 0).residualCacheBytes());
    }

    @Test
    void refusesWhatCannotFitWithAOneLineHint() {
        MemoryPlan m = MemoryPlan.of(LLAMA2_7B, prompts(520, 40), true, false, 13_476_839_424L);
        SaharaException e = assertThrows(SaharaException.class, () -> m.check(2L << 30));
        assertTrue(e.getMessage().contains("--limit") && e.getMessage().contains("-Xmx") && !e.getMessage().contains("\n"), e.getMessage());
        m.check(64L << 30);   // fits in 64 GiB
    }
}
