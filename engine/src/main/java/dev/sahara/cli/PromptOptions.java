package dev.sahara.cli;

import dev.sahara.model.PromptFormat;
import dev.sahara.model.Tokenizer;
import picocli.CommandLine.Option;

/** --format and --system: how a query becomes the model's input (SPEC.md, "Prompt formats"). */
public final class PromptOptions {
    @Option(names = "--format", paramLabel = "FORMAT", description = "direct | template | chat. Default: template for the method's commands, direct for generate and logits.")
    public String format;

    @Option(names = "--system", paramLabel = "TEXT", description = "System prompt (with --format chat).")
    public String system;

    @Option(names = "--chat-template", paramLabel = "FILE",
            description = "Jinja chat template to use with --format chat instead of the model's own (e.g. for Vicuna v1.5, which ships none).")
    public java.nio.file.Path chatTemplate;

    public PromptFormat format(PromptFormat dflt) { return format == null ? dflt : PromptFormat.parse(format); }

    /** The query's token ids in the chosen format (dflt when --format is not given). */
    public int[] encode(PromptFormat dflt, String query, Tokenizer tok) {
        PromptFormat f = format(dflt);
        if (chatTemplate != null) {
            if (f != PromptFormat.CHAT) throw new dev.sahara.SaharaException("--chat-template needs --format chat");
            tok.useChatTemplate(chatTemplate);
        }
        return f.encode(query, system, tok);
    }
}
