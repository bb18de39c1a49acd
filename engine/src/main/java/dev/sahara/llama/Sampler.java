package dev.sahara.llama;

import dev.sahara.SaharaException;
import dev.sahara.backend.TopK;

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

    /** How many of a row's largest logits {@link #pick} needs: 1 for greedy, else k (at most the vocabulary). */
    public int candidates(int vocab) { return greedy() ? 1 : Math.min(topK, vocab); }

    /** The next token from a whole row of logits. */
    public int sample(float[] logits, SplittableRandom random) {
        int k = candidates(logits.length);
        int[] ids = new int[k];
        float[] values = new float[k];
        if (!TopK.select(logits, 0, logits.length, k, ids, values, 0)) throw new SaharaException("cannot sample from logits that are not all finite");
        return pick(ids, values, 0, k, random);
    }

    /**
     * The next token from a row's k = {@link #candidates} largest logits at ids[off ..], values[off ..], largest
     * first (ties: lower id first; see {@link TopK}): greedy takes the first; top-k draws from their softmax at the
     * temperature, one uniform number per draw, accumulated in double.
     */
    public int pick(int[] ids, float[] values, int off, int k, SplittableRandom random) {
        if (greedy()) return ids[off];
        double max = values[off], sum = 0;
        double[] p = new double[k];
        for (int j = 0; j < k; j++) sum += p[j] = Math.exp((values[off + j] - max) / temperature);
        double r = random.nextDouble() * sum;
        for (int j = 0; j < k; j++) {
            r -= p[j];
            if (r < 0) return ids[off + j];
        }
        return ids[off + k - 1];
    }

    /** For result files. */
    public String describe() {
        return greedy() ? "greedy" : "top-k (k=" + topK + ", temperature=" + temperature + ", seed=" + seed + ")";
    }
}
