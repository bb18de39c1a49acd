package dev.sahara.llama;

import dev.sahara.SaharaException;
import dev.sahara.ablate.Ablation;
import dev.sahara.backend.AttentionLayout;
import dev.sahara.backend.Backend;
import dev.sahara.backend.Tensor;
import dev.sahara.backend.Weight;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.ModelConfig;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Llama forward pass (Llama, Mistral, Qwen2 checkpoints), written once against {@link Backend}. Read
 * {@link #run} top to bottom: it is the model's math in the order the model computes it, each tensor shown to a
 * {@link Hook} under its {@link HookPoint} name. What to run is a {@link Forward}. Ablation is an
 * argument, applied to q and k after RoPE and to each head's output before o_proj; the weights are never
 * touched.
 */
public final class LlamaModel implements AutoCloseable {
    private final Checkpoint checkpoint;
    private final Checkpoint attentionFrom;
    private final ModelConfig c;
    private final Backend b;
    private final Weights w;
    private final double[] invFreq;

    /**
     * @param lastLogits    (sequences, vocab) logits at each sequence's last row, or null
     * @param allLogits     (rows, vocab) logits at every row, or null
     * @param finalNormLast (sequences, dim) hidden state after the final RMSNorm at each last row, or null
     */
    public record Result(float[][] lastLogits, float[][] allLogits, float[][] finalNormLast) {}

    /**
     * The residual stream entering every layer ({@code layer.{l}.resid_in}, (T, dim) each) for one batch under
     * one base ablation, before that layer's own input edits (an added direction of that layer; the embedding's
     * directional ablation at layer 0): what {@link Ablation#below} describes. A forward whose ablation differs from
     * the base only at layers ≥ l can start at layer l from here: the layers below compute exactly the same thing.
     * {@code qkv}, when kept (else null): each layer's {@code layer.{l}.attn.q/k/v}, with which a candidate of that
     * very layer skips its norm and projections too (when its input edits are the base's).
     */
    public record Residuals(TokenBatch batch, Ablation base, Tensor[] residIn, Tensor[][] qkv) {
        /** The hook that fills these: {@code layer.{l}.resid_in}, and {@code layer.{l}.attn.q/k/v} when kept. */
        private Hook capture(Backend b) {
            return (point, l, t) -> {
                switch (point) {
                    case RESID_IN -> b.copy(residIn[l], t);
                    case ATTN_Q -> { if (qkv != null) b.copy(qkv[l][0], t); }
                    case ATTN_K -> { if (qkv != null) b.copy(qkv[l][1], t); }
                    case ATTN_V -> { if (qkv != null) b.copy(qkv[l][2], t); }
                    default -> { }
                }
            };
        }
    }

    /**
     * A forward's activation buffers for one row count, kept for the next forward with as many rows (Sahara runs the
     * same batch hundreds of times; decoding runs the same few rows per token): allocating them afresh — megabytes of
     * zeroed arrays — cost about a tenth of a Sahara candidate on the CPU. Every op writes its output before it is
     * read, so what a previous forward left in them never shows.
     */
    private final class Buffers {
        final int rows;
        final Tensor x;          // (rows, dim) residual stream
        final Tensor xn;         // (rows, dim) normed input of a sub-block; the final-norm states at the end
        final Tensor q;          // (rows, n_heads · head_dim)
        final Tensor k, v;       // (rows, n_kv_heads · head_dim) this batch's keys / values
        final Tensor att;        // (rows, n_heads · head_dim) per-head outputs, before o_proj
        final Tensor o;          // (rows, dim) a sub-block's output
        final Tensor gate, up;   // (rows, hidden)
        KvCache scratch;         // (rows, n_kv_heads · head_dim) keys / values of a prefill that is not continued, made when first asked for
        Tensor logits;           // (rows, vocab), made when first asked for

        Buffers(int rows) {
            this.rows = rows;
            x = b.allocate(rows, c.hiddenSize());
            xn = b.allocate(rows, c.hiddenSize());
            q = b.allocate(rows, c.qDim());
            k = b.allocate(rows, c.kvDim());
            v = b.allocate(rows, c.kvDim());
            att = b.allocate(rows, c.qDim());
            o = b.allocate(rows, c.hiddenSize());
            gate = b.allocate(rows, c.intermediateSize());
            up = b.allocate(rows, c.intermediateSize());
        }

        KvCache scratch() { return scratch != null ? scratch : (scratch = KvCache.scratch(b, rows, c.kvDim())); }

        Tensor logits() { return logits != null ? logits : (logits = b.allocate(rows, c.vocabSize())); }
    }

    /**
     * Idle buffers by row count, least recently used first. Two: a forward uses one set, or two (its batch and the
     * batch's last rows), and what is kept idle must stay bounded (for a 7B model one set of 2,048 rows is ~0.5 GB).
     */
    private final LinkedHashMap<Integer, Buffers> idle = new LinkedHashMap<>(4, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Integer, Buffers> eldest) { return size() > 2; }
    };

    private synchronized Buffers takeBuffers(int rows) {
        Buffers buf = idle.remove(rows);
        return buf != null ? buf : new Buffers(rows);
    }

    private synchronized void returnBuffers(Buffers buf) { idle.put(buf.rows, buf); }

    public LlamaModel(Checkpoint checkpoint, Backend backend) { this(checkpoint, null, backend); }

    /** A model whose attention projections come from {@code attentionFrom} (weight transplant; null for none). Closing the model closes both. */
    public LlamaModel(Checkpoint checkpoint, Checkpoint attentionFrom, Backend backend) {
        this.checkpoint = checkpoint;
        this.attentionFrom = attentionFrom;
        this.c = checkpoint.config();
        this.b = backend;
        this.w = Weights.load(checkpoint, attentionFrom, backend);
        this.invFreq = RopeFrequencies.of(c);
    }

    public ModelConfig config() { return c; }

    public Backend backend() { return b; }

    public Checkpoint checkpoint() { return checkpoint; }

    /** Runs {@code f}: the forward, once; again op by op only when an output is not finite, to say where it first was. */
    public Result forward(Forward f) {
        if (f.from() != null) checkStart(f);
        Result r = run(f, Hook.NONE);
        if (r != NOT_FINITE && NumericGuard.allFinite(r.lastLogits()) && NumericGuard.allFinite(r.allLogits())
                && NumericGuard.allFinite(r.finalNormLast())) return r;
        // Rare path: run again from layer 0 checking every hook point's tensor, to name where the first NaN/Inf
        // appears. (The same cache rows are rewritten with the same values, so a real KV cache stays valid.)
        NumericGuard guard = new NumericGuard(b, f.batch(), f.ablation());
        run(f.from(null, 0), guard);
        throw guard.notFound();
    }

    /**
     * A full prefill of {@code batch} under {@code base} that keeps every layer's input for {@link Forward#from}; with
     * {@code keepQkv} also every layer's q, k, v before ablation, about 3× the memory of the residuals under MHA.
     */
    public Residuals captureResiduals(TokenBatch batch, Ablation base, boolean keepQkv) {
        int t = batch.tokens().length;
        Tensor[] residIn = new Tensor[c.numLayers()];
        Tensor[][] qkv = keepQkv ? new Tensor[c.numLayers()][] : null;
        for (int l = 0; l < residIn.length; l++) {
            residIn[l] = b.allocate(t, c.hiddenSize());                       // (T, dim)
            // (T, n_heads · head_dim), (T, n_kv_heads · head_dim) twice
            if (keepQkv) qkv[l] = new Tensor[] {b.allocate(t, c.qDim()), b.allocate(t, c.kvDim()), b.allocate(t, c.kvDim())};
        }
        Residuals r = new Residuals(batch, base, residIn, qkv);
        run(Forward.of(batch, base).returning(Forward.Outputs.NONE), r.capture(b));
        return r;
    }

    private void checkStart(Forward f) {
        int fromLayer = f.fromLayer();
        if (fromLayer < 0 || fromLayer >= c.numLayers()) throw new IllegalArgumentException("fromLayer " + fromLayer);
        Ablation base = f.from().base();
        if (!f.ablation().below(fromLayer).equals(base.below(fromLayer))) {
            throw new IllegalArgumentException("ablation " + f.ablation() + " differs from the cached base " + base + " below layer " + fromLayer);
        }
    }

    /** What the inner run returns when a reader met a value that is not finite. */
    private static final Result NOT_FINITE = new Result(null, null, null);

    /** The forward, showing {@code hook} every tensor it computes. */
    private Result run(Forward f, Hook hook) {
        TokenBatch batch = f.batch();
        Forward.Outputs outputs = f.outputs();
        AttentionLayout layout = batch.layout();
        checkLength(layout);
        int T = batch.tokens().length, hd = c.headDim(), lastLayer = c.numLayers() - 1;
        int[] positions = layout.positions(), cacheRows = layout.cacheRows(), lastRows = layout.lastRows();
        // Unless logits at every row are asked for, only each sequence's last row reaches the outputs: the last
        // layer's attention, o_proj and MLP then run on those rows alone (see below).
        boolean lastRowsOnly = !outputs.allLogits() && lastRows.length < T;
        Buffers all = takeBuffers(T), last = lastRowsOnly ? takeBuffers(lastRows.length) : all;
        try {
            KvCache kv = f.cache() != null ? f.cache() : all.scratch();
            Residuals from = f.from();
            int fromLayer = from == null ? 0 : f.fromLayer();
            Tensor x = all.x, xn = all.xn, q = all.q, k = all.k, v = all.v, att = all.att, o = all.o, gate = all.gate, up = all.up;
            Ablation ablation = f.ablation();
            // The refusal-direction edits (SPEC.md): r̂ is projected out of every write to the residual stream, and
            // coefficient × direction is added to the input of the direction's layer.
            Tensor unit = ablation.directionAblated() == null ? null : directionRow(ablation.directionAblated().unit());   // (1, dim) r̂
            Tensor added = ablation.directionAdded() == null ? null
                    : directionRow(scaled(ablation.directionAdded().vector(), ablation.addedCoefficient()));   // (1, dim)
            int addedLayer = added == null ? -1 : ablation.directionAdded().layer();
            if (from == null) {
                b.embed(x, w.embed(), batch.tokens());
                hook.at(HookPoint.EMBED, -1, x);
            } else {
                b.copy(x, from.residIn()[fromLayer]);
            }

            for (int l = fromLayer; l < c.numLayers(); l++) {
                Weights.Layer lw = w.layers()[l];
                Ablation.LayerEdits edits = ablation.forLayer(l, c);
                hook.at(HookPoint.RESID_IN, l, x);                            // the layer input before its own edits (what Residuals keep)
                if (l == 0 && unit != null) b.projectOut(x, unit);       // the embedding's write (applied here so a forward from layer 0 does it too)
                if (l == addedLayer) b.addRow(x, added);

                // attention: x += o_proj(ablate_out(attention(ablate_q(rope(q)), ablate_k(rope(k)), v)))
                // (the kept q, k, v were computed from the base's layer input: reusable only under the same input edits)
                if (l == fromLayer && from != null && from.qkv() != null && ablation.sameInputEdits(l, from.base())) {
                    // The cached q, k (after RoPE, before any ablation) and v of the start layer: a candidate ablating
                    // a head of that very layer does not change them, so it skips the norm and the projections too.
                    b.copy(q, from.qkv()[l][0]);
                    b.copy(k, from.qkv()[l][1]);
                    b.copy(v, from.qkv()[l][2]);
                } else {
                    b.rmsNorm(xn, x, lw.attnNorm(), c.rmsNormEps());
                    hook.at(HookPoint.ATTN_NORM, l, xn);
                    b.matmuls(new Tensor[] {q, k, v}, xn, new Weight[] {lw.wq(), lw.wk(), lw.wv()}, new Weight[] {lw.bq(), lw.bk(), lw.bv()});
                    b.rope(q, c.numHeads(), hd, positions, invFreq);
                    b.rope(k, c.numKvHeads(), hd, positions, invFreq);
                }
                hook.at(HookPoint.ATTN_Q, l, q);
                hook.at(HookPoint.ATTN_K, l, k);
                hook.at(HookPoint.ATTN_V, l, v);
                b.editHeads(q, hd, edits.q());
                b.editHeads(k, hd, edits.k());
                b.scatterRows(kv.k(l), cacheRows, k);
                b.scatterRows(kv.v(l), cacheRows, v);
                if (l == lastLayer && lastRowsOnly) {
                    // Every row's key and value is in the cache now; from here on rows are independent, each computed
                    // with the same arithmetic as in the full batch, so the outputs are bit-identical.
                    b.gatherRows(last.q, q, lastRows);
                    b.gatherRows(last.x, x, lastRows);
                    x = last.x; xn = last.xn; q = last.q; att = last.att; o = last.o; gate = last.gate; up = last.up;
                    layout = layout.lastRowsOnly();
                }
                b.attention(att, q, kv.k(l), kv.v(l), layout, c.numHeads(), c.numKvHeads(), hd);
                hook.at(HookPoint.ATTN_Z, l, att);
                b.editHeads(att, hd, edits.out());
                b.matmul(o, att, lw.wo(), lw.bo());
                if (unit != null) b.projectOut(o, unit);
                hook.at(HookPoint.ATTN_OUT, l, o);
                b.add(x, o);
                hook.at(HookPoint.RESID_MID, l, x);

                // feed-forward: x += down(silu(gate(xn)) · up(xn))
                b.rmsNorm(xn, x, lw.ffnNorm(), c.rmsNormEps());
                hook.at(HookPoint.MLP_NORM, l, xn);
                b.matmuls(new Tensor[] {gate, up}, xn, new Weight[] {lw.wGate(), lw.wUp()}, new Weight[2]);
                hook.at(HookPoint.MLP_GATE, l, gate);
                hook.at(HookPoint.MLP_UP, l, up);
                b.swiglu(gate, up);
                hook.at(HookPoint.MLP_ACT, l, gate);
                b.matmul(o, gate, lw.wDown(), null);
                if (unit != null) b.projectOut(o, unit);
                hook.at(HookPoint.MLP_OUT, l, o);
                b.add(x, o);
                hook.at(HookPoint.RESID_OUT, l, x);
            }
            if (!outputs.any()) return new Result(null, null, null);

            // The final norm and the LM head read the last rows (x holds only those when lastRowsOnly; when every
            // row is a last row, as in decoding, they are all of x) or, for allLogits, every row.
            int[] headRows = lastRowsOnly ? identity(lastRows.length) : outputs.allLogits() ? identity(T) : lastRows;
            Tensor h = last.xn;                                 // (rows, dim) final-norm states
            b.gatherRows(h, x, headRows);
            b.rmsNorm(h, h, w.norm(), c.rmsNormEps());
            hook.at(HookPoint.FINAL_NORM, c.numLayers(), h);
            float[][] finalNorm = null, lastLogits = null, allLogits = null;
            int dim = c.hiddenSize();
            if (outputs.finalNormLast()) {
                float[] flat = b.download(h);
                finalNorm = new float[lastRows.length][];
                for (int s = 0; s < lastRows.length; s++) {
                    int row = outputs.allLogits() ? lastRows[s] : s;
                    finalNorm[s] = Arrays.copyOfRange(flat, row * dim, (row + 1) * dim);
                }
            }
            if (outputs.lastLogits() || outputs.allLogits()) {
                // (rows, vocab); logits at every row can be huge, so those are not kept for the next forward
                Tensor logits = outputs.allLogits() ? b.allocate(T, c.vocabSize()) : last.logits();
                b.matmul(logits, h, w.lmHead(), null);
                hook.at(HookPoint.LOGITS, c.numLayers(), logits);
                if (f.reader() != null) return f.reader().read(b, logits) ? new Result(null, null, finalNorm) : NOT_FINITE;
                float[][] rows = split(b.download(logits), c.vocabSize());
                if (outputs.allLogits()) allLogits = rows;
                if (outputs.lastLogits()) {
                    lastLogits = new float[lastRows.length][];
                    for (int s = 0; s < lastRows.length; s++) lastLogits[s] = rows[outputs.allLogits() ? lastRows[s] : s];
                }
            }
            return new Result(lastLogits, allLogits, finalNorm);
        } finally {
            returnBuffers(all);
            if (last != all) returnBuffers(last);
        }
    }

    /** A direction edit's row, (1, dim), uploaded once per distinct value: decoding must not upload it for every token. */
    private synchronized Tensor directionRow(float[] values) {
        return directionRows.computeIfAbsent(new RowValues(values), key -> {
            Tensor t = b.allocate(1, values.length);
            b.upload(t, values);
            return t;
        });
    }

    /** A float[] compared by value, as a map key. */
    private record RowValues(float[] values) {
        @Override
        public boolean equals(Object o) { return o instanceof RowValues r && Arrays.equals(r.values, values); }

        @Override
        public int hashCode() { return Arrays.hashCode(values); }
    }

    /** The last few direction rows used (a run uses one or two). */
    private final LinkedHashMap<RowValues, Tensor> directionRows = new LinkedHashMap<>(4, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<RowValues, Tensor> eldest) { return size() > 4; }
    };

    /** coefficient × v, each product rounded once to float32: the row activation addition adds. */
    private static float[] scaled(float[] v, float coefficient) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = coefficient * v[i];
        return out;
    }

    private void checkLength(AttentionLayout layout) {
        int longest = layout.maxPosition();
        if (c.slidingWindow() > 0 && longest > c.slidingWindow()) {
            throw new SaharaException("a sequence of " + longest + " tokens is longer than the model's sliding_window " + c.slidingWindow()
                    + ", which this engine does not implement");
        }
    }

    private static int[] identity(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) r[i] = i;
        return r;
    }

    private static float[][] split(float[] flat, int cols) {
        if (flat.length == cols) return new float[][] {flat};   // decoding: one row, no second copy
        float[][] out = new float[flat.length / cols][];
        for (int r = 0; r < out.length; r++) out[r] = Arrays.copyOfRange(flat, r * cols, (r + 1) * cols);
        return out;
    }

    @Override
    public void close() {
        synchronized (this) {
            idle.clear();
        }
        b.close();
        checkpoint.close();
        if (attentionFrom != null) attentionFrom.close();
    }
}
