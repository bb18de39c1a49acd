package dev.sahara.ablate;

import dev.sahara.SaharaException;

/** How a head is ablated (SPEC.md, "Heads and ablations"). */
public enum AblationMode {
    /** Scale the head's query (= its attention scores) by ε before softmax; ε = 0 gives the uniform causal matrix. */
    UNDIFF_Q("undiff-q"),
    /** Scale the key of the head's KV head by ε; under GQA that hits every query head sharing it. */
    UNDIFF_K("undiff-k"),
    /** Scale the head's output (softmax·V, before o_proj) by ε ("scaling contribution"). */
    SCALE_V("scale-v"),
    /** Replace the head's query at each position by the mean over the layer's query heads. */
    MEAN_Q("mean-q"),
    /** Replace the KV head's key at each position by the mean over the layer's KV heads. */
    MEAN_K("mean-k"),
    /** Replace the head's output at each position by the mean over the layer's heads' outputs. */
    MEAN_V("mean-v");

    public final String label;

    AblationMode(String label) { this.label = label; }

    /** True when the mode acts on the shared KV head rather than on the query head alone. */
    public boolean touchesKvHead() { return this == UNDIFF_K || this == MEAN_K; }

    public boolean usesEpsilon() { return this == UNDIFF_Q || this == UNDIFF_K || this == SCALE_V; }

    public static AblationMode parse(String s) {
        for (AblationMode m : values()) if (m.label.equalsIgnoreCase(s.strip())) return m;
        throw new SaharaException("unknown ablation mode '" + s + "' (one of undiff-q, undiff-k, scale-v, mean-q, mean-k, mean-v)");
    }

    @Override
    public String toString() { return label; }
}
