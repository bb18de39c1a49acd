package dev.sahara.attribution;

import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.HeadId;
import dev.sahara.llama.Forward;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.LogitsReader;
import dev.sahara.llama.TokenBatch;

/**
 * Runs one batch of prompts under "base ablation + one more head", the inner loop of Ships, sweeps and
 * Sahara. With prefix reuse, the residual stream entering every layer is captured once per base ablation and
 * a candidate in layer l starts at layer l: the layers below compute exactly what they computed for the
 * base (SPEC.md, "Sahara"). When memory allows, the q/k/v of every layer are kept too, so the candidate's own
 * layer also skips its norm and projections. Without prefix reuse, every candidate is a full forward; all three
 * give bit-identical numbers.
 */
public final class CandidateRunner {
    private final LlamaModel model;
    private final TokenBatch batch;
    private final boolean prefixReuse;
    private LlamaModel.Residuals residuals;

    public CandidateRunner(LlamaModel model, TokenBatch batch, boolean prefixReuse) {
        this.model = model;
        this.batch = batch;
        this.prefixReuse = prefixReuse;
    }

    public TokenBatch batch() { return batch; }

    /** Keep q/k/v per layer only when they take at most half of the heap still free (they are ~3× the residuals). */
    private boolean qkvFits() {
        var c = model.config();
        Runtime rt = Runtime.getRuntime();
        long bytes = (long) c.numLayers() * batch.tokens().length * (c.qDim() + 2L * c.kvDim()) * Float.BYTES;
        return bytes <= (rt.maxMemory() - (rt.totalMemory() - rt.freeMemory())) / 2;
    }

    public LlamaModel.Result run(Ablation ablation, Forward.Outputs outputs) { return model.forward(Forward.of(batch, ablation).returning(outputs)); }

    /** The batch under {@code base} plus {@code head} ablated as {@code spec}, returning {@code outputs}. */
    public LlamaModel.Result runCandidate(Ablation base, HeadId head, Ablation.Spec spec, Forward.Outputs outputs) {
        return model.forward(candidate(base, head, spec).returning(outputs));
    }

    /** As above, handing the last-row logits to {@code reader} where they are (e.g. KL against a base on the backend). */
    public void runCandidate(Ablation base, HeadId head, Ablation.Spec spec, LogitsReader reader) {
        model.forward(candidate(base, head, spec).reading(reader));
    }

    private Forward candidate(Ablation base, HeadId head, Ablation.Spec spec) {
        Forward f = Forward.of(batch, base.with(head, spec));
        return prefixReuse ? f.from(residualsFor(base), head.layer()) : f;
    }

    private LlamaModel.Residuals residualsFor(Ablation base) {
        if (residuals == null || !residuals.base().equals(base)) {
            residuals = null;   // let the previous step's cache go before the next is allocated
            residuals = model.captureResiduals(batch, base, qkvFits());
        }
        return residuals;
    }
}
