package dev.sahara.attribution;

/**
 * KL(p ‖ q) between next-token distributions given as logits, natural log, computed from log-softmax in
 * double precision. {@link #officialKl} reproduces the official code instead: softmax probabilities with
 * 1e-12 added to both and no renormalisation.
 */
public final class Divergence {
    private Divergence() {}

    public static double[] logSoftmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) max = Math.max(max, l);
        double sum = 0;
        for (float l : logits) sum += Math.exp(l - max);
        double logZ = max + Math.log(sum);
        double[] out = new double[logits.length];
        for (int i = 0; i < out.length; i++) out[i] = logits[i] - logZ;
        return out;
    }

    /** KL(p ‖ q) = Σ p · (log p − log q). */
    public static double kl(float[] pLogits, float[] qLogits) {
        double[] lp = logSoftmax(pLogits), lq = logSoftmax(qLogits);
        double kl = 0;
        for (int i = 0; i < lp.length; i++) {
            double p = Math.exp(lp[i]);
            if (p > 0) kl += p * (lp[i] - lq[i]);
        }
        return Math.max(0, kl);
    }

    /** The official code's variant: Σ (p + 1e-12) · log((p + 1e-12) / (q + 1e-12)). */
    public static double officialKl(float[] pLogits, float[] qLogits) {
        double[] lp = logSoftmax(pLogits), lq = logSoftmax(qLogits);
        double kl = 0;
        for (int i = 0; i < lp.length; i++) {
            double p = Math.exp(lp[i]) + 1e-12, q = Math.exp(lq[i]) + 1e-12;
            kl += p * Math.log(p / q);
        }
        return kl;
    }
}
