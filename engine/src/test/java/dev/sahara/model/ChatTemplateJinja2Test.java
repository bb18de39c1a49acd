package dev.sahara.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every chat template of tokenizers/chat, and small templates that isolate jinja2's whitespace and state rules, rendered
 * by the engine and, live, by Python's jinja2 set up as transformers sets it up (render_jinja2.py): with and without a
 * system prompt, multi-turn histories, with and without the generation prompt. Byte for byte. Needs python3 with jinja2
 * (Debian: python3-jinja2); skipped, saying so, where it is missing.
 */
class ChatTemplateJinja2Test {
    static final String DIR = "/tokenizers/chat/";
    static final LocalDate DATE = LocalDate.of(2025, 3, 7);

    /** name → template: the real ones (files) and the rules a template relies on. */
    static final Map<String, String> TEMPLATES = new LinkedHashMap<>();
    static final Map<String, String[]> SPECIALS = new LinkedHashMap<>();

    @BeforeAll
    static void templates() throws IOException {
        // hermes-chatml: Hermes 2 Pro's "default" template (ChatML with BOS)
        // llama3.2-instruct: Llama-3.2-Instruct's template (today's date through strftime_now)
        // qwen2.5-instruct: Qwen2.5-Instruct's template (a tools branch, a default system prompt, multi-line with {%- -%})
        // deepseek-r1-distill: the DeepSeek-R1-Distill template (state in a namespace across the loop; its generation prompt opens <think>)
        // llama3.3-instruct: Llama-3.3-70B-Instruct's template (byte-identical to Llama-3.1's; kept so the family is named)
        // mixtral-instruct: Mixtral-8x7B-Instruct-v0.1's template (Mistral "v1": ' [INST] ', the system prompt joined to the first user turn)
        // mistral-nemo-instruct: Mistral-Nemo-Instruct-2407's template ("v3-tekken": [AVAILABLE_TOOLS] before the last user turn, system prompt on it)
        // hermes3-tool-use: Hermes-3-Llama-3.1's "tool_use" template (a macro mapping JSON schema types to Python, <tools> in the system turn)
        for (String name : List.of("llama2-chat", "llama3-instruct", "llama3.1-instruct", "mistral-instruct", "qwen2-instruct", "vicuna", "deepseek-r1-distill", "qwen2.5-instruct",
                "llama3.2-instruct", "hermes-chatml", "llama3.3-instruct", "mixtral-instruct", "mistral-nemo-instruct", "hermes3-tool-use")) {
            TEMPLATES.put(name, resource(name + ".jinja"));
        }
        SPECIALS.put("llama2-chat", new String[] {"<s>", "</s>"});
        SPECIALS.put("mistral-instruct", new String[] {"<s>", "</s>"});
        SPECIALS.put("vicuna", new String[] {"<s>", "</s>"});
        SPECIALS.put("qwen2-instruct", new String[] {null, "<|im_end|>"});
        SPECIALS.put("qwen2.5-instruct", new String[] {null, "<|im_end|>"});
        SPECIALS.put("hermes-chatml", new String[] {"<|begin_of_text|>", "<|im_end|>"});
        SPECIALS.put("hermes3-tool-use", new String[] {"<|begin_of_text|>", "<|im_end|>"});
        SPECIALS.put("deepseek-r1-distill", new String[] {"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"});
        // jinja2's lstrip_blocks strips only the whitespace that starts a line before a block tag; inline, it is output
        TEMPLATES.put("inline-if", "A {{ messages[0]['content'] }} {% if true %}B{% endif %} C\n  {% if true %}D{% endif %}\n\t{%+ if true %}E{% endif %}");
        TEMPLATES.put("system-then-user", "{% for m in messages %}{% if m['role'] == 'system' %}{{ m['content'] }} {% else %}{{ m['role'] | capitalize }}: {{ m['content'] }}\n{% endif %}{% endfor %}"
                + "{% if add_generation_prompt %}Assistant:{% endif %}");
        // state carried across the loop in a namespace, as DeepSeek-R1-Distill's template does
        TEMPLATES.put("namespace-state", "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{% set ns = namespace(is_tool=false, system_prompt='') %}{%- for message in messages %}{%- if message['role'] == 'system' %}"
                + "{% set ns.system_prompt = message['content'] %}{%- endif %}{%- endfor %}{{ bos_token }}{{ ns.system_prompt }}{%- for message in messages %}"
                + "{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}{{ '<｜User｜>' + message['content'] }}{%- endif %}"
                + "{%- if message['role'] == 'assistant' %}{{ '<｜Assistant｜>' + message['content'] + '<｜end▁of▁sentence｜>' }}{%- endif %}{%- endfor -%}"
                + "{% if ns.is_tool %}{{ '<｜tool▁outputs▁end｜>' }}{% endif %}{% if add_generation_prompt and not ns.is_tool %}{{ '<｜Assistant｜><think>\\n' }}{% endif %}");
        // Llama-3.2's date: strftime_now when defined (transformers defines it), else a fixed fallback
        TEMPLATES.put("strftime-date", "{{- bos_token }}\n{%- if not date_string is defined %}\n    {%- if strftime_now is defined %}\n"
                + "        {%- set date_string = strftime_now(\"%d %b %Y\") %}\n    {%- else %}\n        {%- set date_string = \"26 Jul 2024\" %}\n    {%- endif %}\n{%- endif %}\n"
                + "{{- \"Today Date: \" + date_string + \"\\n\\n\" }}\n{%- for message in messages %}{{- message['role'] + ': ' + message['content'] | trim + '\\n' }}{%- endfor %}");
        TEMPLATES.put("tojson", "{% for m in messages %}{{ m | tojson }}|{{ m['content'] | tojson }}{% endfor %}");
    }

