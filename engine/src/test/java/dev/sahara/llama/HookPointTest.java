package dev.sahara.llama;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The hook names docs/ARCHITECTURE.md lists. */
class HookPointTest {
    @Test
    void labels() {
        assertEquals("embed", HookPoint.EMBED.label(-1));
        assertEquals("layer.3.resid_in", HookPoint.RESID_IN.label(3));
        assertEquals("layer.3.attn.q", HookPoint.ATTN_Q.label(3));
        assertEquals("layer.0.attn.out", HookPoint.ATTN_OUT.label(0));
        assertEquals("layer.2.mlp.out", HookPoint.MLP_OUT.label(2));
        assertEquals("final_norm", HookPoint.FINAL_NORM.label(4));
        assertEquals("logits", HookPoint.LOGITS.label(4));
    }
}
