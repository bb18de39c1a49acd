package dev.sahara.llama;

import dev.sahara.SaharaException;

import java.util.SplittableRandom;

/**
 * Picks the next token from logits: greedy (argmax, first maximum wins) or top-k sampling at a temperature.
 * Each sequence draws from its own generator seeded by (seed, sequence index), so a sequence's sample does
 * not depend on which other prompts share its batch.
 */
public record Sampler(int topK, float temperature, long seed) {
    public static final Sampler GREEDY = new Sampler(0, 0f, 0L);

    public Sampler {
        if (topK < 0) throw new SaharaException("--top-k must be >= 0, got " + topK);
        if (topK > 0 && !(temperature > 0)) throw new SaharaException("--temperature must be > 0 for top-k sampling, got " + temperature);
    }

    public boolean greedy() { return topK == 0; }

    public SplittableRandom randomFor(int sequence) { return new SplittableRandom(seed * 0x9E3779B97F4A7C15L + sequence); }

    public int sample(float[] logits, SplittableRandom random) {
        if (greedy()) return argmax(logits);
        int k = Math.min(topK, logits.length);
        int[] top = new int[k];           // indices of the k largest logits, largest first; ties keep lower ids first
        int filled = 0;
        for (int i = 0; i < logits.length; i++) {
            if (filled == k && logits[i] <= logits[top[k - 1]]) continue;
            int j = Math.min(filled, k - 1);
            while (j > 0 && logits[top[j - 1]] < logits[i]) {
                top[j] = top[j - 1];
                j--;
            }
            top[j] = i;
            if (filled < k) filled++;
        }
        double max = logits[top[0]], sum = 0;
        double[] p = new double[k];
        for (int j = 0; j < k; j++) sum += p[j] = Math.exp((logits[top[j]] - max) / temperature);
        double r = random.nextDouble() * sum;
        for (int j = 0; j < k; j++) {
            r -= p[j];
            if (r < 0) return top[j];
        }
        return top[k - 1];
    }

    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }

    /** For result files. */
    public String describe() {
        return greedy() ? "greedy" : "top-k (k=" + topK + ", temperature=" + temperature + ", seed=" + seed + ")";
    }
}
