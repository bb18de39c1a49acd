package dev.sahara.llama;

import dev.sahara.ablate.Ablation;

/**
 * What one forward runs: a batch under an ablation, and how. Start from {@link #of} (a full prefill returning
 * each sequence's last-row logits) and say what differs: {@link #returning} other outputs, {@link #into} a real KV
 * cache (decoding), {@link #from} cached residuals at a layer (prefix reuse), {@link #reading} the logits where
 * they are. Immutable; a new argument of the forward is one more component here, set by one more such method.
 *
 * @param cache     a real KV cache the batch's layout writes its keys and values into, or null for a prefill that
 *                  is not continued
 * @param from      residuals captured under a base ablation to start at {@code fromLayer} from, or null: embed
 *                  the tokens; the ablation must equal the base on every layer below fromLayer
 * @param reader    reads the last-row logits on the backend instead of downloading them, or null
 */
public record Forward(TokenBatch batch, Ablation ablation, KvCache cache, LlamaModel.Residuals from, int fromLayer, Outputs outputs,
                      LogitsReader reader) {
    /** Which outputs a forward returns (everything else is never downloaded). */
    public record Outputs(boolean lastLogits, boolean allLogits, boolean finalNormLast) {
        public static final Outputs NONE = new Outputs(false, false, false);
        public static final Outputs LAST_LOGITS = new Outputs(true, false, false);
        public static final Outputs ALL_LOGITS = new Outputs(false, true, false);
        public static final Outputs FINAL_NORM_LAST = new Outputs(false, false, true);

        boolean any() { return lastLogits || allLogits || finalNormLast; }
    }

    public Forward {
        if (reader != null && !outputs.lastLogits()) throw new IllegalArgumentException("a logits reader reads the last-row logits: ask for them");
        if (from != null && from.batch() != batch) throw new IllegalArgumentException("residuals of another batch");
    }

    /** A full prefill of {@code batch} under {@code ablation}, returning each sequence's last-row logits. */
    public static Forward of(TokenBatch batch, Ablation ablation) {
        return new Forward(batch, ablation, null, null, 0, Outputs.LAST_LOGITS, null);
    }

    public Forward returning(Outputs outputs) { return new Forward(batch, ablation, cache, from, fromLayer, outputs, reader); }

    public Forward into(KvCache cache) { return new Forward(batch, ablation, cache, from, fromLayer, outputs, reader); }

    public Forward from(LlamaModel.Residuals residuals, int layer) { return new Forward(batch, ablation, cache, residuals, layer, outputs, reader); }

    public Forward reading(LogitsReader reader) { return new Forward(batch, ablation, cache, from, fromLayer, outputs, reader); }
}
