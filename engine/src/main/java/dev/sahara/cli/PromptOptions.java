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
            description = "Jinja chat template to use with --format chat instead of the model's own: a file, or builtin:vicuna-v1.1 "
                    + "(FastChat's Vicuna prompt, for Vicuna v1.5, which ships none).")
    public String chatTemplate;

    private static final String BUILTIN = "builtin:";

    /** The Jinja text of a built-in template (engine/src/main/resources/chat-templates/, with their provenance). */
    static String builtinTemplate(String name) {
        String file = "/chat-templates/" + name.substring(BUILTIN.length()) + ".jinja";
        try (java.io.InputStream in = PromptOptions.class.getResourceAsStream(file)) {
            if (in == null) throw new dev.sahara.SaharaException("--chat-template " + name + ": no such built-in template (there is builtin:vicuna-v1.1)");
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new dev.sahara.SaharaException("--chat-template " + name + ": " + e.getMessage());
        }
    }

    public PromptFormat format(PromptFormat dflt) { return format == null ? dflt : PromptFormat.parse(format); }

    /** The query's token ids in the chosen format (dflt when --format is not given). */
    public int[] encode(PromptFormat dflt, String query, Tokenizer tok) {
        PromptFormat f = format(dflt);
        if (chatTemplate != null) {
            if (f != PromptFormat.CHAT) throw new dev.sahara.SaharaException("--chat-template needs --format chat");
            if (chatTemplate.startsWith(BUILTIN)) tok.useChatTemplate(builtinTemplate(chatTemplate), java.nio.file.Path.of(chatTemplate));
            else tok.useChatTemplate(java.nio.file.Path.of(chatTemplate));
        }
        return f.encode(query, system, tok);
    }
}
