package dev.sahara.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * The model's shape and constants, from Hugging Face's config.json. Everything model-specific that the
 * forward needs lives here, never as a constant in code.
 *
 * @param headDim          config's {@code head_dim} when given, else hidden_size / num_attention_heads
 * @param attentionBias    q/k/v projections carry a bias (Qwen2, or {@code attention_bias: true})
 * @param ropeScaling      null when absent or of type "default"
 * @param slidingWindow    0 when the model attends to the whole context
 * @param maxPositionEmbeddings config's {@code max_position_embeddings}; where absent or null, the default of the
 *                         architecture's transformers config class (LlamaConfig 2048, MistralConfig 131072,
 *                         Qwen2Config 32768), which is what transformers, and so lm-evaluation-harness, then uses.
 *                         The forward does not enforce it; {@code helpfulness} left-truncates to it as lm-eval does.
 */
public record ModelConfig(
        String architecture,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int vocabSize,
        float rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        boolean tieWordEmbeddings,
        int maxPositionEmbeddings,
        boolean attentionBias,
        int slidingWindow) {

    public static final Set<String> ARCHITECTURES = Set.of("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM");

    /** RoPE frequency scaling. {@code type} is "llama3" or "linear". */
    public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {}

    public boolean isGqa() { return numKvHeads != numHeads; }

    /** o_proj carries a bias: Llama with attention_bias (Qwen2's biases are on q/k/v only). */
    public boolean outputBias() { return attentionBias && architecture.equals("LlamaForCausalLM"); }

    public int qDim() { return numHeads * headDim; }

    public int kvDim() { return numKvHeads * headDim; }

    public static ModelConfig load(Path modelDir) {
        Path file = modelDir.resolve("config.json");
        if (!Files.isDirectory(modelDir)) throw SaharaException.inFile(modelDir, "model folder does not exist (--model takes a Hugging Face folder with config.json, model.safetensors and tokenizer.json, or builtin:planted)");
        if (!Files.isRegularFile(file)) throw SaharaException.inFile(file, "missing (a Hugging Face model folder needs config.json)");
        return parse(Json.readObject(file), file);
    }

    static ModelConfig parse(JsonNode c, Path file) {
        JsonNode archs = c.path("architectures");
        String arch = archs.isArray() && archs.size() == 1 && archs.get(0).isTextual() ? archs.get(0).asText() : null;
        if (arch == null) throw SaharaException.inFile(file, "architectures must list exactly one architecture, got " + archs);
        if (!ARCHITECTURES.contains(arch)) {
            throw SaharaException.inFile(file, "architecture " + arch + " is not supported (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM)");
        }
        if (c.has("quantization_config")) throw SaharaException.inFile(file, "quantized checkpoints are not supported (quantization_config is set)");
        String act = c.path("hidden_act").asText("silu");
        if (!act.equals("silu")) throw SaharaException.inFile(file, "hidden_act " + act + " is not supported (only silu)");

        int hidden = positive(c, "hidden_size", file);
        int heads = positive(c, "num_attention_heads", file);
        int kvHeads = c.has("num_key_value_heads") && !c.get("num_key_value_heads").isNull() ? positive(c, "num_key_value_heads", file) : heads;
        if (heads % kvHeads != 0) throw SaharaException.inFile(file, "num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kvHeads);
        int headDim;
        if (c.has("head_dim") && !c.get("head_dim").isNull()) {
            headDim = positive(c, "head_dim", file);
        } else {
            if (hidden % heads != 0) throw SaharaException.inFile(file, "hidden_size " + hidden + " is not a multiple of num_attention_heads " + heads + " and head_dim is not given");
            headDim = hidden / heads;
        }
        if (headDim % 2 != 0) throw SaharaException.inFile(file, "head_dim " + headDim + " must be even for RoPE");
        if (c.has("partial_rotary_factor") && c.get("partial_rotary_factor").asDouble() != 1.0) {
            throw SaharaException.inFile(file, "partial_rotary_factor " + c.get("partial_rotary_factor") + " is not supported");
        }
        // transformers: Qwen2 always has q/k/v biases; Llama has q/k/v/o biases when attention_bias; Mistral never.
        boolean bias = arch.equals("Qwen2ForCausalLM") || arch.equals("LlamaForCausalLM") && c.path("attention_bias").asBoolean(false);
        if (c.path("mlp_bias").asBoolean(false)) throw SaharaException.inFile(file, "mlp_bias is not supported");
        int window = 0;
        JsonNode sw = c.path("sliding_window");
        boolean useSw = arch.equals("MistralForCausalLM") || c.path("use_sliding_window").asBoolean(false);
        if (useSw && sw.canConvertToInt() && sw.asInt() > 0) window = sw.asInt();
        return new ModelConfig(arch, hidden, positive(c, "intermediate_size", file), positive(c, "num_hidden_layers", file), heads, kvHeads,
                headDim, positive(c, "vocab_size", file), rmsNormEps(c, file),
                ropeTheta(c, file), ropeScaling(ropeScalingNode(c, file), file),
                c.path("tie_word_embeddings").asBoolean(false), maxPositionEmbeddings(c, arch, file), bias, window);
    }

    /**
     * transformers 5 writes rope_theta and the scaling into one {@code rope_parameters} object; older configs use
     * top-level rope_theta and rope_scaling. Both forms are read; where both are present they must agree.
     */
    private static double ropeTheta(JsonNode c, Path file) {
        JsonNode rp = c.path("rope_parameters");
        double top = number(c, "rope_theta", 10000.0, file);
        if (!rp.isObject() || !rp.has("rope_theta")) return top;
        double inner = number(rp, "rope_theta", 10000.0, file);
        if (c.has("rope_theta") && !c.get("rope_theta").isNull() && inner != top) {
            throw SaharaException.inFile(file, "rope_theta " + top + " disagrees with rope_parameters.rope_theta " + inner);
        }
        return inner;
    }

    private static JsonNode ropeScalingNode(JsonNode c, Path file) {
        JsonNode rp = c.path("rope_parameters"), rs = c.path("rope_scaling");
        if (!rp.isObject()) return rs;
        boolean rsSet = rs.isObject() && !"default".equals(rs.has("rope_type") ? rs.get("rope_type").asText() : rs.path("type").asText("default"));
        boolean rpSet = !"default".equals(rp.has("rope_type") ? rp.get("rope_type").asText() : rp.path("type").asText("default"));
        if (rsSet && rpSet && !rs.equals(rp)) {
            // rope_parameters may repeat rope_theta; compare the scaling fields only
            ObjectNode a = rp.deepCopy();
            a.remove("rope_theta");
            if (!a.equals(rs)) throw SaharaException.inFile(file, "rope_scaling " + rs + " disagrees with rope_parameters " + rp);
        }
        return rpSet ? rp : rs;
    }

    private static RopeScaling ropeScaling(JsonNode r, Path file) {
        if (r.isMissingNode() || r.isNull()) return null;
        if (!r.isObject()) throw SaharaException.inFile(file, "rope_scaling must be an object or null");
        String type = r.has("rope_type") ? r.get("rope_type").asText() : r.path("type").asText("");
        switch (type) {
            case "default":
                return null;
            case "linear": {
                double factor = r.path("factor").asDouble(0);
                if (!(factor > 0)) throw SaharaException.inFile(file, "rope_scaling of type linear needs factor > 0");
                return new RopeScaling(type, factor, 0, 0, 0);
            }
            case "llama3": {
                double factor = r.path("factor").asDouble(0), low = r.path("low_freq_factor").asDouble(0), high = r.path("high_freq_factor").asDouble(0);
                int orig = r.path("original_max_position_embeddings").asInt(0);
                if (!(factor > 0) || !(low > 0) || !(high > low) || orig <= 0) {
                    throw SaharaException.inFile(file, "rope_scaling of type llama3 needs factor > 0, 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings, got " + r);
                }
                return new RopeScaling(type, factor, low, high, orig);
            }
            default:
                throw SaharaException.inFile(file, "rope_scaling type '" + type + "' is not supported (supported: llama3, linear)");
        }
    }

    private static int maxPositionEmbeddings(JsonNode c, String arch, Path file) {
        if (c.has("max_position_embeddings") && !c.get("max_position_embeddings").isNull()) return positive(c, "max_position_embeddings", file);
        return switch (arch) {
            case "MistralForCausalLM" -> 4096 * 32;
            case "Qwen2ForCausalLM" -> 32768;
            default -> 2048;
        };
    }

    /** rms_norm_eps as the float the forward uses: it must stay > 0 and finite there (0 divides by zero on a zero row). */
    private static float rmsNormEps(JsonNode c, Path file) {
        double eps = number(c, "rms_norm_eps", 1e-6, file);
        float f = (float) eps;
        if (!(f > 0) || Float.isInfinite(f)) throw SaharaException.inFile(file, "rms_norm_eps " + c.get("rms_norm_eps") + " is not a positive float32 value");
        return f;
    }

    private static int positive(JsonNode c, String key, Path file) {
        JsonNode n = c.get(key);
        if (n == null || n.isNull()) throw SaharaException.inFile(file, "missing " + key);
        if (!n.canConvertToInt() || !n.isIntegralNumber() || n.asInt() <= 0) throw SaharaException.inFile(file, key + " must be a positive integer, got " + n);
        return n.asInt();
    }

    private static double number(JsonNode c, String key, double dflt, Path file) {
        JsonNode n = c.get(key);
        if (n == null || n.isNull()) return dflt;
        if (!n.isNumber() || !(n.asDouble() > 0) || Double.isInfinite(n.asDouble())) throw SaharaException.inFile(file, key + " must be a positive number, got " + n);
        return n.asDouble();
    }
}
