package dev.sahara.llama;

import dev.sahara.SaharaException;
import dev.sahara.backend.Backend;
import dev.sahara.backend.Weight;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.LlamaTensor;
import dev.sahara.model.ModelConfig;
import dev.sahara.model.TensorData;

import static dev.sahara.model.LlamaTensor.DOWN_PROJ;
import static dev.sahara.model.LlamaTensor.EMBED_TOKENS;
import static dev.sahara.model.LlamaTensor.GATE_PROJ;
import static dev.sahara.model.LlamaTensor.INPUT_NORM;
import static dev.sahara.model.LlamaTensor.K_BIAS;
import static dev.sahara.model.LlamaTensor.K_PROJ;
import static dev.sahara.model.LlamaTensor.LM_HEAD;
import static dev.sahara.model.LlamaTensor.NORM;
import static dev.sahara.model.LlamaTensor.O_BIAS;
import static dev.sahara.model.LlamaTensor.O_PROJ;
import static dev.sahara.model.LlamaTensor.POST_ATTENTION_NORM;
import static dev.sahara.model.LlamaTensor.Q_BIAS;
import static dev.sahara.model.LlamaTensor.Q_PROJ;
import static dev.sahara.model.LlamaTensor.UP_PROJ;
import static dev.sahara.model.LlamaTensor.V_BIAS;
import static dev.sahara.model.LlamaTensor.V_PROJ;

/**
 * The model's weights as the backend holds them, by Hugging Face tensor name ({@link LlamaTensor}). Shapes are checked
 * against config.json on load: a missing tensor or a wrong shape is an error naming the file.
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
        // The last layer must exist before anything is sized by num_hidden_layers (a hostile config may say 2^31 - 1).
        tensor(ck, c, INPUT_NORM, c.numLayers() - 1);
        Layer[] layers = new Layer[c.numLayers()];
        for (int l = 0; l < layers.length; l++) {
            layers[l] = new Layer(
                    weight(b, ck, c, INPUT_NORM, l),
                    weight(b, at, c, Q_PROJ, l), weight(b, at, c, Q_BIAS, l),
                    weight(b, at, c, K_PROJ, l), weight(b, at, c, K_BIAS, l),
                    weight(b, at, c, V_PROJ, l), weight(b, at, c, V_BIAS, l),
                    weight(b, at, c, O_PROJ, l), weight(b, at, c, O_BIAS, l),
                    weight(b, ck, c, POST_ATTENTION_NORM, l),
                    weight(b, ck, c, GATE_PROJ, l),
                    weight(b, ck, c, UP_PROJ, l),
                    weight(b, ck, c, DOWN_PROJ, l));
        }
        Weight embed = weight(b, ck, c, EMBED_TOKENS, 0);
        Weight head = c.tieWordEmbeddings() ? embed : weight(b, ck, c, LM_HEAD, 0);
        return new Weights(embed, layers, weight(b, ck, c, NORM, 0), head);
    }

    /** Tensor {@code t} of layer {@code layer} from {@code from}, checked against the model's config {@code c}; null where c has none (a bias). */
    private static Weight weight(Backend b, Checkpoint from, ModelConfig c, LlamaTensor t, int layer) {
        return t.isIn(c) ? b.weight(tensor(from, c, t, layer)) : null;
    }

    private static TensorData tensor(Checkpoint from, ModelConfig c, LlamaTensor t, int layer) { return from.tensor(t.name(layer), t.shape(c)); }

    /** Refuses a transplant source whose shapes differ from the model's (inspect checks it too). */
    public static void checkSameShapes(ModelConfig c, Checkpoint other) {
        ModelConfig o = other.config();
        String mine = shapes(c), theirs = shapes(o);
        if (!mine.equals(theirs)) {
            throw SaharaException.inFile(other.dir().resolve("config.json"),
                    "--attention-from needs the same attention shapes as the model: " + theirs + " vs the model's " + mine);
        }
    }

    private static String shapes(ModelConfig c) {
        return "layers=" + c.numLayers() + " hidden=" + c.hiddenSize() + " heads=" + c.numHeads() + " kv_heads=" + c.numKvHeads()
                + " head_dim=" + c.headDim() + " attention_bias=" + c.attentionBias();
    }
}
