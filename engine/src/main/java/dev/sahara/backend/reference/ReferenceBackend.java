package dev.sahara.backend.reference;

import dev.sahara.ablate.HeadEdit;
import dev.sahara.backend.AttentionLayout;
import dev.sahara.backend.Backend;
import dev.sahara.backend.Tensor;
import dev.sahara.backend.Weight;
import dev.sahara.model.DType;
import dev.sahara.model.TensorData;

/**
 * The oracle: every op as the plainest scalar loop, in double precision, single-threaded. Slow on purpose;
 * tests run every other backend against it and so can a whole forward (same model code, this backend).
 */
public final class ReferenceBackend implements Backend {

    /** Activations in double precision. */
    public record DoubleTensor(double[] data, int rows, int cols) implements Tensor {}

    /** Weights decoded once to double (fine for the small models tests use). */
    public record DoubleWeight(double[] data, DType dtype, int rows, int cols) implements Weight {}

    @Override
    public String name() { return "reference"; }

    @Override
    public Tensor allocate(int rows, int cols) { return new DoubleTensor(new double[Math.multiplyExact(rows, cols)], rows, cols); }

    @Override
    public Weight weight(TensorData t) {
        double[] d = new double[Math.toIntExact(t.elementCount())];
        for (int i = 0; i < d.length; i++) d[i] = t.get(i);
        return new DoubleWeight(d, t.dtype(), t.rows(), t.cols());
    }

    @Override
    public void upload(Tensor dst, float[] src) {
        double[] d = d(dst);
        for (int i = 0; i < d.length; i++) d[i] = src[i];
    }

    @Override
    public void download(Tensor src, float[] dst) {
        double[] d = d(src);
        for (int i = 0; i < d.length; i++) dst[i] = (float) d[i];
    }

    @Override
    public void embed(Tensor out, Weight table, int[] tokens) {
        double[] o = d(out), w = w(table);
        int dim = table.cols();
        for (int t = 0; t < tokens.length; t++) System.arraycopy(w, tokens[t] * dim, o, t * dim, dim);
    }

    @Override
    public void rmsNorm(Tensor out, Tensor x, Weight gamma, float eps) {
        double[] o = d(out), in = d(x), g = w(gamma);
        int n = x.cols();
        for (int t = 0; t < x.rows(); t++) {
            double ss = 0;
            for (int i = 0; i < n; i++) ss += in[t * n + i] * in[t * n + i];
            double inv = 1.0 / Math.sqrt(ss / n + eps);
            for (int i = 0; i < n; i++) o[t * n + i] = in[t * n + i] * inv * g[i];
        }
    }

    @Override
    public void matmul(Tensor out, Tensor x, Weight w, Weight bias) {
        double[] o = d(out), in = d(x), ww = w(w), b = bias == null ? null : w(bias);
        int k = x.cols(), n = w.rows();
        for (int t = 0; t < x.rows(); t++) {
            for (int j = 0; j < n; j++) {
                double acc = b == null ? 0 : b[j];
                for (int i = 0; i < k; i++) acc += in[t * k + i] * ww[j * k + i];
                o[t * n + j] = acc;
            }
        }
    }

    @Override
    public void rope(Tensor x, int heads, int headDim, int[] positions, double[] invFreq) {
        double[] v = d(x);
        int half = headDim / 2, cols = x.cols();
        for (int t = 0; t < x.rows(); t++) {
            for (int h = 0; h < heads; h++) {
                int base = t * cols + h * headDim;
                for (int i = 0; i < half; i++) {
                    double angle = positions[t] * invFreq[i], c = Math.cos(angle), s = Math.sin(angle);
                    double a = v[base + i], b = v[base + i + half];
                    v[base + i] = a * c - b * s;
                    v[base + i + half] = b * c + a * s;
                }
            }
        }
    }

