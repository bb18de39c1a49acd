package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.ablate.HeadId;
import dev.sahara.attribution.GreedyGroupSearch;
import dev.sahara.attribution.Shard;
import dev.sahara.cli.options.OutputOptions;
import dev.sahara.cli.options.Workload;
import dev.sahara.model.Json;
import dev.sahara.model.ModelConfig;
import dev.sahara.report.CandidateLog;
import dev.sahara.report.ResultFiles;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * One shard of one step of a resumable dataset-level run (sweep, a Sahara step of attribute) — docs/SCALE.md.
 * The shard scores only its part of the step's candidates and logs them in its own append-only
 * {@code candidates.jsonl}, resumable like an unsharded run's. Its settings are the unsharded run's plus a
 * {@code shard} object (step, index, count, the model's layers × heads, the group before the step), so a resume
 * or a merge refuses a log of another shard or run. When every candidate is scored it writes {@code shard.json}
 * (what {@code merge} and the schedulers' drivers take as "this shard is complete") and its own timings.json.
 * The shard computes its own baseline and, with prefix reuse, its own residual capture: one full forward each
 * per shard, which is what sharding costs over one run.
 */
final class ShardRun {
    /** Options that name a shard's place or folder; the rest of its command line is the run's, and merge reuses it. */
    private static final Set<String> PLACE_OPTIONS = Set.of("--shard", "--step", "--group-from", "--out", "--resume");

    private ShardRun() {}

    /** The shard's log settings: the run's settings, then the shard's identity. */
    static ObjectNode settings(ObjectNode runSettings, Shard shard, int step, List<HeadId> groupBefore, ModelConfig c) {
        ObjectNode s = runSettings.deepCopy();
        ObjectNode o = s.putObject("shard");
        o.put("step", step);
        o.put("index", shard.index());
        o.put("count", shard.count());
        o.put("layers", c.numLayers());
        o.put("heads", c.numHeads());
        ArrayNode g = o.putArray("group_before");
        groupBefore.forEach(h -> g.add(h.label()));
        return s;
    }

    /** Scores the shard's candidates of {@code step}, then writes shard.json and timings.json; prints one summary line. */
    static int run(CommandSpec spec, String command, Workload w, GreedyGroupSearch sahara, ObjectNode runSettings, Shard shard, int step,
                   List<HeadId> groupBefore, Path out, boolean resume) {
        long t0 = System.nanoTime();
        ModelConfig c = w.model().config();
        ObjectNode settings = settings(runSettings, shard, step, groupBefore, c);
        int mine = shard.candidates(c.numLayers(), c.numHeads(), groupBefore, sahara.prefixReuse()).size();
        ObjectNode timings;
        try (CandidateLog log = RunRecord.open(out, command, settings, resume)) {
            try {
                // a shard.json left by an earlier run in this folder must not mark the new log complete (once the log is accepted)
                Files.deleteIfExists(out.resolve(CandidateLog.SHARD_DONE));
            } catch (IOException e) {
                throw SaharaException.inFile(out.resolve(CandidateLog.SHARD_DONE), "cannot remove: " + e.getMessage());
            }
            sahara.scoreShard(groupBefore, step, shard, log, StderrProgress.of(spec, command + " step " + step + " shard " + shard.label()));
            timings = RunRecord.timings(command, w, log, resume);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        timings.put("shard", shard.label());
        timings.put("step", step);
        timings.put("candidates", mine);
        timings.putObject("timings_seconds").put("shard", seconds);
        ResultFiles.writeJson(out.resolve("timings.json"), timings);

        ObjectNode done = Json.MAPPER.createObjectNode();
        done.put("command", command);
        done.put("step", step);
        done.put("shard", shard.label());
        ArrayNode g = done.putArray("group_before");
        groupBefore.forEach(h -> g.add(h.label()));
        done.put("candidates", mine);
        ArrayNode args = done.putArray("args");
        runArguments(spec).forEach(args::add);
        ResultFiles.writeJson(out.resolve(CandidateLog.SHARD_DONE), done);

        OutputOptions.printSummary(spec.commandLine().getOut(),
                String.format("%s step %d shard %s: %d candidates scored; merge every shard with: merge SHARD_DIR... --out RUN%n", command, step, shard.label(), mine), out);
        return 0;
    }

    /** The command line of this run without the options that place the shard (what merge runs to finish). */
    static List<String> runArguments(CommandSpec spec) {
        List<String> all = spec.commandLine().getParseResult().originalArgs();
        List<String> kept = new ArrayList<>();
        int start = all.indexOf(spec.name()) + 1;   // after the subcommand's name
        for (int i = start; i < all.size(); i++) {
            String a = all.get(i);
            String name = a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
            if (PLACE_OPTIONS.contains(name)) {
                if (!a.contains("=")) i++;   // and its value
                continue;
            }
            if (name.equals("--force")) continue;   // how this shard treated its folder, not a setting: merge finishes with --resume
            kept.add(a);
        }
        return kept;
    }
}
