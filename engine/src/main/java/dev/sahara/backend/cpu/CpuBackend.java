package dev.sahara.backend.cpu;

import dev.sahara.ablate.HeadEdit;
import dev.sahara.backend.AttentionLayout;
import dev.sahara.backend.Backend;
import dev.sahara.backend.Divergence;
import dev.sahara.backend.RopeTable;
import dev.sahara.backend.Tensor;
import dev.sahara.backend.TopK;
import dev.sahara.backend.Weight;
import dev.sahara.model.TensorData;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The CPU backend: float32 activations on the heap, weights read in place from the mapped checkpoint in
 * their dtype, Vector API inner loops, all cores through {@link Parallel}. Deterministic: every output
 * element is summed in one fixed order whatever the thread count or JIT tier: no {@code reduceLanes(ADD)}
 * (its float order is unspecified), {@link VectorMath} for exp and lane sums, StrictMath for cos / sin.
 */
public final class CpuBackend implements Backend {
    private static final VectorSpecies<Float> F = WeightDecoder.F;
    private static final int L = F.length();
    /** Matmul task: this many token rows (a multiple of the kernel's 6) × one weight panel. */
    private static final int TOKEN_BLOCK = 48;

    private final Parallel parallel;
    private final ThreadLocal<float[]> scratch = ThreadLocal.withInitial(() -> new float[0]);

    public CpuBackend(int threads) { this.parallel = new Parallel(threads); }

    public CpuBackend() { this(Runtime.getRuntime().availableProcessors()); }

    public int threads() { return parallel.threads(); }

    @Override
    public String name() { return "cpu"; }

    @Override
    public Tensor allocate(int rows, int cols) { return new CpuTensor(new float[Math.multiplyExact(rows, cols)], rows, cols); }

    @Override
    public Weight weight(TensorData t) { return new CpuWeight(t.data(), t.dtype(), t.rows(), t.cols()); }

    @Override
    public void upload(Tensor dst, float[] src) { System.arraycopy(src, 0, f(dst), 0, f(dst).length); }

    @Override
    public void download(Tensor src, float[] dst) { System.arraycopy(f(src), 0, dst, 0, f(src).length); }

    @Override
    public void embed(Tensor out, Weight table, int[] tokens) {
        CpuWeight w = (CpuWeight) table;
        int dim = w.cols();
        parallel.forRange(tokens.length, t -> WeightDecoder.decode(w.data(), w.dtype(), (long) tokens[t] * dim, dim, f(out), t * dim));
    }

    @Override
    public void rmsNorm(Tensor out, Tensor x, Weight gamma, float eps) {
        float[] o = f(out), in = f(x);
        int n = x.cols();
        float[] g = ((CpuWeight) gamma).floats();
        parallel.forRange(x.rows(), t -> {
            int base = t * n;
            double ss = 0;
            for (int i = 0; i < n; i++) ss += (double) in[base + i] * in[base + i];
            float inv = (float) (1.0 / StrictMath.sqrt(ss / n + eps));
            for (int i = 0; i < n; i++) o[base + i] = in[base + i] * inv * g[i];
        });
    }

    @Override
    public void matmul(Tensor out, Tensor x, Weight weight, Weight bias) {
        matmuls(new Tensor[] {out}, x, new Weight[] {weight}, new Weight[] {bias});
    }

