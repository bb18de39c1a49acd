package dev.sahara.data;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.sahara.SaharaException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Loads prompt sets: the built-in ones shipped in the jar ({@code builtin:advbench},
 * {@code builtin:jailbreakbench}, {@code builtin:maliciousinstruct}, {@code builtin:harmless};
 * provenance in {@code resources/datasets/README.md}) or a user file chosen by its extension:
 * <ul>
 *   <li>{@code .csv}: RFC 4180 (see {@link Csv}); header row required; the column is {@code column}
 *       if given, else the first of {@link #DEFAULT_COLUMNS} present (exact name, then ignoring case),
 *       else the only column of a one-column file.</li>
 *   <li>{@code .txt}: one prompt per line; blank lines skipped; CRLF or LF.</li>
 *   <li>{@code .json}: an array of strings, or of objects whose {@code column} field is the prompt.</li>
 *   <li>{@code .jsonl}: one JSON string or object per line; blank lines skipped.</li>
 * </ul>
 * Prompts are kept as they are (no trimming, filtering or de-duplication). Every problem with the
 * input is one {@link SaharaException} whose message starts with the file (or {@code builtin:name}).
 */
public final class Datasets {
    /** Column names tried, in this order, when none is given. */
    public static final List<String> DEFAULT_COLUMNS = List.of("goal", "Goal", "prompt", "instruction", "input", "query");

    private record Builtin(String resource, String column) {}

    private static final Map<String, Builtin> BUILTINS = new LinkedHashMap<>();
    static {
        BUILTINS.put("advbench", new Builtin("advbench/harmful_behaviors.csv", "goal"));
        BUILTINS.put("jailbreakbench", new Builtin("jailbreakbench/data_harmful-behaviors.csv", "Goal"));
        BUILTINS.put("maliciousinstruct", new Builtin("maliciousinstruct/MaliciousInstruct.txt", null));
        BUILTINS.put("harmless", new Builtin("harmless/harmless_test_first100.json", "instruction"));
    }

    private static final ObjectMapper JSON = JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

    private Datasets() {}

    /** The names accepted after {@code builtin:}. */
    public static List<String> builtinNames() { return List.copyOf(BUILTINS.keySet()); }

    /**
     * @param spec         {@code builtin:<name>} or a file path
     * @param columnOrNull the CSV column / JSON field holding the prompt; null for the default
     * @param limitOrZero  keep only the first N prompts; 0 keeps all
     */
    public static Dataset load(String spec, String columnOrNull, int limitOrZero) {
        if (limitOrZero < 0) throw new SaharaException("--limit: must be 0 (all) or a positive count, got " + limitOrZero);
        if (spec == null || spec.isBlank()) throw new SaharaException("--dataset: empty dataset name or path");
        Parsed parsed;
        String name;
        String where;
        if (spec.startsWith("builtin:")) {
            name = spec.substring("builtin:".length());
            Builtin b = BUILTINS.get(name);
            if (b == null) throw new SaharaException(spec + ": unknown built-in dataset; known: builtin:" + String.join(", builtin:", BUILTINS.keySet()));
            where = spec;
            byte[] bytes = readResource(where, "/datasets/" + b.resource());
            String column = columnOrNull != null ? columnOrNull : b.column();
            parsed = parse(where, b.resource(), bytes, column);
        } else {
            Path path;
            try {
                path = Path.of(spec);
            } catch (InvalidPathException e) {
                throw new SaharaException(spec + ": not a valid file path (" + e.getReason() + ")");
            }
            where = spec;
            String fileName = path.getFileName() == null ? spec : path.getFileName().toString();
            int dot = fileName.lastIndexOf('.');
            name = dot > 0 ? fileName.substring(0, dot) : fileName;
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(path);
            } catch (NoSuchFileException e) {
                throw SaharaException.inFile(path, "no such file");
            } catch (IOException e) {
                throw SaharaException.inFile(path, "cannot read: " + e.getMessage());
            }
            parsed = parse(where, fileName, bytes, columnOrNull);
        }
        List<String> prompts = parsed.prompts();
        if (prompts.isEmpty()) throw fail(where, "no prompts (the dataset is empty)");
        int total = prompts.size();
        if (limitOrZero > 0 && limitOrZero < total) prompts = prompts.subList(0, limitOrZero);
        StringBuilder source = new StringBuilder(where);
        if (parsed.column() != null) source.append(" column ").append(parsed.column());
        source.append(" (sha256 ").append(parsed.sha256()).append(", ");
        if (prompts.size() < total) source.append("first ").append(prompts.size()).append(" of ");
        source.append(total).append(" rows)");
        return new Dataset(name, source.toString(), prompts);
    }

    private record Parsed(List<String> prompts, String column, String sha256) {}

    private static Parsed parse(String where, String fileName, byte[] bytes, String column) {
        String sha = sha256(bytes);
        String ext = fileName.contains(".") ? fileName.substring(fileName.lastIndexOf('.') + 1).toLowerCase(Locale.ROOT) : "";
        return switch (ext) {
            case "csv" -> {
                Csv.Row header;
                List<Csv.Row> rows;
                try {
                    rows = Csv.parse(decode(where, bytes));
                } catch (Csv.Malformed e) {
                    throw fail(where, "malformed CSV: " + e.getMessage());
                }
                if (rows.isEmpty()) throw fail(where, "no prompts (the file is empty)");
                header = rows.getFirst();
                String col = chooseColumn(where, header.fields(), column, "column");
                int index = header.fields().indexOf(col);
                List<String> prompts = new ArrayList<>();
                for (Csv.Row row : rows.subList(1, rows.size())) {
                    if (row.fields().size() != header.fields().size())
                        throw fail(where, "line " + row.line() + ": " + row.fields().size() + " fields, but the header has " + header.fields().size());
                    String value = row.fields().get(index);
                    if (value.isEmpty()) throw fail(where, "line " + row.line() + ": column '" + col + "' is empty");
                    prompts.add(value);
                }
                yield new Parsed(prompts, col, sha);
            }
            case "txt" -> {
                if (column != null) throw fail(where, "--column " + column + " given, but a .txt file has no columns (one prompt per line)");
                List<String> prompts = new ArrayList<>();
                for (String line : stripBom(decode(where, bytes)).split("\r?\n", -1)) if (!line.isBlank()) prompts.add(line);
                yield new Parsed(prompts, null, sha);
            }
            case "json" -> {
                JsonNode root;
                try {
                    root = JSON.readTree(bytes);
                } catch (JsonProcessingException e) {
                    if (e.getOriginalMessage().startsWith("Trailing token")) {
                        // Jackson's text names its DeserializationFeature: say what the file is instead
                        throw fail(where, "invalid JSON" + at(e.getLocation()) + ": more than one JSON value; a file with one JSON object per line "
                                + "is JSON Lines: name it .jsonl");
                    }
                    throw fail(where, "invalid JSON" + at(e.getLocation()) + ": " + e.getOriginalMessage());
                } catch (IOException e) {
                    throw fail(where, "cannot read JSON: " + e.getMessage());
                }
                if (root == null || root.isMissingNode()) throw fail(where, "no prompts (the file is empty)");
                if (!root.isArray()) throw fail(where, "expected a JSON array of strings or objects, found " + kind(root));
                List<JsonNode> items = new ArrayList<>();
                root.forEach(items::add);
                List<String> labels = new ArrayList<>();
                for (int k = 0; k < items.size(); k++) labels.add("element " + k);
                yield fromJsonValues(where, items, labels, column, sha);
            }
            case "jsonl" -> {
                List<JsonNode> items = new ArrayList<>();
                List<String> labels = new ArrayList<>();
                String[] lines = stripBom(decode(where, bytes)).split("\r?\n", -1);
                for (int k = 0; k < lines.length; k++) {
                    if (lines[k].isBlank()) continue;
                    try {
                        items.add(JSON.readTree(lines[k]));
                    } catch (JsonProcessingException e) {
                        throw fail(where, "line " + (k + 1) + ": invalid JSON: " + e.getOriginalMessage());
                    }
                    labels.add("line " + (k + 1));
                }
                yield fromJsonValues(where, items, labels, column, sha);
            }
            default -> throw fail(where, "unknown dataset file type '" + (ext.isEmpty() ? "(no extension)" : "." + ext)
                    + "'; expected .csv, .txt, .json or .jsonl (or builtin:" + String.join("|", BUILTINS.keySet()) + ")");
        };
    }

    /** Strings stay as they are; objects give their {@code column} field; all items must be of one kind. */
    private static Parsed fromJsonValues(String where, List<JsonNode> items, List<String> labels, String column, String sha) {
        if (items.isEmpty()) return new Parsed(List.of(), column, sha);
        boolean strings = items.getFirst().isTextual();
        if (strings && column != null) throw fail(where, "--column " + column + " given, but the items are plain strings, not objects");
        String col = null;
        if (!strings) {
            if (!items.getFirst().isObject()) throw fail(where, labels.getFirst() + ": expected a string or an object, found " + kind(items.getFirst()));
            List<String> fields = new ArrayList<>();
            items.getFirst().fieldNames().forEachRemaining(fields::add);
            col = chooseColumn(where + ": " + labels.getFirst(), fields, column, "field");
        }
        List<String> prompts = new ArrayList<>();
        for (int k = 0; k < items.size(); k++) {
            JsonNode item = items.get(k);
            JsonNode value;
            if (strings) {
                value = item;
                if (!item.isTextual()) throw fail(where, labels.get(k) + ": expected a string like the first item, found " + kind(item));
            } else {
                if (!item.isObject()) throw fail(where, labels.get(k) + ": expected an object like the first item, found " + kind(item));
                value = item.get(col);
                if (value == null) throw fail(where, labels.get(k) + ": no field '" + col + "'");
                if (!value.isTextual()) throw fail(where, labels.get(k) + ": field '" + col + "' is " + kind(value) + ", not a string");
            }
            if (value.textValue().isEmpty()) throw fail(where, labels.get(k) + ": empty prompt");
            prompts.add(value.textValue());
        }
        return new Parsed(prompts, col, sha);
    }

    private static String chooseColumn(String where, List<String> available, String wanted, String what) {
        if (wanted != null) {
            if (available.contains(wanted)) return wanted;
            throw fail(where, "no " + what + " '" + wanted + "'; available: " + quoted(available));
        }
        for (String c : DEFAULT_COLUMNS) if (available.contains(c)) return c;
        for (String c : DEFAULT_COLUMNS)
            for (String a : available) if (a.equalsIgnoreCase(c)) return a;
        if (available.size() == 1) return available.getFirst();
        throw fail(where, "none of the usual prompt " + what + "s (" + String.join(", ", DEFAULT_COLUMNS)
                + ") is present; choose one with --column; available: " + quoted(available));
    }

    private static String quoted(List<String> names) {
        List<String> q = new ArrayList<>();
        for (String s : names) q.add("'" + s + "'");
        return q.isEmpty() ? "(none)" : String.join(", ", q);
    }

    private static String kind(JsonNode n) {
        return switch (n.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT, POJO -> "an object";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            case STRING -> "a string";
            default -> "a " + n.getNodeType().name().toLowerCase(Locale.ROOT);
        };
    }

    private static String at(JsonLocation loc) {
        if (loc == null || loc.getLineNr() < 1) return "";
        return " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
    }

    private static String decode(String where, byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw fail(where, "not valid UTF-8 text");
        }
    }

    private static String stripBom(String s) { return s.startsWith("\uFEFF") ? s.substring(1) : s; }

    private static byte[] readResource(String where, String resource) {
        try (InputStream in = Datasets.class.getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("built-in resource missing from the jar: " + resource + " (" + where + ")");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read built-in resource " + resource, e);
        }
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static SaharaException fail(String where, String problem) {
        return new SaharaException(where + ": " + problem);
    }
}
