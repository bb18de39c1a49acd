package dev.sahara.backend;

import dev.sahara.ablate.HeadEdit;
import dev.sahara.model.TensorData;

/**
 * The narrow set of operations the forward pass is written against (llama/LlamaModel). One implementation per
 * device; {@code reference/ReferenceBackend} is the plain double-precision oracle every other backend is
 * tested against. Activations are float32 [rows, cols]; every op may overwrite only its first argument.
 */
public interface Backend extends AutoCloseable {
    String name();

    /** A zeroed tensor [rows, cols]. */
    Tensor allocate(int rows, int cols);

    /** Makes a checkpoint tensor available to the ops, in its own dtype. */
    Weight weight(TensorData data);

    void upload(Tensor dst, float[] rowMajor);

    /** Copies src, row-major, into dst[0 .. rows·cols). */
    void download(Tensor src, float[] dst);

    /** src as a new row-major array. */
    default float[] download(Tensor src) {
        float[] out = new float[Math.multiplyExact(src.rows(), src.cols())];
        download(src, out);
        return out;
    }

    /** out[t] = table[tokens[t]] (as float32). out: [T, dim]; table: [vocab, dim]. */
    void embed(Tensor out, Weight table, int[] tokens);

    /** out[t] = x[t] / sqrt(mean(x[t]²) + eps) · gamma. out, x: [T, dim]; gamma: [dim]. out may be x. */
    void rmsNorm(Tensor out, Tensor x, Weight gamma, float eps);

    /** out = x · wᵀ, plus bias[n] on every row when bias is not null. out: [T, N]; x: [T, K]; w: [N, K]; bias: [N]. */
    void matmul(Tensor out, Tensor x, Weight w, Weight bias);

    /**
     * outs[i] = x · ws[i]ᵀ (+ biases[i]) for several weights reading the same input (q/k/v; gate/up): the same
     * results as one {@link #matmul} each, which a backend may run as one parallel loop. biases[i] may be null.
     */
    default void matmuls(Tensor[] outs, Tensor x, Weight[] ws, Weight[] biases) {
        for (int i = 0; i < outs.length; i++) matmul(outs[i], x, ws[i], biases[i]);
    }

    /**
     * Rotate-half RoPE in place on x: [T, heads·headDim]. For each head and i < headDim/2, the pair
     * (x[i], x[i + headDim/2]) is rotated by angle positions[t] · invFreq[i].
     */
    void rope(Tensor x, int heads, int headDim, int[] positions, double[] invFreq);

    /** Applies a per-head ablation edit in place on x: [T, heads·headDim] (see {@link HeadEdit}). */
    void editHeads(Tensor x, int headDim, HeadEdit edit);

    /** dst[dstRows[i]] = src[i]. dst: [R, C]; src: [len(dstRows), C]. */
    void scatterRows(Tensor dst, int[] dstRows, Tensor src);

    /** out[i] = x[rows[i]]. out: [len(rows), C]; x: [R, C]. */
    void gatherRows(Tensor out, Tensor x, int[] rows);

    /**
     * Causal softmax attention with GQA. out, q: [T, heads·headDim]; kCache, vCache: [S, kvHeads·headDim].
     * Query head h reads KV head h / (heads / kvHeads); scores are q·k / sqrt(headDim), softmax in float32.
     */
    void attention(Tensor out, Tensor q, Tensor kCache, Tensor vCache, AttentionLayout layout, int heads, int kvHeads, int headDim);

    /** gate = silu(gate) · up, elementwise. gate, up: [T, hidden]. */
    void swiglu(Tensor gate, Tensor up);

    /**
     * For each row r of logits (rows, n): its k largest values, largest first, equal values by lower column id first
     * (exactly {@link TopK#select}), into ids[r·k + j] and values[r·k + j]. All that greedy decoding and top-k
     * sampling need, so the (rows × vocab) logits need not leave the device. Returns false when any value of the
     * rows is NaN or ±Inf.
     */
    default boolean topK(Tensor logits, int k, int[] ids, float[] values) {
        float[] all = download(logits);
        boolean finite = true;
        for (int r = 0; r < logits.rows(); r++) finite &= TopK.select(all, r * logits.cols(), logits.cols(), k, ids, values, r * k);
        return finite;
    }

    /**
     * out[r] = KL(softmax(p[r]) ‖ softmax(q[r])) for each row r of two (rows, vocab) logits tensors, in double, as
     * {@link Divergence#kl} ({@code official}: {@link Divergence#officialKl}); NaN where a logit of either row is
     * not finite. Query-level Ships without downloading either.
     */
    default void klDivergence(Tensor p, Tensor q, boolean official, double[] out) {
        checkSameShape(p, q);
        float[] pp = download(p), qq = download(q);
        int n = p.cols();
        for (int r = 0; r < p.rows(); r++) out[r] = Divergence.kl(pp, r * n, qq, r * n, n, official);
    }

    static void checkSameShape(Tensor p, Tensor q) {
        if (p.rows() != q.rows() || p.cols() != q.cols()) throw new IllegalArgumentException(p.rows() + "x" + p.cols() + " vs " + q.rows() + "x" + q.cols());
    }

    /** Refuses a row vector that is not (1, x.cols()). */
    static void checkRow(Tensor x, Tensor row) {
        if (row.rows() != 1 || row.cols() != x.cols()) throw new IllegalArgumentException("a (1, " + x.cols() + ") row expected, got " + row.rows() + "x" + row.cols());
    }

    /** x += y. */
    void add(Tensor x, Tensor y);

    /**
     * Each row minus its projection on a unit vector: x[t] ← x[t] − (x[t]·u) u, the dot product summed in double in
     * index order (a fixed order: the same bits whatever the thread count), then rounded once to float32, and each
     * element updated with one fused multiply-add. Directional ablation. x: [T, dim]; unit: [1, dim], ‖unit‖ = 1.
     */
    void projectOut(Tensor x, Tensor unit);

    /** x[t] += row for every row t. Activation addition. x: [T, dim]; row: [1, dim]. */
    void addRow(Tensor x, Tensor row);

    /** dst = src (same shape). */
    void copy(Tensor dst, Tensor src);

    @Override
    default void close() {}
}