    /** All the weights' panels in one parallel loop: one hand-off to the workers instead of one per weight. */
    @Override
    public void matmuls(Tensor[] outs, Tensor x, Weight[] weights, Weight[] biases) {
        int m = outs.length, tokens = x.rows(), k = x.cols(), nr = MatMulKernel.NR;
        float[] in = f(x);
        boolean direct = tokens <= DirectKernel.MAX_TOKENS;   // decoding: stream each packed weight once, no float32 copy
        int tokenBlocks = direct ? 1 : (tokens + TOKEN_BLOCK - 1) / TOKEN_BLOCK;
        PackedWeight[] p = new PackedWeight[m];
        float[][] o = new float[m][], b = new float[m][];
        int[] firstTask = new int[m + 1];
        for (int i = 0; i < m; i++) {
            p[i] = ((CpuWeight) weights[i]).packed();
            o[i] = f(outs[i]);
            b[i] = biases[i] == null ? null : ((CpuWeight) biases[i]).floats();
            firstTask[i + 1] = firstTask[i] + p[i].panels * tokenBlocks;
        }
        parallel.forRange(firstTask[m], task -> {
            int i = 0;
            while (task >= firstTask[i + 1]) i++;
            int local = task - firstTask[i], n = p[i].n, panel = local / tokenBlocks, n0 = panel * nr;
            int t0 = direct ? 0 : local % tokenBlocks * TOKEN_BLOCK, t1 = direct ? tokens : Math.min(tokens, t0 + TOKEN_BLOCK);
            if (direct) {
                DirectKernel.panelRows(p[i], panel, in, t0, t1, o[i], n, n0, scratch(nr));
            } else {
                float[] wp = scratch(k * nr);
                WeightDecoder.decode(p[i].data, p[i].dtype, (long) panel * k * nr, k * nr, wp, 0);
                MatMulKernel.panelRows(in, k, t0, t1, wp, o[i], n, n0);
            }
            if (b[i] != null) addBias(o[i], b[i], t0, t1, n0, Math.min(n, n0 + nr), n);
        });
    }

    private static void addBias(float[] o, float[] b, int t0, int t1, int n0, int n1, int n) {
        for (int t = t0; t < t1; t++) for (int j = n0; j < n1; j++) o[t * n + j] += b[j];
    }

    @Override
    public void rope(Tensor x, int heads, int headDim, int[] positions, double[] invFreq) {
        float[] v = f(x);
        int half = headDim / 2, cols = x.cols();
        int maxPos = 0;
        for (int p : positions) maxPos = Math.max(maxPos, p);
        RopeTable table = ropeTable(invFreq, maxPos + 1);
        float[] cosTable = table.cos(), sinTable = table.sin();
        parallel.forRange(x.rows(), t -> {
            int at = positions[t] * half;
            for (int h = 0; h < heads; h++) {
                int base = t * cols + h * headDim;
                for (int i = 0; i < half; i++) {
                    float a = v[base + i], b = v[base + i + half];
                    float cos = cosTable[at + i], sin = sinTable[at + i];
                    v[base + i] = a * cos - b * sin;
                    v[base + i + half] = b * cos + a * sin;
                }
            }
        });
    }

    /** The current cos / sin table: computed once per position, not per op call. */
    private volatile RopeTable rope;

    private synchronized RopeTable ropeTable(double[] invFreq, int positions) { return rope = RopeTable.covering(rope, invFreq, positions); }

    @Override
    public void editHeads(Tensor x, int headDim, HeadEdit edit) {
        if (edit.isIdentity()) return;
        float[] v = f(x);
        int heads = edit.heads(), cols = x.cols();
        boolean anyMean = edit.anyMean();
        parallel.forRange(x.rows(), t -> {
            float[] mean = anyMean ? scratch(headDim) : null;
            if (anyMean) {
                for (int i = 0; i < headDim; i++) {
                    double s = 0;
                    for (int h = 0; h < heads; h++) s += v[t * cols + h * headDim + i];
                    mean[i] = (float) (s / heads);
                }
            }
            for (int h = 0; h < heads; h++) {
                float scale = edit.scale()[h];
                boolean m = edit.mean()[h];
                if (!m && scale == 1f) continue;
                int base = t * cols + h * headDim;
                for (int i = 0; i < headDim; i++) v[base + i] = (m ? mean[i] : v[base + i]) * scale;
            }
        });
    }

