package dev.sahara.model;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.sahara.SaharaException;

import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Hugging Face chat template ({@code chat_template} in tokenizer_config.json), rendered as
 * {@code apply_chat_template(messages, tokenize=False, add_generation_prompt=...)} does.
 *
 * <p>Hugging Face renders with Python jinja2 ({@code trim_blocks=True, lstrip_blocks=True},
 * a {@code raise_exception} global). Jinjava matches it byte for byte only with the legacy
 * overrides set below (see TOOLCHAIN.md, "Libraries"); ChatTemplateTest compares the real
 * Llama-2/3/3.1, Mistral, Qwen2 and Vicuna templates against jinja2's output.
 */
public final class ChatTemplate {
    /** One chat turn; role is "system", "user" or "assistant". */
    public record Message(String role, String content) {
        public Message {
            Objects.requireNonNull(role, "role");
            Objects.requireNonNull(content, "content");
        }
    }

    private static final Jinjava JINJAVA = newJinjava();

    private final String source;
    private final Path origin;
    private final LocalDate date;   // the day strftime_now reads; null = the clock, as transformers

    /**
     * @param source the template text (after JSON decoding)
     * @param origin the file it came from, named in error messages; may be null
     */
    public ChatTemplate(String source, Path origin) {
        this(source, origin, null);
    }

    private ChatTemplate(String source, Path origin, LocalDate date) {
        this.source = Objects.requireNonNull(source, "source");
        this.origin = origin;
        this.date = date;
    }

    public String source() { return source; }

    /** This template with {@code strftime_now} reading {@code day} instead of the clock ({@code --date}). */
    public ChatTemplate onDate(LocalDate day) { return new ChatTemplate(source, origin, Objects.requireNonNull(day)); }

    /** Whether the template prints today's date (calls strftime_now, as Llama-3.2's does): then the date is part of the prompt. */
    public boolean usesDate() { return source.contains("strftime_now"); }

    /**
     * Renders the template with the variables Hugging Face passes: {@code messages},
     * {@code add_generation_prompt}, {@code bos_token}, {@code eos_token} (null when the model
     * has none, as in Python).
     *
     * @throws SaharaException when the template calls raise_exception (with its message) or
     *                         cannot be parsed or evaluated
     */
    public String render(List<Message> messages, boolean addGenerationPrompt, String bosToken, String eosToken) {
        return render(messages, addGenerationPrompt, bosToken, eosToken, date != null ? date : LocalDate.now());
    }

    /** As above, with {@code strftime_now} reading {@code today} (transformers reads the clock; --date makes a prompt reproducible). */
    public String render(List<Message> messages, boolean addGenerationPrompt, String bosToken, String eosToken, LocalDate today) {
        return render(messages, addGenerationPrompt, bosToken, eosToken, today, null);
    }