    static String resource(String name) throws IOException {
        try (InputStream in = ChatTemplateJinja2Test.class.getResourceAsStream(DIR + name)) {
            if (in == null) throw new IOException("missing test resource " + DIR + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static final String SYSTEM = "You are a helpful assistant. Be kind";
    static final String QUERY = "  How do I bake a café crème brûlée? 🍮 Explain\nstep by step.  ";

    static Map<String, List<ChatTemplate.Message>> conversations() {
        Map<String, List<ChatTemplate.Message>> c = new LinkedHashMap<>();
        c.put("nosys", List.of(new ChatTemplate.Message("user", QUERY)));
        c.put("sys", List.of(new ChatTemplate.Message("system", SYSTEM), new ChatTemplate.Message("user", QUERY)));
        c.put("multi", List.of(new ChatTemplate.Message("system", SYSTEM), new ChatTemplate.Message("user", "Hi"),
                new ChatTemplate.Message("assistant", " Hello! How can I help? "), new ChatTemplate.Message("user", QUERY)));
        c.put("multi-nosys", List.of(new ChatTemplate.Message("user", "Hi"), new ChatTemplate.Message("assistant", "Hello!"),
                new ChatTemplate.Message("user", QUERY)));
        return c;
    }

    record Case(String name, String template, List<ChatTemplate.Message> messages, boolean generationPrompt, String bos, String eos, JsonNode tools) {
        Case(String name, String template, List<ChatTemplate.Message> messages, boolean generationPrompt, String bos, String eos) {
            this(name, template, messages, generationPrompt, bos, eos, null);
        }
    }

    /** A tool as transformers passes it: the JSON schema of a function (nested objects, lists, a non-ASCII description). */
    static final String TOOL = "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Météo d'une ville — \\\"now\\\"\", "
            + "\"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}, \"days\": {\"type\": \"integer\", \"enum\": [1, 2, 3]}, "
            + "\"unit\": {\"type\": \"string\", \"enum\": [\"celsius\", \"fahrenheit\"]}}, \"required\": [\"city\"]}}}";

    /** Runs render_jinja2.py on all cases at once; null when python3 or jinja2 is missing. */
    static JsonNode jinja2(List<Case> cases) throws Exception {
        Path script = Files.createTempFile("render_jinja2", ".py");
        Files.writeString(script, resource("render_jinja2.py"));
        ArrayNode in = Json.MAPPER.createArrayNode();
        for (Case c : cases) {
            ObjectNode o = in.addObject();
            o.put("template", c.template());
            ArrayNode ms = o.putArray("messages");
            for (ChatTemplate.Message m : c.messages()) ms.addObject().put("role", m.role()).put("content", m.content());
            o.put("add_generation_prompt", c.generationPrompt());
            o.put("bos_token", c.bos());
            o.put("eos_token", c.eos());
            o.put("date", DATE.toString());
            if (c.tools() != null) o.set("tools", c.tools());
        }
        Process p;
        try {
            p = new ProcessBuilder("python3", script.toString()).redirectError(ProcessBuilder.Redirect.PIPE).start();
        } catch (IOException noPython) {
            return null;
        }
        try (var stdin = p.getOutputStream()) {
            stdin.write(Json.MAPPER.writeValueAsBytes(in));
        }
        byte[] out = p.getInputStream().readAllBytes();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        Files.deleteIfExists(script);
        if (p.exitValue() != 0 && err.contains("No module named 'jinja2'")) return null;
        assertEquals(0, p.exitValue(), err);
        return Json.MAPPER.readTree(out);
    }

    @Test
    void everyTemplateRendersAsJinja2Does() throws Exception {
        List<Case> cases = new ArrayList<>();
        for (var t : TEMPLATES.entrySet()) {
            String[] special = SPECIALS.getOrDefault(t.getKey(), t.getKey().startsWith("llama3") ? new String[] {"<|begin_of_text|>", "<|eot_id|>"}
                    : new String[] {"<s>", "</s>"});
            for (var conv : conversations().entrySet()) {
                for (boolean gen : new boolean[] {true, false}) {
                    cases.add(new Case(t.getKey() + " " + conv.getKey() + (gen ? "" : " no-generation-prompt"), t.getValue(), conv.getValue(), gen,
                            special[0], special[1]));
                }
            }
        }
        // tool-use: the templates that take tools=, with one tool, with and without a system prompt
        JsonNode tools = Json.MAPPER.readTree("[" + TOOL + "]");
        for (String name : List.of("llama3.1-instruct", "llama3.2-instruct", "qwen2.5-instruct", "llama3.3-instruct", "mistral-nemo-instruct", "hermes3-tool-use")) {
            String[] special = SPECIALS.getOrDefault(name, new String[] {"<|begin_of_text|>", "<|eot_id|>"});
            for (String conv : List.of("nosys", "sys")) {
                cases.add(new Case(name + " " + conv + " tools", TEMPLATES.get(name), conversations().get(conv), true, special[0], special[1], tools));
            }
        }
        JsonNode expected = jinja2(cases);
        assumeTrue(expected != null, "python3 with jinja2 is not installed (Debian: apt-get install python3-jinja2)");
        List<String> differ = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            Case c = cases.get(i);
            String want = expected.get(i).has("text") ? expected.get(i).get("text").asText() : "RAISE: " + expected.get(i).get("raise").asText();
            String got;
            try {
                got = new ChatTemplate(c.template(), Path.of(c.name())).render(c.messages(), c.generationPrompt(), c.bos(), c.eos(), DATE,
                        c.tools() == null ? null : Json.MAPPER.convertValue(c.tools(), new com.fasterxml.jackson.core.type.TypeReference<List<Map<String, Object>>>() {}));
            } catch (SaharaException e) {
                String m = e.getMessage();
                got = m.contains("the chat template raised: ") ? "RAISE: " + m.substring(m.indexOf("the chat template raised: ") + 26) : "ERROR: " + m;
            }
            if (c.tools() != null) assertTrue(want.contains("\"name\": \"get_weather\"") && want.contains("Météo"), c.name() + " renders its tool:\n" + want);
            if (!want.equals(got)) differ.add(c.name() + "\n  jinja2: " + Json.MAPPER.writeValueAsString(want) + "\n  engine: " + Json.MAPPER.writeValueAsString(got));
        }
        assertTrue(differ.isEmpty(), differ.size() + " of " + cases.size() + " cases differ from jinja2:\n" + String.join("\n", differ));
    }
}
