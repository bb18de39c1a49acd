package dev.sahara.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sahara.cli.options.PromptOptions;
import dev.sahara.model.Json;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The commands other teams script against: names, output shapes, the llama2.c text. */
class CommandsTest {
    static final String STORIES = TestModels.stories260K().toString();

    @Test
    void generatePrintsTheLlama2cText() throws Exception {
        CliTestSupport r = CliTestSupport.run("generate", "--model", STORIES, "--prompt", "Once upon a time", "--format", "direct", "--max-tokens", "60");
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(Files.readString(TestModels.stories260K().resolve("golden/greedy_once_upon_a_time.txt")), r.out());
    }

    @Test
    void logitsJsonHasTokenIdsAndFullVocabulary() throws Exception {
        CliTestSupport r = CliTestSupport.run("logits", "--model", STORIES, "--prompt", "Once upon a time", "--format", "direct");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode o = Json.MAPPER.readTree(r.out());
        assertEquals("[1,403,407,261,378]", o.get("token_ids").toString());
        assertEquals(512, o.get("logits").size());
        float[] golden = TestModels.readLogits(TestModels.stories260K().resolve("golden/logits_once_upon_a_time_last.txt"));
        for (int i = 0; i < 512; i++) assertEquals(golden[i], o.get("logits").get(i).floatValue(), 1e-4, "logit " + i);
        CliTestSupport byIds = CliTestSupport.run("logits", "--model", STORIES, "--token-ids", "1,403,407,261,378");
        assertEquals(r.out(), byIds.out(), "--token-ids gives the same as the tokenized prompt");
    }

    @Test
    void ablationChangesLogitsAndEpsilonOneDoesNot() throws Exception {
        String base = CliTestSupport.run("logits", "--model", STORIES, "--token-ids", "1,403,407,261,378").out();
        String same = CliTestSupport.run("logits", "--model", STORIES, "--token-ids", "1,403,407,261,378", "--ablate", "L0H1", "--epsilon", "1").out();
        String changed = CliTestSupport.run("logits", "--model", STORIES, "--token-ids", "1,403,407,261,378", "--ablate", "0-1,2.3", "--ablation", "mean-v").out();
        assertEquals(base, same);
        assertNotEquals(base, changed);
    }

    @Test
    void inspectReportsShapes() throws Exception {
        CliTestSupport r = CliTestSupport.run("inspect", "--model", STORIES, "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode o = Json.MAPPER.readTree(r.out());
        assertEquals(5, o.get("layers").asInt());
        assertEquals(8, o.get("heads").asInt());
        assertEquals(4, o.get("kv_heads").asInt());
        assertEquals(260032, o.get("parameters").asLong(), "the llama2.c README's count");
        assertTrue(o.get("attention").asText().startsWith("GQA"));
    }

    @Test
    void chatTemplateFromAFileForModelsThatShipNone(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        CliTestSupport none = CliTestSupport.run("logits", "--model", STORIES, "--prompt", "Hi", "--format", "chat");
        assertEquals(2, none.exitCode());
        assertTrue(none.errorLine().contains("tokenizer_config.json") && none.errorLine().contains("chat_template"), none.err());

        java.nio.file.Path vicuna = tmp.resolve("vicuna.jinja");
        Files.writeString(vicuna, "{{ bos_token }}A chat. USER: {{ messages[-1]['content'] }} ASSISTANT:");
        CliTestSupport r = CliTestSupport.run("logits", "--model", STORIES, "--prompt", "Hi", "--format", "chat", "--chat-template", vicuna.toString());
        assertEquals(0, r.exitCode(), r.err());
        JsonNode ids = Json.MAPPER.readTree(r.out()).get("token_ids");
        assertEquals(1, ids.get(0).asInt(), "the template writes BOS once");
        assertTrue(ids.size() > 5);

        CliTestSupport wrongFormat = CliTestSupport.run("logits", "--model", STORIES, "--prompt", "Hi", "--chat-template", vicuna.toString());
        assertEquals(2, wrongFormat.exitCode());
        assertTrue(wrongFormat.errorLine().contains("--format chat"), wrongFormat.err());
    }

    static final String VICUNA_SYSTEM = "A chat between a curious user and an artificial intelligence assistant. "
            + "The assistant gives helpful, detailed, and polite answers to the user's questions.";

    /** builtin:vicuna-v1.1 renders FastChat's vicuna_v1.1 get_prompt() character for character. */
    @Test
    void builtinVicunaTemplateIsFastChatsPrompt() {
        dev.sahara.model.ChatTemplate t = new dev.sahara.model.ChatTemplate(PromptOptions.builtinTemplate("builtin:vicuna-v1.1"),
                java.nio.file.Path.of("builtin:vicuna-v1.1"));
        var user = new dev.sahara.model.ChatTemplate.Message("user", " How do I bake bread? ");
        assertEquals("<s>" + VICUNA_SYSTEM + " USER:  How do I bake bread?  ASSISTANT:", t.render(java.util.List.of(user), true, "<s>", "</s>"));
        assertEquals("<s>Be brief. USER:  How do I bake bread?  ASSISTANT:",
                t.render(java.util.List.of(new dev.sahara.model.ChatTemplate.Message("system", "Be brief."), user), true, "<s>", "</s>"));
        assertEquals("<s>" + VICUNA_SYSTEM + " USER: a ASSISTANT: b</s>USER: c ASSISTANT:", t.render(java.util.List.of(
                new dev.sahara.model.ChatTemplate.Message("user", "a"), new dev.sahara.model.ChatTemplate.Message("assistant", "b"),
                new dev.sahara.model.ChatTemplate.Message("user", "c")), true, "<s>", "</s>"));
    }

    /** Through the CLI, the built-in template gives the ids of the same text written out with --format direct. */
    @Test
    void builtinVicunaTemplateThroughTheCli() throws Exception {
        CliTestSupport chat = CliTestSupport.run("logits", "--model", STORIES, "--prompt", "Hi", "--format", "chat", "--chat-template", "builtin:vicuna-v1.1");
        assertEquals(0, chat.exitCode(), chat.err());
        CliTestSupport direct = CliTestSupport.run("logits", "--model", STORIES, "--prompt", VICUNA_SYSTEM + " USER: Hi ASSISTANT:", "--format", "direct");
        assertEquals(0, direct.exitCode(), direct.err());
        assertEquals(Json.MAPPER.readTree(direct.out()).get("token_ids"), Json.MAPPER.readTree(chat.out()).get("token_ids"));

        CliTestSupport unknown = CliTestSupport.run("logits", "--model", STORIES, "--prompt", "Hi", "--format", "chat", "--chat-template", "builtin:nope");
        assertEquals(2, unknown.exitCode());
        assertTrue(unknown.errorLine().contains("builtin:nope") && unknown.errorLine().contains("builtin:vicuna-v1.1"), unknown.err());
    }
}
