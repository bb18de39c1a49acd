package dev.sahara.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sahara.SaharaException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real chat templates rendered by jinjava, compared byte for byte with Python jinja2.
 *
 * <p>The fixtures under src/test/resources/tokenizers/chat/ were made by running
 * {@code python3 make_expected.py} there (Python 3.11, jinja2 3.1.6, an environment set up as
 * transformers' apply_chat_template sets it up): NAME.jinja is the template, NAME.CASE.expected
 * what jinja2 rendered for the messages in messages.json ("RAISE: msg" when the template raised).
 */
class ChatTemplateTest {
    private static final String DIR = "/tokenizers/chat/";

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
            "llama2-chat, nosys, <s>, </s>",
            "llama2-chat, sys, <s>, </s>",
            "llama3-instruct, nosys, <|begin_of_text|>, <|eot_id|>",
            "llama3-instruct, sys, <|begin_of_text|>, <|eot_id|>",
            "llama3.1-instruct, nosys, <|begin_of_text|>, <|eot_id|>",
            "llama3.1-instruct, sys, <|begin_of_text|>, <|eot_id|>",
            "mistral-instruct, nosys, <s>, </s>",
            "mistral-instruct, sys, <s>, </s>",
            "qwen2-instruct, nosys, , <|im_end|>",
            "qwen2-instruct, sys, , <|im_end|>",
            "vicuna, nosys, <s>, </s>",
            "vicuna, sys, <s>, </s>",
    })
    void rendersLikeJinja2(String name, String kase, String bos, String eos) throws IOException {
        ChatTemplate template = new ChatTemplate(resource(name + ".jinja"), Path.of(name + ".jinja"));
        JsonNode m = new ObjectMapper().readTree(resource("messages.json"));
        List<ChatTemplate.Message> messages = new ArrayList<>();
        if (kase.equals("sys")) messages.add(new ChatTemplate.Message("system", m.get("system").asText()));
        messages.add(new ChatTemplate.Message("user", m.get("query").asText()));
        String expected = resource(name + "." + kase + ".expected");

        if (expected.startsWith("RAISE: ")) {
            SaharaException e = assertThrows(SaharaException.class,
                    () -> template.render(messages, true, bos, eos));
            assertTrue(e.getMessage().contains(expected.substring("RAISE: ".length())), e.getMessage());
            assertTrue(e.getMessage().startsWith(name + ".jinja: "), e.getMessage());
        } else {
            assertEquals(expected, template.render(messages, true, bos, eos), name + " " + kase);
        }
    }

    @Test
    void raiseExceptionCarriesTheTemplatesMessage() {
        ChatTemplate t = new ChatTemplate("{{ raise_exception('System role not supported') }}", null);
        SaharaException e = assertThrows(SaharaException.class,
                () -> t.render(List.of(new ChatTemplate.Message("user", "hi")), true, "<s>", "</s>"));
        assertTrue(e.getMessage().contains("System role not supported"), e.getMessage());
    }

    @Test
    void noGenerationPromptWhenNotAsked() {
        ChatTemplate t = new ChatTemplate("{% for m in messages %}[{{ m.role }}:{{ m['content'] }}]{% endfor %}"
                + "{% if add_generation_prompt %}<gen>{% endif %}", null);
        List<ChatTemplate.Message> msgs = List.of(new ChatTemplate.Message("user", "hi"));
        assertEquals("[user:hi]<gen>", t.render(msgs, true, null, null));
        assertEquals("[user:hi]", t.render(msgs, false, null, null));
    }

    static String resource(String name) throws IOException {
        try (InputStream in = ChatTemplateTest.class.getResourceAsStream(DIR + name)) {
            if (in == null) throw new IOException("missing test resource " + DIR + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
