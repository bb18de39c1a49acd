package dev.sahara.model;

import java.util.ArrayList;
import java.util.List;

/**
 * The tensors of a Llama-family checkpoint (Llama, Mistral, Qwen2), by Hugging Face name and the shape config.json
 * implies: the one table that loading the weights, the synthetic models and the benchmarks' checkpoints read.
 * dim = hidden_size, q = n_heads · head_dim, kv = n_kv_heads · head_dim, hidden = intermediate_size.
 */
public enum LlamaTensor {
    EMBED_TOKENS("model.embed_tokens.weight"),        // (vocab, dim)
    INPUT_NORM("input_layernorm.weight"),             // (dim)
    Q_PROJ("self_attn.q_proj.weight"),                // (q, dim)
    Q_BIAS("self_attn.q_proj.bias"),                  // (q), with attention_bias (Qwen2 always)
    K_PROJ("self_attn.k_proj.weight"),                // (kv, dim)
    K_BIAS("self_attn.k_proj.bias"),                  // (kv)
    V_PROJ("self_attn.v_proj.weight"),                // (kv, dim)
    V_BIAS("self_attn.v_proj.bias"),                  // (kv)
    O_PROJ("self_attn.o_proj.weight"),                // (dim, q)
    O_BIAS("self_attn.o_proj.bias"),                  // (dim), Llama with attention_bias only
    POST_ATTENTION_NORM("post_attention_layernorm.weight"),   // (dim)
    GATE_PROJ("mlp.gate_proj.weight"),                // (hidden, dim)
    UP_PROJ("mlp.up_proj.weight"),                    // (hidden, dim)
    DOWN_PROJ("mlp.down_proj.weight"),                // (dim, hidden)
    NORM("model.norm.weight"),                        // (dim)
    LM_HEAD("lm_head.weight");                        // (vocab, dim), absent when tied to the embedding

    /** One tensor of a checkpoint: its name, its shape, and whether it is a norm's gain (the rest are matrices or biases). */
    public record Entry(String name, long[] shape, boolean norm) {
        public long elements() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }
    }

    private final String suffix;

    LlamaTensor(String suffix) { this.suffix = suffix; }

    /** Whether there is one per layer (named {@code model.layers.{l}.…}). */
    public boolean perLayer() { return this != EMBED_TOKENS && this != NORM && this != LM_HEAD; }

    /** The tensor's name in layer {@code layer}; {@code layer} is ignored for the three outside the layers. */
    public String name(int layer) { return perLayer() ? "model.layers." + layer + "." + suffix : suffix; }

    public boolean isNorm() { return this == INPUT_NORM || this == POST_ATTENTION_NORM || this == NORM; }

    /** Whether a checkpoint of config {@code c} has this tensor. */
    public boolean isIn(ModelConfig c) {
        return switch (this) {
            case Q_BIAS, K_BIAS, V_BIAS -> c.attentionBias();
            case O_BIAS -> c.outputBias();
            case LM_HEAD -> !c.tieWordEmbeddings();
            default -> true;
        };
    }

    public long[] shape(ModelConfig c) {
        long dim = c.hiddenSize(), q = c.qDim(), kv = c.kvDim(), hidden = c.intermediateSize(), vocab = c.vocabSize();
        return switch (this) {
            case EMBED_TOKENS, LM_HEAD -> new long[] {vocab, dim};
            case INPUT_NORM, POST_ATTENTION_NORM, NORM, O_BIAS -> new long[] {dim};
            case Q_PROJ -> new long[] {q, dim};
            case Q_BIAS -> new long[] {q};
            case K_PROJ, V_PROJ -> new long[] {kv, dim};
            case K_BIAS, V_BIAS -> new long[] {kv};
            case O_PROJ -> new long[] {dim, q};
            case GATE_PROJ, UP_PROJ -> new long[] {hidden, dim};
            case DOWN_PROJ -> new long[] {dim, hidden};
        };
    }

    /** Every tensor a checkpoint of config {@code c} holds, in file order: the embedding, layer by layer, the final norm, the LM head. */
    public static List<Entry> all(ModelConfig c) {
        List<Entry> out = new ArrayList<>();
        add(out, EMBED_TOKENS, 0, c);
        for (int l = 0; l < c.numLayers(); l++) {
            for (LlamaTensor t : values()) if (t.perLayer()) add(out, t, l, c);
        }
        add(out, NORM, 0, c);
        add(out, LM_HEAD, 0, c);
        return out;
    }

    private static void add(List<Entry> out, LlamaTensor t, int layer, ModelConfig c) {
        if (t.isIn(c)) out.add(new Entry(t.name(layer), t.shape(c), t.isNorm()));
    }
}
