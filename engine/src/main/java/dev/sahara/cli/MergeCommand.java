package dev.sahara.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.ablate.HeadId;
import dev.sahara.attribution.GreedyGroupSearch;
import dev.sahara.attribution.Shard;
import dev.sahara.cli.options.OutputOptions;
import dev.sahara.model.Json;
import dev.sahara.report.CandidateLog;
import dev.sahara.report.ResultFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/**
 * {@code merge SHARD_DIR... --out RUN}: the shards of a sharded sweep or attribute (docs/SCALE.md) become the log an
 * unsharded run would have written, byte for byte — then, once every step is there, that run is finished from
 * the log ({@code <command> <the shards' options> --resume RUN}: every score is reused, only the summaries and, for
 * attribute, the ASR are computed), so RUN holds the files of an unsharded run; only timings.json differs.
 * Before writing anything it checks that every shard has the same settings and inputs (the settings hash), that
 * each step's shards 0..N-1 are all there and finished, that every candidate appears exactly once with one score
 * and in the shard the partition gives it, and that each step was scored with the group the earlier steps pick;
 * otherwise one line names the shard.
 */
@Command(name = "merge", description = "Merge the shard folders of a sharded sweep or attribute (every shard of steps 1..S) into RUN: the log of an unsharded run, "
        + "and, when every step is there, its result files.")
