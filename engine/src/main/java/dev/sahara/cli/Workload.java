package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.data.Dataset;
import dev.sahara.llama.ContextLimit;
import dev.sahara.llama.LlamaModel;
import dev.sahara.model.Json;
import dev.sahara.model.ModelConfig;
import dev.sahara.model.PromptFormat;
import dev.sahara.model.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * What a dataset-level command works on: the loaded model and tokenizer, the queries and their token ids in
 * the chosen prompt format, and the metadata every result file starts with.
 */
record Workload(LlamaModel model, Tokenizer tokenizer, Dataset dataset, PromptFormat format, String system, List<int[]> encoded,
                ModelOptions modelOptions, PromptOptions promptOptions) implements AutoCloseable {

    static Workload load(ModelOptions mo, DatasetOptions dataOptions, PromptOptions po, PromptFormat defaultFormat) {
        Dataset d = dataOptions.load();
        PromptFormat format = po.format(defaultFormat);
        java.io.PrintWriter err = mo.err();
        StatusLine.show(err, "loading " + mo.model + (mo.attentionFrom != null ? " (attention from " + mo.attentionFrom + ")" : "") + " ...");
        LlamaModel m = mo.load();
        try {
            Tokenizer tok = mo.tokenizer();
            List<int[]> ids = new ArrayList<>();
            for (String q : d.prompts()) {
                ids.add(po.encode(defaultFormat, q, tok));
                ContextLimit.checkPrompt(m.config(), d.name(), ids.size() - 1, ids.getLast().length);
            }
            long tokens = ids.stream().mapToLong(p -> p.length).sum();
            StatusLine.show(err, "encoded " + ids.size() + " prompt" + (ids.size() == 1 ? "" : "s") + " (" + format.label() + " format, " + tokens
                    + " tokens); running the first forward ...");
            return new Workload(m, tok, d, format, po.system, ids, mo, po);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** One inline query instead of a dataset ({@code --prompt}). */
    static Workload single(ModelOptions mo, String query, PromptOptions po, PromptFormat defaultFormat) {
        DatasetOptions one = new DatasetOptions() {
            @Override
            public Dataset load() { return new Dataset("inline", "--prompt", List.of(query)); }
        };
        return load(mo, one, po, defaultFormat);
    }

    /**
     * The header of every result file: engine, model, dataset, prompt format, backend, precision. Not the thread
     * count: results do not depend on it, and the files are byte-identical whatever it is (it is in timings.json).
     */
    ObjectNode metadata(String command) {
        ModelConfig c = model.config();
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("command", command);
        o.set("engine", EngineVersion.describe());
        ObjectNode mo = o.putObject("model");
        mo.put("path", modelOptions.model);
        if (modelOptions.attentionFrom != null) mo.put("attention_from", modelOptions.attentionFrom);
        mo.put("architecture", c.architecture());
        mo.put("layers", c.numLayers());
        mo.put("heads", c.numHeads());
        mo.put("kv_heads", c.numKvHeads());
        mo.put("head_dim", c.headDim());
        ObjectNode ds = o.putObject("dataset");
        ds.put("name", dataset.name());
        ds.put("source", dataset.source());
        ds.put("size", dataset.size());
        o.put("prompt_format", format.label());
        if (format == PromptFormat.TEMPLATE) o.put("prompt_template", "## Query:{q}\n## Answer:");   // a real newline, as in the prompts
        if (format == PromptFormat.CHAT) {
            o.put("chat_template_from", modelOptions.model + (promptOptions.chatTemplate != null ? " overridden by --chat-template " + promptOptions.chatTemplate : ""));
            o.put("chat_template", tokenizer.chatTemplate().orElse(null));
            if (tokenizer.chatTemplateUsesDate()) o.put("chat_date", promptOptions.day().toString());   // strftime_now's day: part of the prompt
        }
        o.put("system_prompt", system);
        o.put("backend", model.backend().name());
        o.put("precision", modelOptions.precisionDescription());
        return o;
    }

    @Override
    public void close() {
        tokenizer.close();
        model.close();
    }
}
