package dev.sahara.backend;

/**
 * KL(p ‖ q) between next-token distributions given as logits, natural log, computed from log-softmax in
 * double precision. {@link #officialKl} reproduces the official code instead: softmax probabilities with
 * 1e-12 added to both and no renormalisation. This is the host statement of {@link Backend#klDivergence}.
 */
public final class Divergence {
    private Divergence() {}

    public static double[] logSoftmax(float[] logits) {
        double logZ = logSumExp(logits, 0, logits.length);
        double[] out = new double[logits.length];
        for (int i = 0; i < out.length; i++) out[i] = logits[i] - logZ;
        return out;
    }

    /** log Σ exp(x[off .. off + n)), from the maximum. */
    static double logSumExp(float[] x, int off, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, x[off + i]);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.exp(x[off + i] - max);
        return max + Math.log(sum);
    }

    /** KL(p ‖ q) = Σ p · (log p − log q). */
    public static double kl(float[] pLogits, float[] qLogits) { return kl(pLogits, 0, qLogits, 0, pLogits.length, false); }

    /** The official code's variant: Σ (p + 1e-12) · log((p + 1e-12) / (q + 1e-12)). */
    public static double officialKl(float[] pLogits, float[] qLogits) { return kl(pLogits, 0, qLogits, 0, pLogits.length, true); }

    /**
     * KL over the n logits at p[pOff ..] and q[qOff ..]; {@code official}: the +1e-12 variant. NaN when a logit of
     * either row is NaN or ±Inf, so a score is never computed from garbage (a −Inf where p is 0 would otherwise
     * vanish from the sum).
     */
    public static double kl(float[] p, int pOff, float[] q, int qOff, int n, boolean official) {
        for (int i = 0; i < n; i++) if (!Float.isFinite(p[pOff + i]) || !Float.isFinite(q[qOff + i])) return Double.NaN;
        double pZ = logSumExp(p, pOff, n), qZ = logSumExp(q, qOff, n);
        double kl = 0;
        for (int i = 0; i < n; i++) {
            double lp = p[pOff + i] - pZ, lq = q[qOff + i] - qZ;
            if (official) {
                double pp = Math.exp(lp) + 1e-12, qq = Math.exp(lq) + 1e-12;
                kl += pp * Math.log(pp / qq);
            } else {
                double pp = Math.exp(lp);
                if (pp > 0) kl += pp * (lp - lq);
            }
        }
        return official ? kl : Math.max(0, kl);
    }
}
