package dev.sahara.report;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.AblationMode;
import dev.sahara.ablate.ResidualDirection;
import dev.sahara.data.Dataset;
import dev.sahara.model.Json;
import dev.sahara.model.ModelConfig;
import dev.sahara.model.PromptFormat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;

/**
 * What every result file starts with: the command, the engine, the model, the dataset, the prompt format, the backend
 * and the precision. Not the thread count: results do not depend on it, and the files are byte-identical whatever it
 * is (it is in timings.json).
 *
 * @param attentionFrom     --attention-from, or null
 * @param chatTemplateFrom  with the chat format: where the template came from; else null
 * @param chatTemplate      with the chat format: the template's text (null when the model has none)
 * @param chatDate          the day strftime_now printed, when the chat template prints one; else null
 */
public record ResultHeader(String modelPath, String attentionFrom, ModelConfig config, Dataset dataset, PromptFormat format, String chatTemplateFrom,
                           String chatTemplate, LocalDate chatDate, String system, String backend, String precision) {

    /** command and engine: the start of every result file (and all the header of compare's, made from other results). */
    public static ObjectNode start(String command) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("command", command);
        o.set("engine", EngineVersion.describe());
        return o;
    }

    /** mode and ε of an ablation as result files record them: ε is null for the mean modes, which have none. */
    public static void putAblation(ObjectNode o, AblationMode mode, float epsilon) {
        o.put("mode", mode.label);
        if (mode.usesEpsilon()) o.put("epsilon", epsilon);
        else o.putNull("epsilon");
    }

    /**
     * A result's record of an ablation: {@code "ablation"}, its canonical text, and for each direction edit an object
     * with the file, its sha256, layer, position and norm ({@code direction_ablated}; {@code direction_added} with its
     * coefficient too). Without direction edits the record is what it always was.
     */
    public static void putAblation(ObjectNode o, Ablation a) {
        o.put("ablation", a.toString());
        if (a.directionAblated() != null) putDirection(o.putObject("direction_ablated"), a.directionAblated());
        if (a.directionAdded() != null) putDirection(o.putObject("direction_added"), a.directionAdded()).put("coefficient", a.addedCoefficient());
    }

    private static ObjectNode putDirection(ObjectNode o, ResidualDirection d) {
        Path file = Path.of(d.source());
        try {
            o.put("file", d.source());
            o.put("sha256", CandidateLog.sha256(Files.readAllBytes(file)));
        } catch (IOException e) {
            throw SaharaException.inFile(file, "cannot read: " + e.getMessage());
        }
        o.put("layer", d.layer());
        o.put("position", d.position());
        o.put("norm", d.norm());
        return o;
    }

    public ObjectNode json(String command) {
        ObjectNode o = start(command);
        ObjectNode mo = o.putObject("model");
        mo.put("path", modelPath);
        if (attentionFrom != null) mo.put("attention_from", attentionFrom);
        mo.put("architecture", config.architecture());
        mo.put("layers", config.numLayers());
        mo.put("heads", config.numHeads());
        mo.put("kv_heads", config.numKvHeads());
        mo.put("head_dim", config.headDim());
        ObjectNode ds = o.putObject("dataset");
        ds.put("name", dataset.name());
        ds.put("source", dataset.source());
        ds.put("size", dataset.size());
        o.put("prompt_format", format.label());
        if (format == PromptFormat.TEMPLATE) o.put("prompt_template", "## Query:{q}\n## Answer:");   // a real newline, as in the prompts
        if (format == PromptFormat.CHAT) {
            o.put("chat_template_from", chatTemplateFrom);
            o.put("chat_template", chatTemplate);
            if (chatDate != null) o.put("chat_date", chatDate.toString());   // strftime_now's day: part of the prompt
        }
        o.put("system_prompt", system);
        o.put("backend", backend);
        o.put("precision", precision);
        return o;
    }
}
