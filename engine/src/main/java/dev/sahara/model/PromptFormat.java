package dev.sahara.model;

import dev.sahara.SaharaException;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How a query becomes the model's input (SPEC.md, "Prompt formats").
 * <ul>
 *   <li>{@link #DIRECT}: the query itself;</li>
 *   <li>{@link #TEMPLATE}: {@code ## Query:{q}\n## Answer:} (Sahara's template, no space after the colons);</li>
 *   <li>{@link #CHAT}: the model's own chat_template with [system?, user] and the generation prompt.</li>
 * </ul>
 * DIRECT and TEMPLATE are encoded with the tokenizer's special tokens (BOS where the model's
 * config says so); CHAT is encoded without, as {@code apply_chat_template(tokenize=True)} does,
 * since the template writes BOS itself.
 */
public enum PromptFormat {
    DIRECT,
    TEMPLATE,
    CHAT;

    /** Parses "direct", "template" or "chat", in any case. */
    public static PromptFormat parse(String name) {
        if (name != null) {
            for (PromptFormat f : values()) {
                if (f.name().equalsIgnoreCase(name.strip())) return f;
            }
        }
        throw new SaharaException("unknown prompt format '" + name + "' (expected direct, template or chat)");
    }

    /** The name as written on the command line. */
    public String label() { return name().toLowerCase(Locale.ROOT); }

    /**
     * The prompt text for {@code query}.
     *
     * @param systemPromptOrNull a system prompt, only allowed with CHAT
     * @throws SaharaException for a system prompt outside CHAT, for CHAT on a model without a
     *                         chat_template (naming tokenizer_config.json), or when the template raises
     */
    public String render(String query, String systemPromptOrNull, Tokenizer tok) {
        if (systemPromptOrNull != null && this != CHAT) {
            throw new SaharaException("a system prompt needs --format chat (format " + label()
                    + " has no place for one)");
        }
        return switch (this) {
            case DIRECT -> query;
            case TEMPLATE -> "## Query:" + query + "\n## Answer:";
            case CHAT -> {
                ChatTemplate template = tok.template().orElseThrow(() -> SaharaException.inFile(tok.configFile(),
                        "has no chat_template, so this model cannot be prompted with --format chat"));
                List<ChatTemplate.Message> messages = new ArrayList<>(2);
                if (systemPromptOrNull != null) messages.add(new ChatTemplate.Message("system", systemPromptOrNull));
                messages.add(new ChatTemplate.Message("user", query));
                yield template.render(messages, true, tok.bosToken(), tok.eosToken());
            }
        };
    }

    /** The prompt's token ids; see the class comment for which special tokens are added. */
    public int[] encode(String query, String systemPromptOrNull, Tokenizer tok) {
        return tok.encode(render(query, systemPromptOrNull, tok), this != CHAT);
    }
}
