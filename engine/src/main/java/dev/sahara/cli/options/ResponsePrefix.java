package dev.sahara.cli.options;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.model.Tokenizer;

/** A forced start of every response (course correction): its text (null for none) and its token ids, encoded without special tokens. */
public record ResponsePrefix(String text, int[] ids) {

    public static ResponsePrefix encode(String text, Tokenizer tok) { return new ResponsePrefix(text, text == null ? new int[0] : tok.encode(text, false)); }

    /** response_prefix, response_prefix_token_ids, and what is judged: the prefix is the command's words, never the model's, so it is not. */
    public void describe(ObjectNode o) {
        o.put("response_prefix", text);
        ArrayNode tokenIds = o.putArray("response_prefix_token_ids");
        for (int id : ids) tokenIds.add(id);
        o.put("judged_text", text == null ? "generated text only" : "generated continuation after the forced prefix (the prefix is not judged)");
    }
}
