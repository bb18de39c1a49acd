package dev.sahara.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.ablate.HeadId;
import dev.sahara.attribution.Sahara;
import dev.sahara.model.Json;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.stream.Stream;

/**
 * The append-only log of a resumable run, {@code candidates.jsonl} in the output folder. Line 1 is a header
 * {@code {"sahara_candidates":1,"command":...,"settings_sha256":...,"settings":{...}}} naming every setting and
 * input that decides the scores (model files, tokenized prompts, mode, ε, r_main, group size, ...); then one
 * line per finished candidate {@code {"step":1,"head":"L0H1","score":12.5,"bits":"4029000000000000"}} — the
 * score's exact IEEE-754 bits, so a resumed run reuses exactly the number it computed. Each line is written
 * with one {@code write} and flushed; a last line cut short by a kill (no newline) is dropped on resume.
 * Resuming refuses a log whose settings differ, naming the first setting that does.
 */
public final class CandidateLog implements Sahara.Memo, AutoCloseable {
    public static final String FILE = "candidates.jsonl";
    private static final int VERSION = 1;

    private final Path file;
    private final FileChannel out;
    private final Map<String, Double> known;
    private int reused;

    private CandidateLog(Path file, FileChannel out, Map<String, Double> known) {
        this.file = file;
        this.out = out;
        this.known = known;
    }

    /** One finished candidate as a log line holds it. */
    public record Entry(int step, HeadId head, double score) {}

    /** A log as read from disk: its header, its complete candidate lines in file order, and their byte length. */
    public record Contents(Path file, JsonNode header, List<Entry> entries, long completeBytes) {
        public String command() { return header.path("command").asText(); }

        public JsonNode settings() { return header.path("settings"); }
    }

    /** The header line of a log with these settings. */
    public static ObjectNode header(String command, ObjectNode settings) {
        ObjectNode header = Json.MAPPER.createObjectNode();
        header.put("sahara_candidates", VERSION);
        header.put("command", command);
        header.put("settings_sha256", sha256(settings.toString().getBytes(StandardCharsets.UTF_8)));
        header.set("settings", settings);
        return header;
    }

