package dev.sahara.cli.options;

import dev.sahara.model.PromptFormat;
import picocli.CommandLine.Mixin;

/** What a dataset-level command runs on: the model, the queries and their prompt format (template unless --format says otherwise). */
public final class WorkloadOptions {
    @Mixin
    public ModelOptions model;
    @Mixin
    public DatasetOptions data;
    @Mixin
    public PromptOptions prompt;

    public Workload load() { return Workload.load(model, data, prompt, PromptFormat.TEMPLATE); }

    /** One inline query ({@code --prompt}) instead of --dataset. */
    public Workload single(String query) { return Workload.single(model, query, prompt, PromptFormat.TEMPLATE); }
}
