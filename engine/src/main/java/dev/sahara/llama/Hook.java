package dev.sahara.llama;

import dev.sahara.backend.Tensor;

/**
 * Sees a tensor of the forward at each {@link HookPoint} as soon as it is computed. The forward calls its hook at
 * every point unconditionally; on the fast path that hook is {@link #NONE} and does nothing, so the forward reads
 * as the math alone. {@link NumericGuard} and the residual capture are hooks.
 */
@FunctionalInterface
interface Hook {
    Hook NONE = (point, layer, t) -> {};

    /** {@code layer}: the layer the tensor belongs to; -1 for embed, the number of layers for final_norm and logits. */
    void at(HookPoint point, int layer, Tensor t);
}
