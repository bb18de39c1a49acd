package dev.sahara.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.model.Json;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * A zero-shot multiple-choice task: items of (context, continuation) pairs, one pair per choice, and the gold
 * choice. Read from the engine's JSONL form or converted from the Hugging Face datasets' JSONL exports with the
 * prompts of lm-evaluation-harness (see docs/ANALYSES.md, "helpfulness").
 *
 * <p>Engine form, one object per line: {@code {"id": "...", "context": "...", "choices": [" a", " b"], "gold": 0}},
 * or, for partial scoring (WinoGrande), {@code {"contexts": ["... a", "... b"], "continuation": " rest", "gold": 0}}.
 * A choice string is the exact continuation scored (include its leading space).
 */
public record HelpfulnessTask(String name, String source, List<Item> items) {
    /** One question: contexts.get(i) + continuations.get(i) is choice i's full text; gold is the right choice. */
    public record Item(String id, List<String> contexts, List<String> continuations, int gold) {
        public Item {
            if (contexts.size() != continuations.size() || contexts.size() < 2) throw new IllegalArgumentException("an item needs >= 2 choices");
            contexts = List.copyOf(contexts);
            continuations = List.copyOf(continuations);
        }

        public int choices() { return contexts.size(); }
    }

    public static final List<String> FORMATS = List.of("jsonl", "boolq", "rte", "winogrande", "arc", "openbookqa");

