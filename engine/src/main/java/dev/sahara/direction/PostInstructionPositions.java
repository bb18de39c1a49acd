package dev.sahara.direction;

import dev.sahara.model.PromptFormat;
import dev.sahara.model.Tokenizer;

import java.util.List;

/**
 * The post-instruction positions of a prompt format (Arditi et al.: the tokens after the user's text, the same in
 * every prompt): with {@code template} the tokens of {@code \n## Answer:}; with {@code chat} the template's text after
 * the user's message (e.g. {@code  [/INST]}, or Llama-3's end of turn and assistant header); with {@code direct} the
 * last token only, as nothing follows the user's text there.
 *
 * <p>How many: the post-instruction text encoded alone gives a count n; the positions are the last n tokens, shortened
 * to the run of trailing tokens every prompt shares (a tokenizer may merge the text's first token with the query's
 * end, or count a leading space alone), and at least the last token.
 */
public final class PostInstructionPositions {
    private PostInstructionPositions() {}

    /** What no query contains: the rendered prompt's text after it is the post-instruction text. */
    static final String SENTINEL = "\u2063SAHARA-QUERY\u2063";

    /** The text after the user's query in {@code format} ("" for direct). */
    public static String text(PromptFormat format, String system, Tokenizer tok) {
        if (format == PromptFormat.DIRECT) return "";
        String rendered = format.render(SENTINEL, system, tok);
        return rendered.substring(rendered.lastIndexOf(SENTINEL) + SENTINEL.length());
    }

    /** The number of post-instruction positions of these prompts (see the class comment). */
    public static int count(PromptFormat format, String system, Tokenizer tok, List<int[]> prompts) {
        if (format == PromptFormat.DIRECT) return 1;
        return count(tok.encode(text(format, system, tok), false).length, prompts);
    }

    /** min(textTokens, the trailing run all prompts share), at least 1. */
    static int count(int textTokens, List<int[]> prompts) {
        int n = Math.min(textTokens, prompts.stream().mapToInt(p -> p.length).min().orElse(1));
        for (int k = 1; k <= n; k++) {
            int token = prompts.getFirst()[prompts.getFirst().length - k];
            for (int[] p : prompts) {
                if (p[p.length - k] != token) return Math.max(1, k - 1);
            }
        }
        return Math.max(1, n);
    }
}
