package dev.sahara.cli;

import dev.sahara.model.PromptFormat;
import picocli.CommandLine.Option;

/** --format and --system: how a query becomes the model's input (SPEC.md, "Prompt formats"). */
public final class PromptOptions {
    @Option(names = "--format", paramLabel = "FORMAT", description = "direct | template | chat. Default: template for the method's commands, direct for generate and logits.")
    public String format;

    @Option(names = "--system", paramLabel = "TEXT", description = "System prompt (with --format chat).")
    public String system;

    public PromptFormat format(PromptFormat dflt) { return format == null ? dflt : PromptFormat.parse(format); }
}
