package dev.sahara.llama;

import dev.sahara.SaharaException;
import dev.sahara.ablate.Ablation;
import dev.sahara.backend.Backend;
import dev.sahara.backend.Tensor;

/**
 * Stops a forward whose outputs hold NaN or ±Inf, so no score is ever computed from garbage. The normal path
 * costs one pass over the downloaded outputs (logits or final-norm states); only when that finds a non-finite
 * value is the forward run again with this guard as its {@link Hook}, checking every tensor it computes, to name
 * the hook point (layer and op) where the first one appears.
 */
final class NumericGuard implements Hook {
    private final Backend b;
    private final TokenBatch batch;
    private final Ablation ablation;

    NumericGuard(Backend b, TokenBatch batch, Ablation ablation) {
        this.b = b;
        this.batch = batch;
        this.ablation = ablation;
    }

    static boolean allFinite(float[][] rows) {
        if (rows == null) return true;
        for (float[] r : rows) {
            for (float v : r) if (!Float.isFinite(v)) return false;
        }
        return true;
    }

    /** Throws naming the hook point, its layer and the op that produced {@code t} if {@code t} is not all finite. */
    @Override
    public void at(HookPoint point, int layer, Tensor t) {
        float[] v = b.download(t);
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                int row = i / t.cols();
                String where = point == HookPoint.EMBED ? "the embedding" : "layer " + layer;
                // from the last layer's attention on, a forward may hold each sequence's last row only
                String which = t.rows() == batch.tokens().length ? "token row " + row + " of " + batch.tokens().length
                        : "the last token of sequence " + row + " of " + batch.size();
                throw new SaharaException("non-finite activation (" + v[i] + ") in " + where + ", output of " + point.producedBy() + " at " + point.label(layer) + " (" + which
                        + ", ablation " + ablation + "); the run is stopped rather than score garbage: check the checkpoint's "
                        + "weights and config.json's constants (rms_norm_eps, rope_theta)");
            }
        }
    }

    /** The outputs were not finite, but no op's were on the checking run: a backend that is not deterministic. */
    SaharaException notFound() {
        return new SaharaException("non-finite model outputs (NaN or Inf) for ablation " + ablation
                + ", which did not recur when the forward was run again op by op: the backend is not deterministic");
    }
}