    /**
     * Opens the log of {@code dir}: with {@code resume}, reads the finished candidates of an earlier run with
     * the same settings (refusing other settings or a missing log); without, starts a new log.
     */
    public static CandidateLog open(Path dir, String command, ObjectNode settings, boolean resume) {
        Path file = dir.resolve(FILE);
        ObjectNode header = header(command, settings);
        Map<String, Double> known = new HashMap<>();
        try {
            if (resume) {
                if (!Files.isRegularFile(file)) {
                    throw SaharaException.inFile(file, "missing: nothing to resume (--resume needs the output folder of an interrupted run)");
                }
                Contents c = read(file);
                checkSame(c, header, "resume with the same options and inputs, or start over without --resume");
                for (Entry e : c.entries()) known.put(key(e.step(), e.head()), e.score());
                FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE);
                ch.truncate(c.completeBytes());  // drop a last line cut short by a kill
                ch.position(c.completeBytes());
                return new CandidateLog(file, ch, known);
            }
            FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING);
            CandidateLog log = new CandidateLog(file, ch, known);
            log.append(header.toString());
            return log;
        } catch (IOException e) {
            throw SaharaException.inFile(file, "cannot write: " + e.getMessage());
        }
    }

    /**
     * The scores of another run's log (a merge of shards), read-only, refused unless it was written by {@code command}
     * with exactly {@code settings}.
     */
    public static Sahara.Memo readOnly(Path file, String command, ObjectNode settings) {
        if (!Files.isRegularFile(file)) throw SaharaException.inFile(file, "missing (--group-from takes the folder a merge wrote)");
        Contents c = read(file);
        checkSame(c, header(command, settings), "merge the shards of this very run (same options and inputs) into it");
        Map<String, Double> known = new HashMap<>();
        for (Entry e : c.entries()) known.put(key(e.step(), e.head()), e.score());
        return new Sahara.Memo() {
            @Override
            public OptionalDouble known(int step, HeadId head) {
                Double v = known.get(key(step, head));
                return v == null ? OptionalDouble.empty() : OptionalDouble.of(v);
            }

            @Override
            public void finished(int step, HeadId head, double score) { throw new IllegalStateException("read-only log"); }
        };
    }

    private static void checkSame(Contents c, ObjectNode expected, String advice) {
        Path file = c.file();
        if (!c.command().equals(expected.get("command").asText())) {
            throw SaharaException.inFile(file, "was written by '" + c.command() + "', not '" + expected.get("command").asText()
                    + "'; resume with the same command or choose another --out");
        }
        if (!c.header().path("settings_sha256").asText().equals(expected.get("settings_sha256").asText())) {
            throw SaharaException.inFile(file, "was written with different settings (" + firstDifference(c.settings(), expected.get("settings"))
                    + "); " + advice);
        }
    }

    /** Reads a log's header and complete lines (a last line cut short by a kill is left out). */
    public static Contents read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw SaharaException.inFile(file, "cannot read: " + e.getMessage());
        }
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] != '\n') end--;       // a partial last line
        String text = new String(bytes, 0, end, StandardCharsets.UTF_8);
        List<String> lines = text.isEmpty() ? List.of() : List.of(text.substring(0, text.length() - 1).split("\n", -1));
        if (lines.isEmpty()) throw SaharaException.inFile(file, "has no complete header line; start the run again without --resume");
        JsonNode header = parseLine(file, 1, lines.getFirst());
        if (header.path("sahara_candidates").asInt(-1) != VERSION) {
            throw SaharaException.inFile(file, "not a Sahara candidates log (version " + header.path("sahara_candidates") + "); start again without --resume");
        }
        List<Entry> entries = new ArrayList<>();
        for (int i = 1; i < lines.size(); i++) {
            JsonNode n = parseLine(file, i + 1, lines.get(i));
            HeadId head;
            try {
                head = HeadId.parse(n.path("head").asText());
            } catch (SaharaException e) {
                throw SaharaException.inFile(file, "line " + (i + 1) + ": bad head " + n.path("head"));
            }
            int step = n.path("step").asInt(0);
            String bits = n.path("bits").asText("");
            if (step < 1 || bits.length() != 16) throw SaharaException.inFile(file, "line " + (i + 1) + ": needs step >= 1 and 16 hex digits of bits");
            double score;
            try {
                score = Double.longBitsToDouble(Long.parseUnsignedLong(bits, 16));
            } catch (NumberFormatException e) {
                throw SaharaException.inFile(file, "line " + (i + 1) + ": bits '" + bits + "' are not hexadecimal");
            }
            entries.add(new Entry(step, head, score));
        }
        return new Contents(file, header, List.copyOf(entries), end);
    }

    /**
     * Writes a whole log at once (temporary file + rename): what an uninterrupted run with {@code settings} writes when
     * it finishes {@code entries} in this order, byte for byte. The merge of shards uses it.
     */
    public static void write(Path dir, String command, ObjectNode settings, List<Entry> entries) {
        StringBuilder sb = new StringBuilder(header(command, settings).toString()).append('\n');
        for (Entry e : entries) sb.append(line(e.step(), e.head(), e.score())).append('\n');
        ResultFiles.writeString(dir.resolve(FILE), sb.toString());
    }

    private static JsonNode parseLine(Path file, int line, String text) {
        try {
            JsonNode n = Json.MAPPER.readTree(text);
            if (n != null && n.isObject()) return n;
        } catch (IOException e) {
            // fall through
        }
        throw SaharaException.inFile(file, "line " + line + " is not a JSON object (the log is damaged); start again without --resume");
    }

    /** "key: A there, B now" for the first setting that differs. */
    static String firstDifference(JsonNode was, JsonNode now) {
        for (Iterator<Map.Entry<String, JsonNode>> it = now.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode old = was.get(e.getKey());
            if (!e.getValue().equals(old)) return e.getKey() + ": " + (old == null ? "absent" : old) + " there, " + e.getValue() + " now";
        }
        for (Iterator<String> it = was.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!now.has(k)) return k + ": " + was.get(k) + " there, absent now";
        }
        return "the settings hash differs";
    }

    private static String key(int step, HeadId head) { return step + "/" + head.label(); }

    /** How many scores this run took from the log instead of computing them. */
    public int reused() { return reused; }

    /** Finished candidates read from the log. */
    public int loaded() { return known.size(); }

    @Override
    public OptionalDouble known(int step, HeadId head) {
        Double v = known.get(key(step, head));
        if (v == null) return OptionalDouble.empty();
        reused++;
        return OptionalDouble.of(v);
    }

    @Override
    public void finished(int step, HeadId head, double score) {
        known.put(key(step, head), score);
        append(line(step, head, score));
    }

    /** One candidate's line (without the newline). */
    static String line(int step, HeadId head, double score) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("step", step);
        n.put("head", head.label());
        n.put("score", score);
        n.put("bits", String.format("%016x", Double.doubleToRawLongBits(score)));
        return n.toString();
    }

    private void append(String line) {
        try {
            ByteBuffer buf = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
            while (buf.hasRemaining()) out.write(buf);
        } catch (IOException e) {
            throw SaharaException.inFile(file, "cannot write: " + e.getMessage());
        }
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw SaharaException.inFile(file, "cannot close: " + e.getMessage());
        }
    }

    // ---- fingerprints of the inputs ----

    /**
     * A fingerprint of a model folder: the sha256 of every JSON file and, for each safetensors file, of its
     * size, its whole header and 64 KiB sampled at 16 evenly spaced places of the tensor data (hashing all of a
     * 13 GB checkpoint would take longer than many runs; the header and samples catch another checkpoint).
     */
    public static String modelFingerprint(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                String name = f.getFileName().toString();
                if (name.endsWith(".json")) {
                    md.update(name.getBytes(StandardCharsets.UTF_8));
                    md.update(Files.readAllBytes(f));
                } else if (name.endsWith(".safetensors")) {
                    md.update(name.getBytes(StandardCharsets.UTF_8));
                    sampleSafetensors(f, md);
                }
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw SaharaException.inFile(dir, "cannot read: " + e.getMessage());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void sampleSafetensors(Path f, MessageDigest md) throws IOException {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            long size = ch.size();
            md.update(ByteBuffer.allocate(8).putLong(size).flip());
            long headerLen = 0;
            if (size >= 8) {
                ByteBuffer b = ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                ch.read(b, 0);
                headerLen = Math.max(0, Math.min(b.flip().getLong(), size - 8));
            }
            long start = Math.min(size, 8 + headerLen);
            md.update(readAt(ch, 0, (int) Math.min(start, 100L << 20)));
            long data = size - start;
            int chunk = 4096;
            for (int i = 0; i < 16 && data > 0; i++) {
                long at = start + (data - Math.min(chunk, data)) * i / 15;
                md.update(readAt(ch, at, (int) Math.min(chunk, data)));
            }
        }
    }

    private static ByteBuffer readAt(FileChannel ch, long at, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining() && ch.read(b, at + b.position()) >= 0) { }
        return b.flip();
    }

    /** sha256 of every prompt's token ids, in order (covers dataset, prompt format, system prompt and tokenizer). */
    public static String tokensFingerprint(List<int[]> prompts) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            ByteBuffer b = ByteBuffer.allocate(4);
            for (int[] p : prompts) {
                md.update(b.clear().putInt(p.length).flip());
                for (int t : p) md.update(b.clear().putInt(t).flip());
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
