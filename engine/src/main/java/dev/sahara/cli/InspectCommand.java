package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.cli.options.ModelOptions;
import dev.sahara.llama.Weights;
import dev.sahara.model.BuiltinModels;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.DType;
import dev.sahara.model.Json;
import dev.sahara.model.ModelConfig;
import dev.sahara.model.TensorData;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code inspect --model DIR}: architecture, shapes, heads, dtypes, parameter count. */
@Command(name = "inspect", description = "Show a checkpoint's architecture, shapes, heads, dtype and parameter count.")
public final class InspectCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    ModelOptions model;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        try (Checkpoint ck = model.checkpoint()) {
            ModelConfig c = ck.config();
            Map<DType, Long> byDtype = new EnumMap<>(DType.class);
            for (TensorData t : ck.tensors().values()) byDtype.merge(t.dtype(), t.elementCount(), Long::sum);
            ObjectNode o = Json.MAPPER.createObjectNode();
            o.put("model", model.model);
            o.put("architecture", c.architecture());
            o.put("layers", c.numLayers());
            o.put("heads", c.numHeads());
            o.put("kv_heads", c.numKvHeads());
            o.put("attention", c.isGqa() ? "GQA (" + c.numHeads() / c.numKvHeads() + " query heads per KV head)" : "MHA");
            o.put("head_dim", c.headDim());
            o.put("hidden_size", c.hiddenSize());
            o.put("intermediate_size", c.intermediateSize());
            o.put("vocab_size", c.vocabSize());
            o.put("tied_embeddings", c.tieWordEmbeddings());
            o.put("qkv_bias", c.attentionBias());
            o.put("rope_theta", c.ropeTheta());
            o.put("rope_scaling", describe(c.ropeScaling()));
            o.put("rms_norm_eps", c.rmsNormEps());
            ObjectNode d = o.putObject("parameters_by_dtype");
            byDtype.forEach((k, v) -> d.put(k.name(), v));
            o.put("parameters", ck.parameterCount());
            o.put("tensors", ck.tensors().size());
            o.put("total_heads", c.numLayers() * c.numHeads());
            if (model.attentionFrom != null) {
                // the transplant source must exist and fit, as it must for every other command
                try (Checkpoint at = Checkpoint.open(BuiltinModels.resolve(model.attentionFrom))) {
                    Weights.checkSameShapes(c, at);
                }
                o.put("attention_from", model.attentionFrom);
            }
            if (json) {
                spec.commandLine().getOut().println(Json.MAPPER.writeValueAsString(o));
            } else {
                o.properties().forEach(e -> spec.commandLine().getOut().printf("%-18s %s%n", e.getKey(), e.getValue().isTextual() ? e.getValue().asText() : e.getValue()));
            }
        }
        return 0;
    }

    /** rope_scaling as config.json says it: "none", "linear, factor 2.0", "llama3, factor 8.0, low_freq_factor 1.0, ...". */
    static String describe(ModelConfig.RopeScaling r) {
        if (r == null) return "none";
        StringBuilder sb = new StringBuilder(r.type()).append(", factor ").append(r.factor());
        if (r.originalMaxPositions() > 0) {
            sb.append(", low_freq_factor ").append(r.lowFreqFactor()).append(", high_freq_factor ").append(r.highFreqFactor())
                    .append(", original_max_position_embeddings ").append(r.originalMaxPositions());
        }
        return sb.toString();
    }
}
