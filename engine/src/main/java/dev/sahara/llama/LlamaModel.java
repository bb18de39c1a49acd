package dev.sahara.llama;

import dev.sahara.SaharaException;
import dev.sahara.ablate.Ablation;
import dev.sahara.backend.AttentionLayout;
import dev.sahara.backend.Backend;
import dev.sahara.backend.Tensor;
import dev.sahara.backend.TopK;
import dev.sahara.backend.Weight;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.ModelConfig;

/**
 * The Llama forward pass (Llama, Mistral, Qwen2 checkpoints), written once against {@link Backend}. Read
 * {@link #run} top to bottom: it is the model's math in the order the model computes it. Ablation is an
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

    /** Which outputs a forward returns (everything else is never downloaded). */
    public record Outputs(boolean lastLogits, boolean allLogits, boolean finalNormLast) {
        public static final Outputs LAST_LOGITS = new Outputs(true, false, false);
        public static final Outputs FINAL_NORM_LAST = new Outputs(false, false, true);
    }

    /**
     * @param lastLogits    (sequences, vocab) logits at each sequence's last row, or null
     * @param allLogits     (rows, vocab) logits at every row, or null
     * @param finalNormLast (sequences, dim) hidden state after the final RMSNorm at each last row, or null
     */
    public record Result(float[][] lastLogits, float[][] allLogits, float[][] finalNormLast) {}

    /**
     * The residual stream entering every layer ({@code layer.{l}.resid_in}, (T, dim) each) for one batch under
     * one base ablation, before that layer's own input edits (an added direction of that layer; the embedding's
     * directional ablation at layer 0): what {@link Ablation#below} describes. A forward whose ablation differs
     * from the base only at layers ≥ l can start at layer l from here: the layers below compute exactly the same thing.
     */
    public record Residuals(TokenBatch batch, Ablation base, Tensor[] residIn, Tensor[][] qkv) {}

    /**
     * What a prefix-reusing forward starts from at layer {@code layer}: the residual stream, and, when kept, that
     * layer's q, k (after RoPE, before any ablation) and v, which a candidate ablating a head of that very layer
     * does not change — so its own layer skips the norm and the three projections too.
     */
    private record Start(int layer, Tensor residIn, Tensor[] qkv) {}

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
    private final java.util.LinkedHashMap<Integer, Buffers> idle = new java.util.LinkedHashMap<>(4, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(java.util.Map.Entry<Integer, Buffers> eldest) { return size() > 2; }
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

    /** A full prefill of packed prompts. */
    public Result forward(TokenBatch batch, Ablation ablation, Outputs outputs) {
        return run(batch, null, ablation, null, null, outputs, null);
    }

    /** A full prefill under {@code base} that also keeps every layer's input for {@link #forwardFrom}. */
    public Residuals captureResiduals(TokenBatch batch, Ablation base) { return captureResiduals(batch, base, false); }

    /**
     * As above; with {@code keepQkv} also every layer's q, k, v before ablation ({@code layer.{l}.attn.q/k/v},
     * (T, n_heads·head_dim) and (T, n_kv_heads·head_dim)), about 3× the memory of the residuals under MHA.
     */
    public Residuals captureResiduals(TokenBatch batch, Ablation base, boolean keepQkv) {
        int t = batch.tokens().length;
        Tensor[] residIn = new Tensor[c.numLayers()];
        Tensor[][] qkv = keepQkv ? new Tensor[c.numLayers()][] : null;
        for (int l = 0; l < residIn.length; l++) {
            residIn[l] = b.allocate(t, c.hiddenSize());
            if (keepQkv) qkv[l] = new Tensor[] {b.allocate(t, c.qDim()), b.allocate(t, c.kvDim()), b.allocate(t, c.kvDim())};
        }
        Residuals r = new Residuals(batch, base, residIn, qkv);
        run(batch, null, base, null, r, new Outputs(false, false, false), null);
        return r;
    }

    /**
     * The same result as {@code forward(r.batch(), ablation, outputs)}, starting at {@code fromLayer} from cached
     * residuals. {@code ablation} must equal the residuals' base ablation on every layer below fromLayer.
     */
    public Result forwardFrom(Residuals r, int fromLayer, Ablation ablation, Outputs outputs) {
        return run(r.batch(), null, ablation, start(r, fromLayer, ablation), null, outputs, null);
    }

    private Start start(Residuals r, int fromLayer, Ablation ablation) {
        if (fromLayer < 0 || fromLayer >= c.numLayers()) throw new IllegalArgumentException("fromLayer " + fromLayer);
        if (!ablation.below(fromLayer).equals(r.base().below(fromLayer))) {
            throw new IllegalArgumentException("ablation " + ablation + " differs from the cached base " + r.base() + " below layer " + fromLayer);
        }
        // the kept q, k, v were computed from the base's layer input: reusable only under the same input edits
        boolean sameInput = ablation.sameInputEdits(fromLayer, r.base());
        return new Start(fromLayer, r.residIn()[fromLayer], r.qkv() == null || !sameInput ? null : r.qkv()[fromLayer]);
    }

    /** One step of decoding (or a prefill into a real cache): the batch's layout says where each row's keys go. */
    public Result step(TokenBatch batch, KvCache cache, Ablation ablation, Outputs outputs) {
        return run(batch, cache, ablation, null, null, outputs, null);
    }

    /**
     * Reads each sequence's last-row logits, a (sequences, vocab) tensor, where they are — on the backend — instead of
     * downloading them into a {@link Result}; returns false when it met a value that is not finite (the forward is
     * then re-run op by op to name where it first appeared).
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

    /** {@link #forward} handing the last-row logits to {@code reader} instead of downloading them. */
    public void forward(TokenBatch batch, Ablation ablation, LogitsReader reader) {
        run(batch, null, ablation, null, null, Outputs.LAST_LOGITS, reader);
    }

    /** {@link #forwardFrom} handing the last-row logits to {@code reader} instead of downloading them. */
    public void forwardFrom(Residuals r, int fromLayer, Ablation ablation, LogitsReader reader) {
        run(r.batch(), null, ablation, start(r, fromLayer, ablation), null, Outputs.LAST_LOGITS, reader);
    }

    /**
     * {@link #step} handing the last-row logits to {@code reader}: with {@link LogitsReader#topK} nothing
     * vocabulary-sized is downloaded or allocated per token.
     */
    public void step(TokenBatch batch, KvCache cache, Ablation ablation, LogitsReader reader) {
        run(batch, cache, ablation, null, null, Outputs.LAST_LOGITS, reader);
    }

    /** What the inner run returns when a reader met a value that is not finite. */
    private static final Result NOT_FINITE = new Result(null, null, null);

    /** {@code cache}: a real KV cache, or null for a prefill that is not continued. */
    private Result run(TokenBatch batch, KvCache cache, Ablation ablation, Start start, Residuals capture, Outputs outputs, LogitsReader reader) {
        Result r = run(batch, cache, ablation, start, capture, outputs, reader, null);
        if (r != NOT_FINITE && NumericGuard.allFinite(r.lastLogits()) && NumericGuard.allFinite(r.allLogits())
                && NumericGuard.allFinite(r.finalNormLast())) return r;
        // Rare path: run again from layer 0 checking every op's output, to name where the first NaN/Inf appears.
        // (The same cache rows are rewritten with the same values, so a real KV cache stays valid.)
        NumericGuard guard = new NumericGuard(b, batch, ablation);
        run(batch, cache, ablation, null, null, outputs, reader, guard);
        throw guard.notFound();
    }

    /**
     * The forward. {@code start}: begin at that layer from a cached residual (null: embed the tokens);
     * {@code capture}: keep each layer's input (and q/k/v when it has room for them) into it.
     */
    private Result run(TokenBatch batch, KvCache cache, Ablation ablation, Start start, Residuals capture, Outputs outputs, LogitsReader reader,
                       NumericGuard g) {
        AttentionLayout layout = batch.layout();
        checkLength(layout);
        int T = batch.tokens().length, hd = c.headDim(), lastLayer = c.numLayers() - 1;
        int[] positions = layout.positions(), cacheRows = layout.cacheRows(), lastRows = layout.lastRows();
        // Unless logits at every row are asked for, only each sequence's last row reaches the outputs: the last
        // layer's attention, o_proj and MLP then run on those rows alone (see below).
        boolean lastRowsOnly = !outputs.allLogits() && lastRows.length < T;
        Buffers all = takeBuffers(T), last = lastRowsOnly ? takeBuffers(lastRows.length) : all;
        try {
            KvCache kv = cache != null ? cache : all.scratch();
            int fromLayer = start == null ? 0 : start.layer();
            Tensor x = all.x, xn = all.xn, q = all.q, k = all.k, v = all.v, att = all.att, o = all.o, gate = all.gate, up = all.up;
            // The refusal-direction edits (SPEC.md): r̂ is projected out of every write to the residual stream, and
            // coefficient × direction is added to the input of the direction's layer.
            Tensor unit = ablation.directionAblated() == null ? null : directionRow(ablation.directionAblated().unit());   // (1, dim) r̂
            Tensor added = ablation.directionAdded() == null ? null : directionRow(scaled(ablation.directionAdded().vector(), ablation.addedCoefficient()));   // (1, dim)
            int addedLayer = added == null ? -1 : ablation.directionAdded().layer();
            if (start == null) {
                b.embed(x, w.embed(), batch.tokens());
                if (g != null) g.check(-1, "embed_tokens", x);
            } else {
                b.copy(x, start.residIn());
            }

            for (int l = fromLayer; l < c.numLayers(); l++) {
                Weights.Layer lw = w.layers()[l];
                Ablation.LayerEdits edits = ablation.forLayer(l, c);
                if (capture != null) b.copy(capture.residIn()[l], x);
                if (l == 0 && unit != null) b.projectOut(x, unit);       // the embedding's write (applied here so a forward from layer 0 does it too)
                if (l == addedLayer) b.addRow(x, added);
                if (g != null && (l == 0 && unit != null || l == addedLayer)) g.check(l, "refusal-direction edit of the layer input", x);

                // attention: x += o_proj(ablate_out(attention(ablate_q(rope(q)), ablate_k(rope(k)), v)))
                if (l == fromLayer && start != null && start.qkv() != null) {
                    b.copy(q, start.qkv()[0]);              // the cached layer input gives these exactly
                    b.copy(k, start.qkv()[1]);
                    b.copy(v, start.qkv()[2]);
                } else {
                    b.rmsNorm(xn, x, lw.attnNorm(), c.rmsNormEps());
                    if (g != null) g.check(l, "input_layernorm", xn);
                    b.matmuls(new Tensor[] {q, k, v}, xn, new Weight[] {lw.wq(), lw.wk(), lw.wv()}, new Weight[] {lw.bq(), lw.bk(), lw.bv()});
                    if (g != null) g.check(l, "q_proj", q).check(l, "k_proj", k).check(l, "v_proj", v);
                    b.rope(q, c.numHeads(), hd, positions, invFreq);
                    b.rope(k, c.numKvHeads(), hd, positions, invFreq);
                }
                if (capture != null && capture.qkv() != null) {
                    b.copy(capture.qkv()[l][0], q);
                    b.copy(capture.qkv()[l][1], k);
                    b.copy(capture.qkv()[l][2], v);
                }
                b.editHeads(q, hd, edits.q());
                b.editHeads(k, hd, edits.k());
                if (g != null) g.check(l, "rope + ablation (q)", q).check(l, "rope + ablation (k)", k);
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
                if (g != null) g.check(l, "attention (softmax·V)", att);
                b.editHeads(att, hd, edits.out());
                b.matmul(o, att, lw.wo(), lw.bo());
                if (unit != null) b.projectOut(o, unit);
                if (g != null) g.check(l, "o_proj", o);
                b.add(x, o);
                if (g != null) g.check(l, "residual after attention", x);

                // feed-forward: x += down(silu(gate(xn)) · up(xn))
                b.rmsNorm(xn, x, lw.ffnNorm(), c.rmsNormEps());
                if (g != null) g.check(l, "post_attention_layernorm", xn);
                b.matmuls(new Tensor[] {gate, up}, xn, new Weight[] {lw.wGate(), lw.wUp()}, new Weight[2]);
                if (g != null) g.check(l, "gate_proj", gate).check(l, "up_proj", up);
                b.swiglu(gate, up);
                if (g != null) g.check(l, "silu(gate)·up", gate);
                b.matmul(o, gate, lw.wDown(), null);
                if (unit != null) b.projectOut(o, unit);
                if (g != null) g.check(l, "down_proj", o);
                b.add(x, o);
                if (g != null) g.check(l, "residual after the MLP", x);
            }
            if (!outputs.lastLogits() && !outputs.allLogits() && !outputs.finalNormLast()) return new Result(null, null, null);

            // The final norm and the LM head read the last rows (x holds only those when lastRowsOnly; when every
            // row is a last row, as in decoding, they are all of x) or, for allLogits, every row.
            int[] headRows = lastRowsOnly ? identity(lastRows.length) : outputs.allLogits() ? identity(T) : lastRows;
            Tensor h = last.xn;                                 // (rows, dim) final-norm states
            b.gatherRows(h, x, headRows);
            b.rmsNorm(h, h, w.norm(), c.rmsNormEps());
            if (g != null) g.check(c.numLayers(), "final norm", h);
            float[][] finalNorm = null, lastLogits = null, allLogits = null;
            int dim = c.hiddenSize();
            if (outputs.finalNormLast()) {
                float[] flat = b.download(h);
                finalNorm = new float[lastRows.length][];
                for (int s = 0; s < lastRows.length; s++) {
                    int row = outputs.allLogits() ? lastRows[s] : s;
                    finalNorm[s] = java.util.Arrays.copyOfRange(flat, row * dim, (row + 1) * dim);
                }
            }
            if (outputs.lastLogits() || outputs.allLogits()) {
                // (rows, vocab); logits at every row can be huge, so those are not kept for the next forward
                Tensor logits = outputs.allLogits() ? b.allocate(T, c.vocabSize()) : last.logits();
                b.matmul(logits, h, w.lmHead(), null);
                if (g != null) g.check(c.numLayers(), "lm_head", logits);
                if (reader != null) return reader.read(b, logits) ? new Result(null, null, finalNorm) : NOT_FINITE;
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
        public boolean equals(Object o) { return o instanceof RowValues r && java.util.Arrays.equals(r.values, values); }

        @Override
        public int hashCode() { return java.util.Arrays.hashCode(values); }
    }

    /** The last few direction rows used (a run uses one or two). */
    private final java.util.LinkedHashMap<RowValues, Tensor> directionRows = new java.util.LinkedHashMap<>(4, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(java.util.Map.Entry<RowValues, Tensor> eldest) { return size() > 4; }
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
        for (int r = 0; r < out.length; r++) out[r] = java.util.Arrays.copyOfRange(flat, r * cols, (r + 1) * cols);
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