    /**
     * As above, with {@code tools} (transformers' {@code apply_chat_template(..., tools=...)}: JSON schemas as maps and
     * lists; null for none, when the template sees {@code tools} undefined).
     */
    public String render(List<Message> messages, boolean addGenerationPrompt, String bosToken, String eosToken, LocalDate today,
                         List<Map<String, Object>> tools) {
        List<Map<String, Object>> msgs = new ArrayList<>();
        for (Message m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            msgs.add(map);
        }
        Map<String, Object> vars = new HashMap<>();
        vars.put("strftime_now", "strftime_now");   // "strftime_now is defined", as transformers defines it; calls resolve to the function
        vars.put("messages", msgs);
        vars.put("add_generation_prompt", addGenerationPrompt);
        vars.put("bos_token", bosToken);
        vars.put("eos_token", eosToken);
        if (tools != null) vars.put("tools", tools);

        RenderResult result;
        TODAY.set(today);
        try {
            result = JINJAVA.renderForResult(notBindsLooserThanIs(lstripBlocks(source)), vars);
        } catch (TemplateRaised e) {
            throw fail("the chat template raised: " + e.getMessage());
        } catch (RuntimeException e) {
            TemplateRaised raised = findRaised(e);
            if (raised != null) throw fail("the chat template raised: " + raised.getMessage());
            throw fail("the chat template failed: " + e.getMessage());
        } finally {
            TODAY.remove();
        }
        for (TemplateError error : result.getErrors()) {
            TemplateRaised raised = findRaised(error.getException());
            if (raised != null) throw fail("the chat template raised: " + raised.getMessage());
        }
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw fail("the chat template failed: " + error.getMessage()
                        + (error.getLineno() > 0 ? " (template line " + error.getLineno() + ")" : ""));
            }
        }
        return result.getOutput();
    }

    /** The day strftime_now reads during one render (jinjava calls functions statically). */
    private static final ThreadLocal<LocalDate> TODAY = new ThreadLocal<>();

    /**
     * jinja2's lstrip_blocks, done here rather than by jinjava (whose version also strips the spaces before a block tag
     * in the middle of a line: {@code A {{ x }} {% if %}} lost its space): spaces and tabs from the start of a line up
     * to a block or comment tag are removed, unless the tag opens with {@code +} ({@code {%+}), which is then dropped.
     */
    static String lstripBlocks(String template) {
        String stripped = LINE_START_BLOCK.matcher(template).replaceAll("");
        return stripped.replace("{%+", "{%").replace("{#+", "{#");
    }

    /**
     * In jinja2 {@code not x is defined} means {@code not (x is defined)}; jinjava reads {@code (not x) is defined},
     * which is always true, so DeepSeek-R1-Distill's {@code {% if not add_generation_prompt is defined %}} reset the
     * flag and its generation prompt was lost. Inside tags and expressions the test is put in parentheses.
     */
    static String notBindsLooserThanIs(String template) {
        Matcher tag = TAG.matcher(template);
        StringBuilder out = new StringBuilder();
        while (tag.find()) tag.appendReplacement(out, Matcher.quoteReplacement(NOT_IS.matcher(tag.group()).replaceAll("not ($1 is $2$3)")));
        tag.appendTail(out);
        return out.toString();
    }

    private static final Pattern TAG = Pattern.compile("\\{[%{].*?[%}]\\}", Pattern.DOTALL);
    private static final Pattern NOT_IS = Pattern.compile(
            "\\bnot\\s+([A-Za-z_][\\w.]*(?:\\[[^\\]]*\\])*)\\s+is\\s+(not\\s+)?(\\w+(?:\\([^)]*\\))?)");

    private static final Pattern LINE_START_BLOCK = Pattern.compile("(?m)^[ \\t]+(?=\\{[%#](?!\\+))");

    private SaharaException fail(String problem) {
        return origin != null ? SaharaException.inFile(origin, problem) : new SaharaException(problem);
    }

    private static TemplateRaised findRaised(Throwable t) {
        for (int depth = 0; t != null && depth < 20; depth++, t = t.getCause()) {
            if (t instanceof TemplateRaised r) return r;
        }
        return null;
    }

    private static Jinjava newJinjava() {
        LegacyOverrides legacy = LegacyOverrides.newBuilder()
                .withUseTrimmingForNotesAndExpressions(true)
                .withParseWhitespaceControlStrictly(true)
                .withUseNaturalOperatorPrecedence(true)
                .withHandleBackslashInQuotesOnly(true)
                .withAllowAdjacentTextNodes(true)
                .withKeepNullableLoopValues(true)
                .build();
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(false)   // done by lstripBlocks, as jinja2 does it
                .withLegacyOverrides(legacy)
                .build();
        Jinjava jinjava = new Jinjava(config);
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition(
                "", "raise_exception", Functions.class, "raiseException", Object.class));
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition(
                "", "strftime_now", Functions.class, "strftimeNow", String.class));
        jinjava.getGlobalContext().registerFilter(new PythonCompat.ToJson());
        jinjava.getGlobalContext().registerFilter(new PythonCompat.Items());
        jinjava.getGlobalContext().registerFilter(new PythonCompat.Trim());
        return jinjava;
    }

    /** Thrown by a template's {@code raise_exception(message)}. */
    static final class TemplateRaised extends RuntimeException {
        TemplateRaised(String message) { super(message, null, false, false); }
    }

    /** Functions the templates call; public because jinjava invokes them reflectively. */
    public static final class Functions {
        private Functions() {}

        /**
         * transformers' {@code strftime_now(format)}: today's date (the render's day, {@code --date} or the clock) in
         * Python's strftime format, English names as in the C locale. A time of day reads as midnight.
         */
        public static String strftimeNow(String format) {
            LocalDate day = TODAY.get() != null ? TODAY.get() : LocalDate.now();
            return PythonCompat.strftime(format, day.atStartOfDay());
        }

        /** jinja2's {@code raise_exception(message)} as transformers defines it. */
        public static Object raiseException(Object message) {
            throw new TemplateRaised(String.valueOf(message));
        }
    }
}