    @Override
    public void editHeads(Tensor x, int headDim, HeadEdit edit) {
        double[] v = d(x);
        int heads = edit.heads(), cols = x.cols();
        for (int t = 0; t < x.rows(); t++) {
            double[] mean = new double[headDim];
            for (int h = 0; h < heads; h++) for (int i = 0; i < headDim; i++) mean[i] += v[t * cols + h * headDim + i] / heads;
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < headDim; i++) {
                    int at = t * cols + h * headDim + i;
                    v[at] = (edit.mean()[h] ? mean[i] : v[at]) * edit.scale()[h];
                }
            }
        }
    }

    @Override
    public void scatterRows(Tensor dst, int[] dstRows, Tensor src) {
        int c = src.cols();
        for (int i = 0; i < dstRows.length; i++) System.arraycopy(d(src), i * c, d(dst), dstRows[i] * c, c);
    }

    @Override
    public void gatherRows(Tensor out, Tensor x, int[] rows) {
        int c = x.cols();
        for (int i = 0; i < rows.length; i++) System.arraycopy(d(x), rows[i] * c, d(out), i * c, c);
    }

    @Override
    public void attention(Tensor out, Tensor q, Tensor kCache, Tensor vCache, AttentionLayout layout, int heads, int kvHeads, int headDim) {
        double[] o = d(out), qq = d(q), kk = d(kCache), vv = d(vCache);
        int qCols = q.cols(), kvCols = kCache.cols(), group = heads / kvHeads;
        double scale = 1.0 / Math.sqrt(headDim);
        for (int s = 0; s < layout.sequences(); s++) {
            for (int i = 0; i < layout.newTokens()[s]; i++) {
                int row = layout.rowStart()[s] + i, pos = layout.pastLen()[s] + i;
                for (int h = 0; h < heads; h++) {
                    int kvh = h / group;
                    double[] score = new double[pos + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= pos; j++) {
                        int krow = layout.cacheStart()[s] + j;
                        double acc = 0;
                        for (int e = 0; e < headDim; e++) acc += qq[row * qCols + h * headDim + e] * kk[krow * kvCols + kvh * headDim + e];
                        score[j] = acc * scale;
                        max = Math.max(max, score[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= pos; j++) sum += score[j] = Math.exp(score[j] - max);
                    for (int e = 0; e < headDim; e++) {
                        double acc = 0;
                        for (int j = 0; j <= pos; j++) acc += score[j] / sum * vv[(layout.cacheStart()[s] + j) * kvCols + kvh * headDim + e];
                        o[row * qCols + h * headDim + e] = acc;
                    }
                }
            }
        }
    }

    @Override
    public void swiglu(Tensor gate, Tensor up) {
        double[] g = d(gate), u = d(up);
        for (int i = 0; i < g.length; i++) g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
    }

    @Override
    public void add(Tensor x, Tensor y) {
        double[] a = d(x), b = d(y);
        for (int i = 0; i < a.length; i++) a[i] += b[i];
    }

    @Override
    public void projectOut(Tensor x, Tensor unit) {
        double[] v = d(x), u = d(unit);
        int n = x.cols();
        for (int t = 0; t < x.rows(); t++) {
            double dot = 0;
            for (int i = 0; i < n; i++) dot += v[t * n + i] * u[i];
            for (int i = 0; i < n; i++) v[t * n + i] -= dot * u[i];
        }
    }

    @Override
    public void addRow(Tensor x, Tensor row) {
        double[] v = d(x), r = d(row);
        int n = x.cols();
        for (int t = 0; t < x.rows(); t++) for (int i = 0; i < n; i++) v[t * n + i] += r[i];
    }

    @Override
    public void copy(Tensor dst, Tensor src) { System.arraycopy(d(src), 0, d(dst), 0, d(src).length); }

    private static double[] d(Tensor t) { return ((DoubleTensor) t).data(); }

    private static double[] w(Weight t) { return ((DoubleWeight) t).data(); }
}