    /** {@code builtin:synthetic} or a file; format = jsonl (the engine form) or a converter's name. */
    public static HelpfulnessTask load(String spec, String format, int limit) {
        if (!FORMATS.contains(format)) throw new SaharaException("--task-format must be one of " + String.join(", ", FORMATS) + ", got '" + format + "'");
        byte[] bytes;
        String name;
        if (spec.startsWith("builtin:")) {
            name = spec.substring("builtin:".length());
            if (!name.equals("synthetic")) throw new SaharaException("--task: unknown builtin '" + spec + "' (builtin:synthetic)");
            try (InputStream in = HelpfulnessTask.class.getResourceAsStream("/tasks/synthetic.jsonl")) {
                if (in == null) throw new IllegalStateException("missing resource tasks/synthetic.jsonl");
                bytes = in.readAllBytes();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        } else {
            Path p = Path.of(spec);
            if (!Files.isRegularFile(p)) throw SaharaException.inFile(p, "missing");
            try {
                bytes = Files.readAllBytes(p);
            } catch (IOException e) {
                throw SaharaException.inFile(p, "cannot read: " + e.getMessage());
            }
            String f = p.getFileName().toString();
            name = f.contains(".") ? f.substring(0, f.lastIndexOf('.')) : f;
        }
        List<Item> items = new ArrayList<>();
        String[] lines = new String(bytes, StandardCharsets.UTF_8).split("\n");
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty()) continue;
            if (limit > 0 && items.size() >= limit) break;
            JsonNode o;
            try {
                o = Json.MAPPER.readTree(line);
            } catch (IOException e) {
                throw new SaharaException(spec + ": line " + (i + 1) + ": malformed JSON");
            }
            try {
                items.add(convert(format, o, String.valueOf(items.size())));
            } catch (RuntimeException e) {
                throw new SaharaException(spec + ": line " + (i + 1) + ": not a " + format + " row: " + e.getMessage());
            }
        }
        if (items.isEmpty()) throw new SaharaException(spec + ": no items");
        String source = String.format(Locale.ROOT, "%s as %s (sha256 %s, %d items used)", spec, format, sha256(bytes), items.size());
        return new HelpfulnessTask(name, source, items);
    }

    /** One row of the given format as an item (lm-evaluation-harness prompts, target delimiter " "). */
    static Item convert(String format, JsonNode o, String fallbackId) {
        String id = o.has("id") ? o.get("id").asText() : o.has("idx") ? o.get("idx").asText() : fallbackId;
        return switch (format) {
            case "jsonl" -> {
                int gold = need(o, "gold").asInt();
                if (o.has("contexts")) {
                    List<String> ctx = strings(need(o, "contexts"));
                    String cont = need(o, "continuation").asText();
                    yield item(id, ctx, Collections.nCopies(ctx.size(), cont), gold);
                }
                List<String> ch = strings(need(o, "choices"));
                yield item(id, Collections.nCopies(ch.size(), need(o, "context").asText()), ch, gold);
            }
            case "boolq" -> {   // super_glue/boolq {passage, question, label} or google/boolq {passage, question, answer: bool}
                int gold = o.has("label") ? o.get("label").asInt() : need(o, "answer").asBoolean() ? 1 : 0;
                String ctx = need(o, "passage").asText() + "\nQuestion: " + need(o, "question").asText() + "?\nAnswer:";
                yield item(id, List.of(ctx, ctx), List.of(" no", " yes"), gold);
            }
            case "rte" -> {     // super_glue/rte {premise, hypothesis, label: 0 entailment, 1 not_entailment}
                String ctx = need(o, "premise").asText() + "\nQuestion: " + need(o, "hypothesis").asText() + " True or False?\nAnswer:";
                yield item(id, List.of(ctx, ctx), List.of(" True", " False"), need(o, "label").asInt());
            }
            case "winogrande" -> {  // winogrande {sentence, option1, option2, answer: "1"|"2"}
                String s = need(o, "sentence").asText();
                int blank = s.indexOf('_');
                if (blank < 0) throw new IllegalArgumentException("sentence has no '_'");
                String cont = " " + s.substring(blank + 1).strip();
                List<String> ctx = List.of(s.substring(0, blank) + need(o, "option1").asText(), s.substring(0, blank) + need(o, "option2").asText());
                yield item(id, ctx, List.of(cont, cont), Integer.parseInt(need(o, "answer").asText().strip()) - 1);
            }
            case "arc", "openbookqa" -> {  // ai2_arc {question, choices{text,label}, answerKey}; openbookqa {question_stem, choices, answerKey}
                String q = format.equals("arc") ? "Question: " + need(o, "question").asText() + "\nAnswer:" : need(o, "question_stem").asText();
                JsonNode ch = need(o, "choices");
                List<String> texts = strings(need(ch, "text")), labels = strings(need(ch, "label"));
                int gold = labels.indexOf(need(o, "answerKey").asText().strip());
                if (gold < 0) throw new IllegalArgumentException("answerKey not among the labels " + labels);
                yield item(id, Collections.nCopies(texts.size(), q), texts.stream().map(t -> " " + t).toList(), gold);
            }
            default -> throw new IllegalArgumentException(format);
        };
    }

    private static Item item(String id, List<String> ctx, List<String> cont, int gold) {
        if (gold < 0 || gold >= ctx.size()) throw new IllegalArgumentException("gold " + gold + " is not a choice index (0.." + (ctx.size() - 1) + ")");
        return new Item(id, ctx, cont, gold);
    }

    private static JsonNode need(JsonNode o, String field) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) throw new IllegalArgumentException("missing field '" + field + "'");
        return v;
    }

    private static List<String> strings(JsonNode a) {
        if (!a.isArray()) throw new IllegalArgumentException("expected an array");
        List<String> r = new ArrayList<>();
        for (JsonNode x : a) r.add(x.asText());
        return r;
    }

    /** The task in the engine's JSONL form (what a converter produced). */
    public String toJsonl() {
        StringBuilder sb = new StringBuilder();
        for (Item it : items) {
            ObjectNode o = Json.MAPPER.createObjectNode();
            o.put("id", it.id());
            boolean oneContext = it.contexts().stream().distinct().count() == 1;
            if (oneContext) {
                o.put("context", it.contexts().getFirst());
                ArrayNode c = o.putArray("choices");
                it.continuations().forEach(c::add);
            } else {
                ArrayNode c = o.putArray("contexts");
                it.contexts().forEach(c::add);
                o.put("continuation", it.continuations().getFirst());
            }
            o.put("gold", it.gold());
            sb.append(o).append('\n');
        }
        return sb.toString();
    }

    private static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
