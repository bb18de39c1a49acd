package dev.sahara.cli.options;

import dev.sahara.data.Dataset;
import dev.sahara.llama.ContextLimit;
import dev.sahara.llama.LlamaModel;
import dev.sahara.model.PromptFormat;
import dev.sahara.model.Tokenizer;
import dev.sahara.report.ResultHeader;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * What a dataset-level command works on: the loaded model and tokenizer, the queries and their token ids in
 * the chosen prompt format, and what the header of its result files says about them.
 */
public record Workload(LlamaModel model, Tokenizer tokenizer, Dataset dataset, PromptFormat format, String system, List<int[]> encoded,
                ModelOptions modelOptions, PromptOptions promptOptions) implements AutoCloseable {

    public static Workload load(ModelOptions mo, DatasetOptions dataOptions, PromptOptions po, PromptFormat defaultFormat) {
        Dataset d = dataOptions.load();
        PromptFormat format = po.format(defaultFormat);
        PrintWriter err = mo.err();
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
    public static Workload single(ModelOptions mo, String query, PromptOptions po, PromptFormat defaultFormat) {
        DatasetOptions one = new DatasetOptions() {
            @Override
            public Dataset load() { return new Dataset("inline", "--prompt", List.of(query)); }
        };
        return load(mo, one, po, defaultFormat);
    }

    /** The header of this run's result files. */
    public ResultHeader header() {
        boolean chat = format == PromptFormat.CHAT;
        return new ResultHeader(modelOptions.model, modelOptions.attentionFrom, model.config(), dataset, format,
                chat ? modelOptions.model + (promptOptions.chatTemplate != null ? " overridden by --chat-template " + promptOptions.chatTemplate : "") : null,
                chat ? tokenizer.chatTemplate().orElse(null) : null, chat && tokenizer.chatTemplateUsesDate() ? promptOptions.day() : null,
                system, model.backend().name(), modelOptions.precisionDescription());
    }

    @Override
    public void close() {
        tokenizer.close();
        model.close();
    }
}
