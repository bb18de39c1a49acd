package dev.sahara.llama;

import dev.sahara.backend.Backend;
import dev.sahara.backend.Tensor;
import dev.sahara.backend.TopK;

/**
 * Reads each sequence's last-row logits, a (sequences, vocab) tensor, where they are — on the backend — instead of
 * downloading them into a {@link LlamaModel.Result}; returns false when it met a value that is not finite (the
 * forward is then re-run op by op to name where it first appeared).
 */
@FunctionalInterface
public interface LogitsReader {
    boolean read(Backend backend, Tensor lastLogits);

    /**
     * Each sequence's k largest logits into ids[s·k + j] (token ids) and values[s·k + j], largest first, equal
     * logits by lower id ({@link TopK}): what greedy decoding (k = 1) and top-k sampling need.
     */
    static LogitsReader topK(int k, int[] ids, float[] values) { return (b, logits) -> b.topK(logits, k, ids, values); }

    /** out[s] = KL(softmax(base[s]) ‖ softmax(logits[s])), base a (sequences, vocab) tensor on the same backend. */
    static LogitsReader klFrom(Tensor base, boolean official, double[] out) {
        return (b, logits) -> {
            b.klDivergence(base, logits, official, out);
            for (double d : out) if (!Double.isFinite(d)) return false;
            return true;
        };
    }
}
