package dev.sahara.llama;

import dev.sahara.model.ModelConfig;

/** RoPE inverse frequencies from config.json (rope_theta, rope_scaling llama3 / linear), as Hugging Face computes them. */
public final class RopeFrequencies {
    private RopeFrequencies() {}

    /** inv_freq[i] for i < headDim/2: the rotation per position of the pair (i, i + headDim/2). */
    public static double[] of(ModelConfig c) {
        int half = c.headDim() / 2;
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) inv[i] = 1.0 / Math.pow(c.ropeTheta(), (2.0 * i) / c.headDim());
        ModelConfig.RopeScaling s = c.ropeScaling();
        if (s == null) return inv;
        switch (s.type()) {
            case "linear" -> {
                for (int i = 0; i < half; i++) inv[i] /= s.factor();
            }
            case "llama3" -> {
                // transformers' _compute_llama3_parameters: long wavelengths divided by factor, short kept,
                // the band between interpolated smoothly.
                double lowWavelen = s.originalMaxPositions() / s.lowFreqFactor();
                double highWavelen = s.originalMaxPositions() / s.highFreqFactor();
                for (int i = 0; i < half; i++) {
                    double wavelen = 2 * Math.PI / inv[i];
                    if (wavelen > lowWavelen) {
                        inv[i] = inv[i] / s.factor();
                    } else if (wavelen >= highWavelen) {
                        double smooth = (s.originalMaxPositions() / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
                        inv[i] = (1 - smooth) * inv[i] / s.factor() + smooth * inv[i];
                    }
                }
            }
            default -> throw new IllegalStateException("rope_scaling type " + s.type() + " passed config validation");
        }
        return inv;
    }
}
