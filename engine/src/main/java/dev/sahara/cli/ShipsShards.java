package dev.sahara.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.ablate.HeadId;
import dev.sahara.attribution.AttributionSettings;
import dev.sahara.attribution.Shard;
import dev.sahara.cli.options.Workload;
import dev.sahara.model.Json;
import dev.sahara.model.ModelConfig;
import dev.sahara.report.CandidateLog;
import dev.sahara.report.ResultFiles;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Sharded query-level Ships (docs/SCALE.md): {@code ships --shard K/N} scores its part of the heads (the same
 * partition as a sweep's) for every prompt and writes {@code ships_shard.json} at the end — the run's settings
 * and their hash, the shard's identity, its command line, and per head the KL of every prompt as exact IEEE-754
 * bits. ships is not resumable, so neither is its shard: a killed one runs again. {@code merge} checks the shards
 * as it checks a sweep's and finishes with {@code ships <args> --out RUN --scores-from <merged scores>}, which
 * writes the files of an unsharded run from the merged scores.
 */
final class ShipsShards {
    static final String FILE = "ships_shard.json";
    private static final int VERSION = 1;

    private ShipsShards() {}

    static ObjectNode runSettings(Workload w, AttributionSettings s) {
        return RunRecord.settings(w, s, Json.MAPPER.createObjectNode().put("official_kl", s.officialKl()));
    }

    static String hash(ObjectNode run) { return CandidateLog.header("ships", run).path("settings_sha256").asText(); }

    /** The shard's (or, without {@code shard}, the merged) scores file. */
    static ObjectNode file(ObjectNode run, Shard shard, ModelConfig c, int prompts, Map<HeadId, double[]> scores, List<String> args) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("sahara_ships_shard", VERSION);
        o.put("command", "ships");
        o.put("settings_sha256", hash(run));
        o.set("settings", run);
        ObjectNode id = o.putObject("shard");
        if (shard != null) {
            id.put("index", shard.index());
            id.put("count", shard.count());
        }
        id.put("layers", c.numLayers());
        id.put("heads", c.numHeads());
        id.put("prompts", prompts);
        ArrayNode a = o.putArray("args");
        args.forEach(a::add);
        ObjectNode sc = o.putObject("scores");
        new TreeMap<>(scores).forEach((h, v) -> {
            ArrayNode bits = sc.putArray(h.label());
            for (double x : v) bits.add(HexFormat.of().toHexDigits(Double.doubleToRawLongBits(x)));
        });
        return o;
    }

    /** One shard read back: identity, settings hash and scores. */
    record Read(Path dir, Path file, JsonNode root, Shard shard, int layers, int heads, int prompts, String runHash, Map<HeadId, double[]> scores) {}

    static Read read(Path dir) {
        Path f = dir.resolve(FILE);
        JsonNode o = Json.readObject(f);
        if (o.path("sahara_ships_shard").asInt(-1) != VERSION) throw SaharaException.inFile(f, "not a ships shard file");
        JsonNode id = o.path("shard");
        int layers = id.path("layers").asInt(0), heads = id.path("heads").asInt(0), prompts = id.path("prompts").asInt(0);
        if (layers < 1 || heads < 1 || prompts < 1) throw SaharaException.inFile(f, "damaged shard identity " + id);
        Shard shard = null;
        if (id.has("index")) {
            try {
                shard = new Shard(id.path("index").asInt(-1), id.path("count").asInt(0));
            } catch (SaharaException e) {
                throw SaharaException.inFile(f, "damaged shard identity " + id);
            }
        }
        ObjectNode run = (ObjectNode) o.path("settings");
        if (!hash(run).equals(o.path("settings_sha256").asText())) throw SaharaException.inFile(f, "damaged: its settings do not match their hash");
        Map<HeadId, double[]> scores = new HashMap<>();
        for (var it = o.path("scores").properties().iterator(); it.hasNext(); ) {
            var e = it.next();
            HeadId h;
            try {
                h = HeadId.parse(e.getKey());
            } catch (SaharaException ex) {
                throw SaharaException.inFile(f, "bad head " + e.getKey());
            }
            if (e.getValue().size() != prompts) throw SaharaException.inFile(f, h.label() + " has " + e.getValue().size() + " scores for " + prompts + " prompts");
            double[] v = new double[prompts];
            for (int p = 0; p < prompts; p++) {
                try {
                    v[p] = Double.longBitsToDouble(Long.parseUnsignedLong(e.getValue().get(p).asText(), 16));
                } catch (NumberFormatException ex) {
                    throw SaharaException.inFile(f, h.label() + ": bits '" + e.getValue().get(p).asText() + "' are not hexadecimal");
                }
            }
            scores.put(h, v);
        }
        return new Read(dir, f, o, shard, layers, heads, prompts, hash(run), scores);
    }

    /** The merged scores a {@code --scores-from} run uses, refused unless written for exactly this run. */
    static double[][][] readMerged(Path file, ObjectNode run, ModelConfig c, int prompts) {
        Read r = read(file.getParent());
        if (!r.file().equals(file)) throw SaharaException.inFile(file, "--scores-from takes a " + FILE);
        if (!r.runHash().equals(hash(run))) {
            throw SaharaException.inFile(file, "was written for other settings (" + CandidateLog.header("ships", run).path("settings") + ")");
        }
        if (r.layers() != c.numLayers() || r.heads() != c.numHeads() || r.prompts() != prompts) throw SaharaException.inFile(file, "other model shape or prompt count");
        double[][][] s = new double[prompts][c.numLayers()][c.numHeads()];
        for (int l = 0; l < c.numLayers(); l++) {
            for (int h = 0; h < c.numHeads(); h++) {
                double[] v = r.scores().get(new HeadId(l, h));
                if (v == null) throw SaharaException.inFile(file, "lacks L" + l + "H" + h);
                for (int p = 0; p < prompts; p++) s[p][l][h] = v[p];
            }
        }
        return s;
    }

    /** merge for ships shards: checks them, then finishes the unsharded run from the merged scores. */
    static int merge(CommandSpec spec, List<Path> dirs, Path out, boolean noFinish) {
        List<Read> shards = new ArrayList<>();
        for (Path d : dirs) {
            if (!Files.isRegularFile(d.resolve(FILE))) {
                throw SaharaException.inFile(d, "not a ships shard folder (no " + FILE + "): a ships shard that did not finish runs again; "
                        + "merge takes the shards of one command");
            }
            Read r = read(d);
            if (r.shard() == null) throw SaharaException.inFile(r.file(), "a merged file, not a shard's");
            shards.add(r);
        }
        Read first = shards.getFirst();
        int count = first.shard().count();
        for (Read r : shards) {
            if (!r.runHash().equals(first.runHash())) {
                throw SaharaException.inFile(r.file(), "foreign shard: other settings or inputs than " + first.dir() + " ("
                        + firstDifference(first.root().path("settings"), r.root().path("settings")) + ")");
            }
            if (r.layers() != first.layers() || r.heads() != first.heads() || r.prompts() != first.prompts()) {
                throw SaharaException.inFile(r.file(), "foreign shard: another model shape or prompt count than " + first.dir());
            }
            if (r.shard().count() != count) {
                throw new SaharaException(r.dir() + ": gap or foreign shard: shard " + r.shard().label() + ", but " + first.dir() + " is a shard of " + count);
            }
        }
        int[][] owner = Shard.partition(first.layers(), first.heads(), List.of(), true, count);
        Map<HeadId, double[]> merged = new HashMap<>();
        Map<HeadId, Path> where = new HashMap<>();
        TreeMap<Integer, Read> byIndex = new TreeMap<>();
        for (Read r : shards) {
            byIndex.putIfAbsent(r.shard().index(), r);
            for (var e : new TreeMap<>(r.scores()).entrySet()) {
                HeadId h = e.getKey();
                if (h.layer() >= first.layers() || h.head() >= first.heads() || owner[h.layer()][h.head()] != r.shard().index()) {
                    throw SaharaException.inFile(r.file(), "foreign or damaged shard: " + h.label() + " is not shard " + r.shard().label() + "'s head");
                }
                double[] was = merged.get(h);
                if (was != null) {
                    boolean same = true;
                    for (int p = 0; p < was.length; p++) same &= Double.doubleToRawLongBits(was[p]) == Double.doubleToRawLongBits(e.getValue()[p]);
                    throw SaharaException.inFile(r.file(), (same ? "duplicate: " + h.label() + " is also in " : "conflicting scores: " + h.label() + " differs from ")
                            + where.get(h));
                }
                merged.put(h, e.getValue());
                where.put(h, r.file());
            }
        }
        for (int k = 0; k < count; k++) {
            if (!byIndex.containsKey(k)) {
                throw new SaharaException("gap: ships shard " + k + "/" + count + " is missing (shards given: "
                        + byIndex.keySet().stream().map(i -> i + "/" + count).collect(Collectors.joining(", ")) + ")");
            }
        }
        for (int l = 0; l < first.layers(); l++) {
            for (int h = 0; h < first.heads(); h++) {
                if (!merged.containsKey(new HeadId(l, h))) {
                    Read r = byIndex.get(owner[l][h]);
                    throw SaharaException.inFile(r.file(), "gap: shard " + r.shard().label() + " lacks L" + l + "H" + h + " (damaged; run the shard again)");
                }
            }
        }
        ResultFiles.prepareDir(out);
        PrintWriter pw = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        Path scores;
        try {
            scores = Files.createTempDirectory("sahara-ships-merge").resolve(FILE);
        } catch (IOException e) {
            throw new SaharaException("cannot create a temporary folder: " + e.getMessage());
        }
        try {
            ObjectNode m = first.root().deepCopy();
            ((ObjectNode) m.path("shard")).remove(List.of("index", "count"));
            ObjectNode sc = m.putObject("scores");
            new TreeMap<>(merged).forEach((h, v) -> {
                ArrayNode bits = sc.putArray(h.label());
                for (double x : v) bits.add(HexFormat.of().toHexDigits(Double.doubleToRawLongBits(x)));
            });
            ResultFiles.writeJson(scores, m);
            if (noFinish) {
                ResultFiles.writeJson(out.resolve(FILE), m);
                pw.println("merged " + shards.size() + " ships shard(s) into " + out.resolve(FILE) + " (finish with: ships <options> --out RUN --scores-from that file)");
                pw.flush();
                return 0;
            }
            List<String> args = new ArrayList<>();
            args.add("ships");
            for (JsonNode a : first.root().path("args")) args.add(a.asText());
            args.add("--out");
            args.add(out.toString());
            args.add("--scores-from");
            args.add(scores.toString());
            err.println("merge: " + merged.size() + " heads × " + first.prompts() + " prompts from " + shards.size() + " ships shard(s); finishing: " + String.join(" ", args));
            err.flush();
            return SaharaCommand.newCommandLine(pw, err, SaharaCommand.listener(spec)).execute(args.toArray(String[]::new));
        } finally {
            try {
                Files.deleteIfExists(scores);
                Files.deleteIfExists(scores.getParent());
            } catch (IOException e) {
                // a leftover temporary file is harmless
            }
        }
    }

    private static String firstDifference(JsonNode a, JsonNode b) {
        for (var it = b.properties().iterator(); it.hasNext(); ) {
            var e = it.next();
            JsonNode old = a.get(e.getKey());
            if (!e.getValue().equals(old)) return e.getKey() + ": " + (old == null ? "absent" : old) + " there, " + e.getValue() + " here";
        }
        return "the settings hash differs";
    }
}
