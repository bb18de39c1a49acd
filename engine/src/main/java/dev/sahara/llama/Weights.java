package dev.sahara.llama;

import dev.sahara.backend.Backend;
import dev.sahara.backend.Weight;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.ModelConfig;

/**
 * The model's weights as the backend holds them, by Hugging Face tensor name. Shapes are checked against
 * config.json on load: a missing tensor or a wrong shape is an error naming the file.
 *
 * @param embed   (vocab, dim)              model.embed_tokens.weight
 * @param norm    (dim)                     model.norm.weight
 * @param lmHead  (vocab, dim)              lm_head.weight, or embed when tied
 */
public record Weights(Weight embed, Layer[] layers, Weight norm, Weight lmHead) {

    /**
     * @param attnNorm (dim)                          input_layernorm
     * @param wq       (n_heads · head_dim, dim)      q_proj; bq its bias or null
     * @param wk       (n_kv_heads · head_dim, dim)   k_proj; bk its bias or null
     * @param wv       (n_kv_heads · head_dim, dim)   v_proj; bv its bias or null
     * @param wo       (dim, n_heads · head_dim)      o_proj; bo its bias or null (Llama with attention_bias)
     * @param ffnNorm  (dim)                          post_attention_layernorm
     * @param wGate    (hidden, dim)                  mlp.gate_proj
     * @param wUp      (hidden, dim)                  mlp.up_proj
     * @param wDown    (dim, hidden)                  mlp.down_proj
     */
    public record Layer(Weight attnNorm, Weight wq, Weight bq, Weight wk, Weight bk, Weight wv, Weight bv, Weight wo, Weight bo,
                        Weight ffnNorm, Weight wGate, Weight wUp, Weight wDown) {}

    public static Weights load(Checkpoint ck, Backend b) { return load(ck, null, b); }

    /**
     * As {@link #load(Checkpoint, Backend)}, with the attention projections (q/k/v/o_proj weights and biases) of
     * every layer taken from {@code attentionFrom} when it is not null (weight transplant, paper Fig. 6a); the
     * norms, MLPs, embeddings and LM head come from {@code ck}. The two configs must agree on every shape.
     */
    public static Weights load(Checkpoint ck, Checkpoint attentionFrom, Backend b) {
        ModelConfig c = ck.config();
        Checkpoint at = attentionFrom == null ? ck : attentionFrom;
        if (attentionFrom != null) checkSameShapes(c, attentionFrom);
        long dim = c.hiddenSize(), q = c.qDim(), kv = c.kvDim(), hidden = c.intermediateSize(), vocab = c.vocabSize();
        // The last layer must exist before anything is sized by num_hidden_layers (a hostile config may say 2^31 - 1).
        ck.tensor("model.layers." + (c.numLayers() - 1) + ".input_layernorm.weight", dim);
        Layer[] layers = new Layer[c.numLayers()];
        for (int l = 0; l < layers.length; l++) {
            String p = "model.layers." + l + ".";
            boolean bias = c.attentionBias();
            layers[l] = new Layer(
                    b.weight(ck.tensor(p + "input_layernorm.weight", dim)),
                    b.weight(at.tensor(p + "self_attn.q_proj.weight", q, dim)),
                    bias ? b.weight(at.tensor(p + "self_attn.q_proj.bias", q)) : null,
                    b.weight(at.tensor(p + "self_attn.k_proj.weight", kv, dim)),
                    bias ? b.weight(at.tensor(p + "self_attn.k_proj.bias", kv)) : null,
                    b.weight(at.tensor(p + "self_attn.v_proj.weight", kv, dim)),
                    bias ? b.weight(at.tensor(p + "self_attn.v_proj.bias", kv)) : null,
                    b.weight(at.tensor(p + "self_attn.o_proj.weight", dim, q)),
                    c.outputBias() ? b.weight(at.tensor(p + "self_attn.o_proj.bias", dim)) : null,
                    b.weight(ck.tensor(p + "post_attention_layernorm.weight", dim)),
                    b.weight(ck.tensor(p + "mlp.gate_proj.weight", hidden, dim)),
                    b.weight(ck.tensor(p + "mlp.up_proj.weight", hidden, dim)),
                    b.weight(ck.tensor(p + "mlp.down_proj.weight", dim, hidden)));
        }
        Weight embed = b.weight(ck.tensor("model.embed_tokens.weight", vocab, dim));
        Weight head = c.tieWordEmbeddings() ? embed : b.weight(ck.tensor("lm_head.weight", vocab, dim));
        return new Weights(embed, layers, b.weight(ck.tensor("model.norm.weight", dim)), head);
    }

    /** Refuses a transplant source whose shapes differ from the model's (inspect checks it too). */
    public static void checkSameShapes(ModelConfig c, Checkpoint other) {
        ModelConfig o = other.config();
        String mine = shapes(c), theirs = shapes(o);
        if (!mine.equals(theirs)) {
            throw dev.sahara.SaharaException.inFile(other.dir().resolve("config.json"),
                    "--attention-from needs the same attention shapes as the model: " + theirs + " vs the model's " + mine);
        }
    }

    private static String shapes(ModelConfig c) {
        return "layers=" + c.numLayers() + " hidden=" + c.hiddenSize() + " heads=" + c.numHeads() + " kv_heads=" + c.numKvHeads()
                + " head_dim=" + c.headDim() + " attention_bias=" + c.attentionBias();
    }
}