public final class MergeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "SHARD_DIR", description = "Shard folders (--out of each 'sweep/attribute --shard K/N'), of every step merged so far.")
    List<Path> shardDirs;

    @Option(names = "--out", paramLabel = "RUN", required = true, description = "The merged run's folder.")
    Path out;

    @Option(names = "--no-finish", description = "Only write the merged candidates.jsonl, even when every step is there.")
    boolean noFinish;

    /** A shard folder as read: its log, its identity, and the run's settings (the log's, without the shard's identity). */
    record ShardLog(Path dir, CandidateLog.Contents log, int step, Shard shard, int layers, int heads, List<HeadId> groupBefore,
                    ObjectNode runSettings, String runHash, JsonNode done) {
        Path logFile() { return log.file(); }
    }

    @Override
    public Integer call() {
        Path d0 = shardDirs.getFirst();
        if (Files.isRegularFile(d0.resolve(ShipsShards.FILE)) && !Files.isRegularFile(d0.resolve(CandidateLog.FILE))) {
            return ShipsShards.merge(spec, shardDirs, out, noFinish);
        }
        List<ShardLog> shards = new ArrayList<>();
        for (Path d : shardDirs) shards.add(read(d));
        Path outNorm = out.toAbsolutePath().normalize();
        for (ShardLog s : shards) {
            if (s.dir().toAbsolutePath().normalize().equals(outNorm)) throw new SaharaException("--out " + out + ": is one of the shard folders; merge into another folder");
        }
        ShardLog first = shards.getFirst();
        String command = first.log().command();
        for (ShardLog s : shards) {
            if (!s.log().command().equals(command)) {
                throw SaharaException.inFile(s.logFile(), "foreign shard: written by '" + s.log().command() + "', " + first.dir() + " by '" + command + "'");
            }
            if (!s.runHash().equals(first.runHash())) {
                throw SaharaException.inFile(s.logFile(), "foreign shard: other settings or inputs than " + first.dir() + " ("
                        + firstDifference(first.runSettings(), s.runSettings()) + ")");
            }
            if (s.layers() != first.layers() || s.heads() != first.heads()) {
                throw SaharaException.inFile(s.logFile(), "foreign shard: a model of " + s.layers() + "×" + s.heads() + " heads, " + first.dir() + " has "
                        + first.layers() + "×" + first.heads());
            }
        }
        int totalSteps = command.equals("attribute") ? first.runSettings().path("group_size").asInt(1) : 1;
        TreeMap<Integer, List<ShardLog>> bySteps = new TreeMap<>();
        for (ShardLog s : shards) {
            if (s.step() > totalSteps) throw SaharaException.inFile(s.logFile(), "foreign shard: step " + s.step() + " of a run with " + totalSteps + " step(s)");
            bySteps.computeIfAbsent(s.step(), k -> new ArrayList<>()).add(s);
        }
        int lastStep = bySteps.lastKey();
        for (int step = 1; step <= lastStep; step++) {
            if (!bySteps.containsKey(step)) {
                throw new SaharaException("step " + step + ": no shard folder given (steps given: " + bySteps.keySet().stream().map(String::valueOf)
                        .collect(Collectors.joining(", ")) + "); give the shards of every step from 1 to the last");
            }
        }

        boolean prefixReuse = first.runSettings().path("prefix_reuse").asBoolean(true);
        List<CandidateLog.Entry> merged = new ArrayList<>();
        List<HeadId> group = new ArrayList<>();
        for (int step = 1; step <= lastStep; step++) {
            List<ShardLog> ofStep = bySteps.get(step);
            int count = ofStep.getFirst().shard().count();
            for (ShardLog s : ofStep) {
                if (s.shard().count() != count) {
                    throw new SaharaException(s.dir() + ": gap or foreign shard: shard " + s.shard().label() + " of step " + step + ", but "
                            + ofStep.getFirst().dir() + " is a shard of " + count + "; every shard of a step must be of the same N");
                }
                if (!s.groupBefore().equals(group)) {
                    throw SaharaException.inFile(s.logFile(), "foreign shard: scored step " + step + " after the group " + labels(s.groupBefore())
                            + ", but the merged scores of steps 1.." + (step - 1) + " pick " + labels(group));
                }
            }
            int[][] owner = Shard.partition(first.layers(), first.heads(), group, prefixReuse, count);
            Map<HeadId, Double> scores = new HashMap<>();
            Map<HeadId, Path> where = new HashMap<>();
            Map<Integer, ShardLog> byIndex = new TreeMap<>();
            for (ShardLog s : ofStep) {
                byIndex.putIfAbsent(s.shard().index(), s);
                for (CandidateLog.Entry e : s.log().entries()) {
                    if (e.step() != step) {
                        throw SaharaException.inFile(s.logFile(), "foreign or damaged shard: a line of step " + e.step() + " in a shard of step " + step);
                    }
                    HeadId h = e.head();
                    if (h.layer() >= first.layers() || h.head() >= first.heads()) {
                        throw SaharaException.inFile(s.logFile(), "foreign or damaged shard: " + h.label() + " is not a head of a " + first.layers() + "×" + first.heads() + " model");
                    }
                    if (owner[h.layer()][h.head()] != s.shard().index()) {
                        throw SaharaException.inFile(s.logFile(), "foreign or damaged shard: " + h.label() + " of step " + step + " is "
                                + (owner[h.layer()][h.head()] < 0 ? "in the group, not a candidate" : "shard " + owner[h.layer()][h.head()] + "/" + count + "'s candidate")
                                + ", not shard " + s.shard().label() + "'s");
                    }
                    Double was = scores.get(h);
                    if (was != null) {
                        if (Double.doubleToRawLongBits(was) == Double.doubleToRawLongBits(e.score())) {
                            throw SaharaException.inFile(s.logFile(), "duplicate: " + h.label() + " of step " + step + " is also in " + where.get(h)
                                    + " (give each shard once)");
                        }
                        throw SaharaException.inFile(s.logFile(), String.format(Locale.ROOT, "conflicting scores: %s of step %d is %s here and %s in %s",
                                h.label(), step, e.score(), was, where.get(h)));
                    }
                    scores.put(h, e.score());
                    where.put(h, s.logFile());
                }
            }
            for (int k = 0; k < count; k++) {
                if (!byIndex.containsKey(k)) {
                    throw new SaharaException("step " + step + ": gap: shard " + k + "/" + count + " is missing (give its folder; shards given: "
                            + byIndex.keySet().stream().map(i -> i + "/" + count).collect(Collectors.joining(", ")) + ")");
                }
            }
            double[][] table = new double[first.layers()][first.heads()];
            for (int l = 0; l < first.layers(); l++) {
                for (int h = 0; h < first.heads(); h++) {
                    HeadId id = new HeadId(l, h);
                    if (owner[l][h] < 0) {
                        table[l][h] = Double.NaN;
                        continue;
                    }
                    Double v = scores.get(id);
                    if (v == null) {
                        ShardLog s = byIndex.get(owner[l][h]);
                        int missing = 0, of = 0;
                        for (int ll = 0; ll < first.layers(); ll++) {
                            for (int hh = 0; hh < first.heads(); hh++) {
                                if (owner[ll][hh] == s.shard().index()) {
                                    of++;
                                    if (!scores.containsKey(new HeadId(ll, hh))) missing++;
                                }
                            }
                        }
                        throw SaharaException.inFile(s.logFile(), "gap: shard " + s.shard().label() + " of step " + step + " lacks " + missing + " of its " + of
                                + " candidates (first: " + id.label() + "); run it again with --resume " + s.dir());
                    }
                    table[l][h] = v;
                    merged.add(new CandidateLog.Entry(step, id, v));
                }
            }
            group.add(GreedyGroupSearch.pick(table));
        }

        ResultFiles.prepareDir(out);
        ResultFiles.removeStaleTemporaries(out);
        CandidateLog.write(out, command, first.runSettings(), merged);
        PrintWriter pw = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        String groupText = command.equals("attribute") ? "; group so far: " + labels(group) : "";
        if (lastStep < totalSteps || noFinish) {
            OutputOptions.printSummary(pw, "merged " + shards.size() + " shard(s), steps 1.." + lastStep + " of " + totalSteps + groupText
                    + (lastStep < totalSteps ? "; next: the shards of step " + (lastStep + 1) + " with --group-from " + out : "") + "\n", out);
            return 0;
        }
        // every step is there: finish as the unsharded run would, from the merged log
        ShardLog last = bySteps.get(lastStep).getFirst();
        List<String> args = new ArrayList<>();
        args.add(command);
        for (JsonNode a : last.done().path("args")) args.add(a.asText());
        args.add("--resume");
        args.add(out.toString());
        err.println("merge: " + merged.size() + " candidates from " + shards.size() + " shard(s)" + groupText + "; finishing: " + String.join(" ", args));
        err.flush();
        int code = SaharaCommand.newCommandLine(pw, err, SaharaCommand.listener(spec)).execute(args.toArray(String[]::new));
        if (code != 0) return code;
        addShardTimings(shards);
        return 0;
    }

    /** timings.json of the finished run also lists each shard's own time (for planning: docs/SCALE.md). */
    private void addShardTimings(List<ShardLog> shards) {
        Path f = out.resolve("timings.json");
        if (!Files.isRegularFile(f)) return;
        ObjectNode t = (ObjectNode) Json.readObject(f);
        ArrayNode a = t.putArray("shards");
        for (ShardLog s : shards) {
            ObjectNode o = a.addObject();
            o.put("step", s.step());
            o.put("shard", s.shard().label());
            o.put("folder", s.dir().toString());
            Path st = s.dir().resolve("timings.json");
            JsonNode shardTimings = Files.isRegularFile(st) ? Json.readObject(st) : null;
            if (shardTimings != null) {
                o.put("candidates", shardTimings.path("candidates").asInt());
                o.put("seconds", shardTimings.path("timings_seconds").path("shard").asDouble());
                o.put("threads", shardTimings.path("threads").asInt());
            }
        }
        ResultFiles.writeJson(f, t);
    }

    private static ShardLog read(Path dir) {
        if (!Files.isDirectory(dir)) throw SaharaException.inFile(dir, "not a folder (merge takes the --out folders of the shards)");
        Path file = dir.resolve(CandidateLog.FILE);
        if (!Files.isRegularFile(file)) throw SaharaException.inFile(file, "missing: not a shard folder");
        CandidateLog.Contents log = CandidateLog.read(file);
        JsonNode shard = log.settings().path("shard");
        if (!shard.isObject()) throw SaharaException.inFile(file, "not a shard's log (no settings.shard: an unsharded run wrote it)");
        Shard id;
        try {
            id = new Shard(shard.path("index").asInt(-1), shard.path("count").asInt(0));
        } catch (SaharaException e) {
            throw SaharaException.inFile(file, "damaged shard identity " + shard);
        }
        int step = shard.path("step").asInt(0), layers = shard.path("layers").asInt(0), heads = shard.path("heads").asInt(0);
        if (step < 1 || layers < 1 || heads < 1) throw SaharaException.inFile(file, "damaged shard identity " + shard);
        List<HeadId> before = new ArrayList<>();
        for (JsonNode h : shard.path("group_before")) before.add(HeadId.parse(h.asText()));
        Path doneFile = dir.resolve(CandidateLog.SHARD_DONE);
        if (!Files.isRegularFile(doneFile)) {
            throw SaharaException.inFile(dir, "gap: shard " + id.label() + " of step " + step + " is not finished (no " + CandidateLog.SHARD_DONE
                    + "); run it again with --resume " + dir);
        }
        JsonNode done = Json.readObject(doneFile);
        ObjectNode run = ((ObjectNode) log.settings()).deepCopy();
        run.remove("shard");
        String hash = CandidateLog.header(log.command(), run).path("settings_sha256").asText();
        return new ShardLog(dir, log, step, id, layers, heads, List.copyOf(before), run, hash, done);
    }

    private static String firstDifference(JsonNode a, JsonNode b) {
        for (var it = b.properties().iterator(); it.hasNext(); ) {
            var e = it.next();
            JsonNode old = a.get(e.getKey());
            if (!e.getValue().equals(old)) return e.getKey() + ": " + (old == null ? "absent" : old) + " there, " + e.getValue() + " here";
        }
        for (var it = a.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!b.has(k)) return k + ": " + a.get(k) + " there, absent here";
        }
        return "the settings hash differs";
    }

    private static String labels(List<HeadId> heads) { return heads.stream().map(HeadId::label).collect(Collectors.joining(", ", "[", "]")); }
}
