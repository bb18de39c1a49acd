package dev.sahara.cli.options;

import dev.sahara.SaharaException;
import dev.sahara.model.PromptFormat;
import dev.sahara.model.Tokenizer;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;

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

    @Option(names = "--date", paramLabel = "YYYY-MM-DD",
            description = "Today's date for chat templates that print it (strftime_now, e.g. Llama-3.2's), for reproducible prompts; recorded as chat_date. Default: today.")
    public String date;

    /** The day chat templates read, fixed once per run (a run past midnight keeps one date). */
    private LocalDate day;

    public LocalDate day() {
        if (day == null) {
            try {
                day = date == null ? LocalDate.now() : LocalDate.parse(date);
            } catch (DateTimeParseException e) {
                throw new SaharaException("--date must be a date like 2025-03-07 (YYYY-MM-DD), got '" + date + "'");
            }
        }
        return day;
    }

    private static final String BUILTIN = "builtin:";

    /** The Jinja text of a built-in template (engine/src/main/resources/chat-templates/, with their provenance). */
    public static String builtinTemplate(String name) {
        String file = "/chat-templates/" + name.substring(BUILTIN.length()) + ".jinja";
        try (InputStream in = PromptOptions.class.getResourceAsStream(file)) {
            if (in == null) throw new SaharaException("--chat-template " + name + ": no such built-in template (there is builtin:vicuna-v1.1)");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new SaharaException("--chat-template " + name + ": " + e.getMessage());
        }
    }

    public PromptFormat format(PromptFormat dflt) { return format == null ? dflt : PromptFormat.parse(format); }

    /** The query's token ids in the chosen format (dflt when --format is not given). */
    public int[] encode(PromptFormat dflt, String query, Tokenizer tok) {
        return prepare(dflt, tok).encode(query, system, tok);
    }

    /** The query's prompt text in the chosen format: what apply_chat_template(..., tokenize=False) gives for chat. */
    public String render(PromptFormat dflt, String query, Tokenizer tok) {
        return prepare(dflt, tok).render(query, system, tok);
    }

    /** The format, with --chat-template and --date applied to the tokenizer's template. */
    private PromptFormat prepare(PromptFormat dflt, Tokenizer tok) {
        PromptFormat f = format(dflt);
        if (chatTemplate != null) {
            if (f != PromptFormat.CHAT) throw new SaharaException("--chat-template needs --format chat");
            if (chatTemplate.startsWith(BUILTIN)) tok.useChatTemplate(builtinTemplate(chatTemplate), Path.of(chatTemplate));
            else tok.useChatTemplate(Path.of(chatTemplate));
        }
        if (date != null && f != PromptFormat.CHAT) throw new SaharaException("--date needs --format chat (only chat templates print a date)");
        if (f == PromptFormat.CHAT) tok.useChatDate(day());
        return f;
    }
}