    @Override
    public void scatterRows(Tensor dst, int[] dstRows, Tensor src) {
        int c = src.cols();
        for (int i = 0; i < dstRows.length; i++) System.arraycopy(f(src), i * c, f(dst), dstRows[i] * c, c);
    }

    @Override
    public void gatherRows(Tensor out, Tensor x, int[] rows) {
        int c = x.cols();
        for (int i = 0; i < rows.length; i++) System.arraycopy(f(x), rows[i] * c, f(out), i * c, c);
    }

    @Override
    public void attention(Tensor out, Tensor q, Tensor kCache, Tensor vCache, AttentionLayout layout, int heads, int kvHeads, int headDim) {
        float[] o = f(out), qq = f(q), kk = f(kCache), vv = f(vCache);
        int qCols = q.cols(), kvCols = kCache.cols(), group = heads / kvHeads;
        int[] seqOfRow = new int[layout.rows()];
        for (int s = 0; s < layout.sequences(); s++) for (int i = 0; i < layout.newTokens()[s]; i++) seqOfRow[layout.rowStart()[s] + i] = s;
        float scale = (float) (1.0 / StrictMath.sqrt(headDim));
        parallel.forRange(layout.rows() * heads, task -> {
            int row = task / heads, h = task % heads, s = seqOfRow[row];
            int keys = layout.pastLen()[s] + row - layout.rowStart()[s] + 1;   // causal: positions 0 .. its own
            int kvOff = h / group * headDim, qOff = row * qCols + h * headDim, c0 = layout.cacheStart()[s];
            float[] score = scratch((keys + L - 1) / L * L);                   // (keys) rounded up to whole vectors
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < keys; j++) {
                score[j] = dot(qq, qOff, kk, (c0 + j) * kvCols + kvOff, headDim) * scale;
                max = Math.max(max, score[j]);
            }
            for (int j = 0; j < keys; j += L) {   // lanes past the last key hold leftovers: exponentiated, never read
                VectorMath.exp(FloatVector.fromArray(F, score, j).sub(max)).intoArray(score, j);
            }
            double sum = 0;
            for (int j = 0; j < keys; j++) sum += score[j];
            weightedSum(score, (float) (1.0 / sum), keys, vv, c0 * kvCols + kvOff, kvCols, o, qOff, headDim);
        });
    }

    /** gate = silu(gate) · up with silu(g) = g / (1 + e^−g), computed from e^−|g| so the exponential never overflows. */
    @Override
    public void swiglu(Tensor gate, Tensor up) {
        float[] g = f(gate), u = f(up);
        int n = g.length, chunk = 4096;   // elements per task: decoding's single row still uses every core
        parallel.forRange((n + chunk - 1) / chunk, task -> {
            int i = task * chunk, end = Math.min(n, i + chunk);
            for (; i + L <= end; i += L) {
                FloatVector x = FloatVector.fromArray(F, g, i);
                FloatVector e = VectorMath.exp(x.abs().neg()), d = e.add(1f);
                FloatVector silu = x.div(d).blend(x.mul(e).div(d), x.compare(VectorOperators.LT, 0f));
                silu.mul(FloatVector.fromArray(F, u, i)).intoArray(g, i);
            }
            for (; i < end; i++) {
                float x = g[i], e = VectorMath.exp(-Math.abs(x)), d = e + 1f;
                g[i] = (x < 0f ? x * e / d : x / d) * u[i];
            }
        });
    }

    /** In place on the logits, a row per task. */
    @Override
    public boolean topK(Tensor logits, int k, int[] ids, float[] values) {
        float[] x = f(logits);
        int n = logits.cols();
        boolean[] finite = new boolean[logits.rows()];
        parallel.forRange(logits.rows(), r -> finite[r] = TopK.select(x, r * n, n, k, ids, values, r * k));
        for (boolean f : finite) if (!f) return false;
        return true;
    }

    @Override
    public void klDivergence(Tensor p, Tensor q, boolean official, double[] out) {
        Backend.checkSameShape(p, q);
        float[] pp = f(p), qq = f(q);
        int n = p.cols();
        parallel.forRange(p.rows(), r -> out[r] = Divergence.kl(pp, r * n, qq, r * n, n, official));
    }

    @Override
    public void add(Tensor x, Tensor y) {
        float[] a = f(x), b = f(y);
        int i = 0, upper = F.loopBound(a.length);
        for (; i < upper; i += L) FloatVector.fromArray(F, a, i).add(FloatVector.fromArray(F, b, i)).intoArray(a, i);
        for (; i < a.length; i++) a[i] += b[i];
    }

    /** A row per task; the dot product in double, in index order, as rmsNorm's sum of squares. */
    @Override
    public void projectOut(Tensor x, Tensor unit) {
        float[] v = f(x), u = f(unit);
        int n = x.cols();
        Backend.checkRow(x, unit);
        parallel.forRange(x.rows(), t -> {
            int base = t * n;
            double dot = 0;
            for (int i = 0; i < n; i++) dot += (double) v[base + i] * u[i];
            float p = (float) dot;
            for (int i = 0; i < n; i++) v[base + i] = Math.fma(-p, u[i], v[base + i]);
        });
    }

    @Override
    public void addRow(Tensor x, Tensor row) {
        float[] v = f(x), r = f(row);
        int n = x.cols();
        Backend.checkRow(x, row);
        for (int t = 0; t < x.rows(); t++) for (int i = 0; i < n; i++) v[t * n + i] += r[i];
    }

    @Override
    public void copy(Tensor dst, Tensor src) { System.arraycopy(f(src), 0, f(dst), 0, f(src).length); }

    @Override
    public void close() { parallel.close(); }

    /** A dot product keeps this many partial sums, chain j taking elements j, j + 16, j + 32, …, whatever the vector width. */
    static final int DOT_CHAINS = 16;

    /**
     * a · b over n elements (a query against one key: n = head_dim): {@link #DOT_CHAINS} fused multiply-add chains over
     * the whole blocks of 16, added as a fixed pairwise tree (chain j + 8 onto j, then + 4, + 2, + 1), then the
     * leftover elements in order. With 16, 8 or 4 float lanes the chains are one, two or four vectors and the tree is
     * the same, so the bits are the same on AVX-512, AVX2 and 128-bit SIMD, in every JIT tier ({@link #dotByChains} is
     * the scalar statement of it, and the path for other widths).
     */
    static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int whole = n - n % DOT_CHAINS;
        float s = 0f;
        if (whole > 0) {
            if (L == 16) {
                FloatVector c = mul(a, aOff, b, bOff);
                for (int i = 16; i < whole; i += 16) c = fma(a, aOff + i, b, bOff + i, c);
                s = VectorMath.sumLanes(c);
            } else if (L == 8) {
                FloatVector c0 = mul(a, aOff, b, bOff), c1 = mul(a, aOff + 8, b, bOff + 8);
                for (int i = 16; i < whole; i += 16) {
                    c0 = fma(a, aOff + i, b, bOff + i, c0);
                    c1 = fma(a, aOff + i + 8, b, bOff + i + 8, c1);
                }
                s = VectorMath.sumLanes(c0.add(c1));
            } else if (L == 4) {
                FloatVector c0 = mul(a, aOff, b, bOff), c1 = mul(a, aOff + 4, b, bOff + 4);
                FloatVector c2 = mul(a, aOff + 8, b, bOff + 8), c3 = mul(a, aOff + 12, b, bOff + 12);
                for (int i = 16; i < whole; i += 16) {
                    c0 = fma(a, aOff + i, b, bOff + i, c0);
                    c1 = fma(a, aOff + i + 4, b, bOff + i + 4, c1);
                    c2 = fma(a, aOff + i + 8, b, bOff + i + 8, c2);
                    c3 = fma(a, aOff + i + 12, b, bOff + i + 12, c3);
                }
                s = VectorMath.sumLanes(c0.add(c2).add(c1.add(c3)));
            } else {
                return dotByChains(a, aOff, b, bOff, n);
            }
        }
        for (int i = whole; i < n; i++) s = Math.fma(a[aOff + i], b[bOff + i], s);
        return s;
    }

    /** {@link #dot} in scalar code: the definition its vector paths must equal bit for bit. */
    static float dotByChains(float[] a, int aOff, float[] b, int bOff, int n) {
        int whole = n - n % DOT_CHAINS;
        float s = 0f;
        if (whole > 0) {
            float[] chain = new float[DOT_CHAINS];
            for (int j = 0; j < DOT_CHAINS; j++) chain[j] = a[aOff + j] * b[bOff + j];
            for (int i = DOT_CHAINS; i < whole; i += DOT_CHAINS) {
                for (int j = 0; j < DOT_CHAINS; j++) chain[j] = Math.fma(a[aOff + i + j], b[bOff + i + j], chain[j]);
            }
            for (int w = DOT_CHAINS / 2; w >= 1; w /= 2) for (int j = 0; j < w; j++) chain[j] = chain[j] + chain[j + w];
            s = chain[0];
        }
        for (int i = whole; i < n; i++) s = Math.fma(a[aOff + i], b[bOff + i], s);
        return s;
    }

    private static FloatVector mul(float[] a, int aOff, float[] b, int bOff) {
        return FloatVector.fromArray(F, a, aOff).mul(FloatVector.fromArray(F, b, bOff));
    }

    private static FloatVector fma(float[] a, int aOff, float[] b, int bOff, FloatVector acc) {
        return FloatVector.fromArray(F, a, aOff).fma(FloatVector.fromArray(F, b, bOff), acc);
    }

    /**
     * out[oOff + i] = Σ_j (p[j] · inv) · v[vOff + j·vStride + i] for i < n, j < keys (softmax · V for one query):
     * each element one fused multiply-add chain in key order, four vectors of them held in registers at a time.
     */
    static void weightedSum(float[] p, float inv, int keys, float[] v, int vOff, int vStride, float[] out, int oOff, int n) {
        int i = 0;
        for (; i + 4 * L <= n; i += 4 * L) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int j = 0, at = vOff + i; j < keys; j++, at += vStride) {
                FloatVector w = FloatVector.broadcast(F, p[j] * inv);
                a0 = w.fma(FloatVector.fromArray(F, v, at), a0);
                a1 = w.fma(FloatVector.fromArray(F, v, at + L), a1);
                a2 = w.fma(FloatVector.fromArray(F, v, at + 2 * L), a2);
                a3 = w.fma(FloatVector.fromArray(F, v, at + 3 * L), a3);
            }
            a0.intoArray(out, oOff + i);
            a1.intoArray(out, oOff + i + L);
            a2.intoArray(out, oOff + i + 2 * L);
            a3.intoArray(out, oOff + i + 3 * L);
        }
        for (; i + L <= n; i += L) {
            FloatVector a = FloatVector.zero(F);
            for (int j = 0, at = vOff + i; j < keys; j++, at += vStride) a = FloatVector.broadcast(F, p[j] * inv).fma(FloatVector.fromArray(F, v, at), a);
            a.intoArray(out, oOff + i);
        }
        for (; i < n; i++) {
            float a = 0f;
            for (int j = 0, at = vOff + i; j < keys; j++, at += vStride) a = Math.fma(p[j] * inv, v[at], a);
            out[oOff + i] = a;
        }
    }

    private float[] scratch(int size) {
        float[] s = scratch.get();
        if (s.length < size) scratch.set(s = new float[size]);
        return s;
    }

    private static float[] f(Tensor t) { return ((CpuTensor) t).data(); }
}
