package dev.sahara.model;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** config.json forms the engine must read the way transformers does. */
class ModelConfigTest {
    static final Path FILE = Path.of("config.json");

    static ObjectNode llama() {
        ObjectNode c = Json.MAPPER.createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("hidden_size", 64).put("intermediate_size", 128).put("num_hidden_layers", 2).put("num_attention_heads", 4)
                .put("num_key_value_heads", 2).put("vocab_size", 100).put("rms_norm_eps", 1e-5);
        return c;
    }

    @Test
    void ropeParametersOfTransformers5AreRead() {
        ObjectNode c = llama();
        c.putObject("rope_parameters").put("rope_type", "llama3").put("rope_theta", 500000.0).put("factor", 8.0)
                .put("low_freq_factor", 1.0).put("high_freq_factor", 4.0).put("original_max_position_embeddings", 8192);
        ModelConfig m = ModelConfig.parse(c, FILE);
        assertEquals(500000.0, m.ropeTheta());
        assertEquals("llama3", m.ropeScaling().type());
        assertEquals(8.0, m.ropeScaling().factor());

        ObjectNode plain = llama();
        plain.putObject("rope_parameters").put("rope_type", "default").put("rope_theta", 1e6);
        assertEquals(1e6, ModelConfig.parse(plain, FILE).ropeTheta());
        assertNull(ModelConfig.parse(plain, FILE).ropeScaling());

        ObjectNode both = llama();
        both.put("rope_theta", 10000.0);
        both.putObject("rope_parameters").put("rope_type", "default").put("rope_theta", 1e6);
        SaharaException e = assertThrows(SaharaException.class, () -> ModelConfig.parse(both, FILE));
        assertTrue(e.getMessage().contains("disagrees"), e.getMessage());
    }

    @Test
    void biasesFollowTheArchitecture() {
        ObjectNode c = llama().put("attention_bias", true);
        ModelConfig m = ModelConfig.parse(c, FILE);
        assertTrue(m.attentionBias());
        assertTrue(m.outputBias(), "Llama with attention_bias has an o_proj bias");
        c.putArray("architectures").add("Qwen2ForCausalLM");
        c.remove("architectures");
        c.putArray("architectures").add("Qwen2ForCausalLM");
        ModelConfig q = ModelConfig.parse(c.put("attention_bias", false), FILE);
        assertTrue(q.attentionBias(), "Qwen2 always has q/k/v biases");
        assertFalse(q.outputBias(), "but none on o_proj");
        c.remove("architectures");
        c.putArray("architectures").add("MistralForCausalLM");
        assertFalse(ModelConfig.parse(c.put("attention_bias", true), FILE).attentionBias(), "Mistral has no attention biases");
    }

    @Test
    void maxPositionEmbeddingsFallsBackToTheTransformersDefaultOfTheArchitecture() {
        assertEquals(4096, ModelConfig.parse(llama().put("max_position_embeddings", 4096), FILE).maxPositionEmbeddings());
        assertEquals(2048, ModelConfig.parse(llama(), FILE).maxPositionEmbeddings());
        assertEquals(2048, ModelConfig.parse(llama().putNull("max_position_embeddings"), FILE).maxPositionEmbeddings());
        ObjectNode mistral = llama();
        mistral.putArray("architectures").add("MistralForCausalLM");
        assertEquals(131072, ModelConfig.parse(mistral, FILE).maxPositionEmbeddings());
        ObjectNode qwen = llama();
        qwen.putArray("architectures").add("Qwen2ForCausalLM");
        assertEquals(32768, ModelConfig.parse(qwen, FILE).maxPositionEmbeddings());
        assertThrows(SaharaException.class, () -> ModelConfig.parse(llama().put("max_position_embeddings", 0), FILE));
        assertThrows(SaharaException.class, () -> ModelConfig.parse(llama().put("max_position_embeddings", "4096"), FILE));
    }
}
