package dev.sahara.llama;

/**
 * The tensors a forward computes, in the order it computes them, by hook name — the one place the names are
 * defined: the guard's messages, the residual capture and docs/ARCHITECTURE.md use these. Shapes: T rows (the
 * batch's tokens; from the last layer's attention on, each sequence's last row only, unless logits at every row
 * are asked for), dim = hidden size, hd = head_dim, hidden = intermediate size.
 *
 * <pre>
 * embed                  (T, dim)          embed_tokens
 * layer.{l}.resid_in     (T, dim)          the residual stream entering layer l
 * layer.{l}.attn.norm    (T, dim)          input_layernorm
 * layer.{l}.attn.q       (T, n_heads·hd)   q_proj after RoPE, before ablation
 * layer.{l}.attn.k       (T, n_kv·hd)      k_proj after RoPE, before ablation
 * layer.{l}.attn.v       (T, n_kv·hd)      v_proj
 * layer.{l}.attn.z       (T, n_heads·hd)   each head's softmax·V, before the output ablation (TransformerLens' hook_z)
 * layer.{l}.attn.out     (T, dim)          o_proj
 * layer.{l}.resid_mid    (T, dim)          the residual stream after attention
 * layer.{l}.mlp.norm     (T, dim)          post_attention_layernorm
 * layer.{l}.mlp.gate     (T, hidden)       gate_proj
 * layer.{l}.mlp.up       (T, hidden)       up_proj
 * layer.{l}.mlp.act      (T, hidden)       silu(gate)·up
 * layer.{l}.mlp.out      (T, dim)          down_proj
 * layer.{l}.resid_out    (T, dim)          the residual stream after the MLP
 * final_norm             (rows, dim)       the final RMSNorm at the rows the LM head reads
 * logits                 (rows, vocab)     lm_head
 * </pre>
 */
public enum HookPoint {
    EMBED("embed", "embed_tokens"),
    RESID_IN("resid_in", "the layer below"),
    ATTN_NORM("attn.norm", "input_layernorm"),
    ATTN_Q("attn.q", "q_proj and RoPE"),
    ATTN_K("attn.k", "k_proj and RoPE"),
    ATTN_V("attn.v", "v_proj"),
    ATTN_Z("attn.z", "attention (softmax·V)"),
    ATTN_OUT("attn.out", "o_proj"),
    RESID_MID("resid_mid", "residual after attention"),
    MLP_NORM("mlp.norm", "post_attention_layernorm"),
    MLP_GATE("mlp.gate", "gate_proj"),
    MLP_UP("mlp.up", "up_proj"),
    MLP_ACT("mlp.act", "silu(gate)·up"),
    MLP_OUT("mlp.out", "down_proj"),
    RESID_OUT("resid_out", "residual after the MLP"),
    FINAL_NORM("final_norm", "final norm"),
    LOGITS("logits", "lm_head");

    private final String name;
    private final String producedBy;

    HookPoint(String name, String producedBy) {
        this.name = name;
        this.producedBy = producedBy;
    }

    /** Whether the tensor belongs to one layer (its name then starts with {@code layer.{l}.}). */
    public boolean perLayer() { return this != EMBED && this != FINAL_NORM && this != LOGITS; }

    /** The hook name, e.g. {@code layer.3.attn.q}; {@code layer} is ignored for embed, final_norm and logits. */
    public String label(int layer) { return perLayer() ? "layer." + layer + "." + name : name; }

    /** The module or op whose output this is, in Hugging Face's names where it has one (for messages). */
    public String producedBy() { return producedBy; }
}
