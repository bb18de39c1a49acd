package dev.sahara.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sahara.model.Json;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code prompt}: the exact text and ids a query becomes; {@code --date} fixes the day a chat template prints, and is recorded. */
class PromptCommandTest {
    static final String STORIES = TestModels.stories260K().toString();
    /** Llama-3.2's date block around a minimal chat. */
    static final String DATED = "{{- bos_token }}\n{%- if not date_string is defined %}\n    {%- if strftime_now is defined %}\n"
            + "        {%- set date_string = strftime_now(\"%d %b %Y\") %}\n    {%- else %}\n        {%- set date_string = \"26 Jul 2024\" %}\n    {%- endif %}\n{%- endif %}\n"
            + "{{- \"Today Date: \" + date_string + \"\\n\" }}\n{%- for message in messages %}{{- message['role'] + ': ' + message['content'] + '\\n' }}{%- endfor %}"
            + "{%- if add_generation_prompt %}{{- 'assistant:' }}{%- endif %}";

    @TempDir
    Path tmp;

    @Test
    void printsTheTemplateFormatsTextAndIdsByDefault() throws Exception {
        CliTestSupport r = CliTestSupport.run("prompt", "--model", STORIES, "--prompt", "Hi", "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode o = Json.MAPPER.readTree(r.out());
        assertEquals("template", o.get("format").asText());
        assertEquals("## Query:Hi\n## Answer:", o.get("text").asText());
        JsonNode logits = Json.MAPPER.readTree(CliTestSupport.run("logits", "--model", STORIES, "--prompt", "Hi", "--format", "template").out());
        assertEquals(logits.get("token_ids"), o.get("token_ids"), "the ids the engine runs");
        CliTestSupport text = CliTestSupport.run("prompt", "--model", STORIES, "--prompt", "Hi");
        assertTrue(text.out().startsWith("## Query:Hi\n## Answer:\n---\ntoken ids (" + o.get("token_ids").size() + "): 1, "), text.out());
    }

    @Test
    void aChatTemplateThatPrintsTheDateUsesDateAndRecordsIt() throws Exception {
        Path template = tmp.resolve("dated.jinja");
        Files.writeString(template, DATED);
        CliTestSupport r = CliTestSupport.run("prompt", "--model", STORIES, "--prompt", "Hi", "--format", "chat", "--chat-template", template.toString(),
                "--system", "Be kind", "--date", "2025-03-07", "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode o = Json.MAPPER.readTree(r.out());
        assertEquals("<s>Today Date: 07 Mar 2025\nsystem: Be kind\nuser: Hi\nassistant:", o.get("text").asText());
        assertEquals("2025-03-07", o.get("chat_date").asText());

        // without --date: today, as transformers renders it (not the template's fallback date)
        CliTestSupport today = CliTestSupport.run("prompt", "--model", STORIES, "--prompt", "Hi", "--format", "chat", "--chat-template", template.toString(), "--json");
        String day = Json.MAPPER.readTree(today.out()).get("chat_date").asText();
        assertFalse(Json.MAPPER.readTree(today.out()).get("text").asText().contains("26 Jul 2024"));
        assertEquals(java.time.LocalDate.parse(day).format(java.time.format.DateTimeFormatter.ofPattern("dd MMM yyyy", java.util.Locale.ENGLISH)),
                Json.MAPPER.readTree(today.out()).get("text").asText().substring(15, 26));

        // a result file records the date its prompts were rendered with
        Path out = tmp.resolve("ships");
        CliTestSupport ships = CliTestSupport.run("ships", "--model", STORIES, "--prompt", "Hi", "--format", "chat", "--chat-template", template.toString(),
                "--date", "2025-03-07", "--out", out.toString(), "--json");
        assertEquals(0, ships.exitCode(), ships.err());
        assertEquals("2025-03-07", Json.MAPPER.readTree(ships.out()).get("chat_date").asText());
    }

    @Test
    void badDatesAndDatesOutsideChatAreRefused() {
        CliTestSupport r = CliTestSupport.run("prompt", "--model", STORIES, "--prompt", "Hi", "--format", "chat", "--chat-template", "builtin:vicuna-v1.1", "--date", "7.3.2025");
        assertEquals(2, r.exitCode());
        assertEquals("--date must be a date like 2025-03-07 (YYYY-MM-DD), got '7.3.2025'", r.errorLine());
        r = CliTestSupport.run("prompt", "--model", STORIES, "--prompt", "Hi", "--date", "2025-03-07");
        assertEquals(2, r.exitCode());
        assertTrue(r.errorLine().startsWith("--date needs --format chat"), r.errorLine());
    }

    @Test
    void theRecordedTemplateHasTheNewlineThePromptsHave() throws Exception {
        CliTestSupport r = CliTestSupport.run("ships", "--model", TestModels.tiny("llama-gqa-bf16").toString(), "--prompt", "x", "--out", tmp.resolve("s").toString(), "--json");
        assertEquals(0, r.exitCode(), r.err());
        assertEquals("## Query:{q}\n## Answer:", Json.MAPPER.readTree(r.out()).get("prompt_template").asText());
    }
}
