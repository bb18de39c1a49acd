package dev.sahara.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sahara.ablate.HeadId;
import dev.sahara.attribution.Shard;
import dev.sahara.model.Json;
import dev.sahara.report.CandidateLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.sahara.cli.ResumeTest.args;
import static dev.sahara.cli.ResumeTest.assertSameFiles;
import static dev.sahara.cli.ResumeTest.concat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sharded runs merged equal unsharded runs byte for byte (every file but timings.json, the log included), and
 * merge refuses gaps, duplicates, conflicting scores and foreign shards with one line naming the shard.
 */
class ShardMergeTest {
    static final String MODEL = ResumeTest.MODEL;   // 3 layers × 4 heads

    @TempDir
    Path tmp;

    static void ok(CliTestSupport r) { assertEquals(0, r.exitCode(), r.err()); }

    @Test
    void partitionIsCompleteDisjointAndBalanced() {
        for (boolean reuse : new boolean[] {true, false}) {
            for (int n = 1; n <= 7; n++) {
                List<HeadId> group = List.of(new HeadId(1, 2));
                Set<HeadId> seen = new HashSet<>();
                long[] load = new long[n];
                for (int k = 0; k < n; k++) {
                    for (HeadId h : new Shard(k, n).candidates(32, 32, group, reuse)) {
                        assertTrue(seen.add(h), h + " twice");
                        load[k] += Shard.cost(h.layer(), 32, reuse);
                    }
                }
                assertEquals(32 * 32 - 1, seen.size());
                assertFalse(seen.contains(new HeadId(1, 2)));
                long max = 0, min = Long.MAX_VALUE;
                for (long x : load) { max = Math.max(max, x); min = Math.min(min, x); }
                assertTrue(max - min <= 32, "LPT leaves at most one candidate's cost between shards: " + java.util.Arrays.toString(load));
            }
        }
    }

    @Test
    void shardAutoReadsSlurmAndKubernetes() {
        assertEquals(new Shard(2, 4), Shard.parse("2/4", Map.of()));
        assertEquals(new Shard(3, 8), Shard.parse("auto", Map.of("SLURM_ARRAY_TASK_ID", "3", "SLURM_ARRAY_TASK_COUNT", "8")));
        assertEquals(new Shard(3, 8), Shard.parse("auto/8", Map.of("SLURM_ARRAY_TASK_ID", "3", "SLURM_ARRAY_TASK_COUNT", "2")), "N given wins over a resubmitted array's count");
        assertEquals(new Shard(5, 6), Shard.parse("auto/6", Map.of("JOB_COMPLETION_INDEX", "5")));
        for (var bad : List.of(Map.entry("auto", Map.of("JOB_COMPLETION_INDEX", "1")), Map.entry("auto", Map.<String, String>of()),
                Map.entry("4/4", Map.<String, String>of()), Map.entry("1/0", Map.<String, String>of()), Map.entry("x", Map.<String, String>of()),
                Map.entry("auto/2", Map.of("JOB_COMPLETION_INDEX", "2")), Map.entry("-1/3", Map.<String, String>of()))) {
            var e = assertThrows(dev.sahara.SaharaException.class, () -> Shard.parse(bad.getKey(), bad.getValue()));
            assertTrue(e.getMessage().startsWith("--shard"), e.getMessage());
        }
    }

    static final String[] SWEEP = args("sweep", "--model", MODEL, "--dataset", "builtin:advbench", "--limit", "5", "--rank", "2");

    List<Path> sweepShards(int n) {
        List<Path> dirs = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            Path d = tmp.resolve("s" + n + "-" + k);
            // --force as tools/slurm/shard.sbatch passes it: merge must finish without it (it resumes the merged run)
            ok(CliTestSupport.run(concat(SWEEP, "--shard", k + "/" + n, "--out", d.toString(), "--force")));
            dirs.add(d);
        }
        return dirs;
    }

    static String[] merge(Path out, List<Path> dirs) {
        List<String> a = new ArrayList<>(List.of("merge", "--out", out.toString()));
        dirs.forEach(d -> a.add(d.toString()));
        return a.toArray(String[]::new);
    }

    @Test
    void shardedSweepMergedEqualsUnsharded() throws IOException {
        Path whole = tmp.resolve("whole");
        ok(CliTestSupport.run(concat(SWEEP, "--out", whole.toString())));
        List<Path> dirs = sweepShards(3);
        // a shard killed mid-way and resumed is still a complete shard
        Path cut = tmp.resolve("s3-1");
        ResumeTest.runKilledAfter(1, concat(SWEEP, "--shard", "1/3", "--out", cut.toString(), "--force"));   // the folder holds the finished shard
        assertFalse(Files.exists(cut.resolve("shard.json")));
        ok(CliTestSupport.run(concat(SWEEP, "--shard", "1/3", "--resume", cut.toString())));
        Path merged = tmp.resolve("merged");
        ok(CliTestSupport.run(merge(merged, dirs)));
        assertSameFiles(whole, merged);
        JsonNode t = Json.readObject(merged.resolve("timings.json"));
        assertEquals(12, t.get("candidates_from_log").asInt());
        assertEquals(3, t.get("shards").size());
        // merging again changes nothing
        ok(CliTestSupport.run(merge(merged, dirs)));
        assertSameFiles(whole, merged);
    }

    @Test
    void shardedAttributeMergedStepByStepEqualsUnsharded() throws IOException {
        String[] base = args("attribute", "--model", MODEL, "--dataset", "builtin:jailbreakbench", "--limit", "4", "--group-size", "2",
                "--max-tokens", "4", "--decoding", "top-k", "--seed", "7");
        Path whole = tmp.resolve("whole"), merged = tmp.resolve("merged");
        ok(CliTestSupport.run(concat(base, "--out", whole.toString())));
        List<Path> all = new ArrayList<>();
        for (int step = 1; step <= 2; step++) {
            int n = step == 1 ? 3 : 5;   // steps may use different shard counts
            for (int k = 0; k < n; k++) {
                Path d = tmp.resolve("step" + step + "-" + k);
                String[] a = concat(base, "--shard", k + "/" + n, "--step", String.valueOf(step), "--out", d.toString());
                if (step > 1) a = concat(a, "--group-from", merged.toString());
                ok(CliTestSupport.run(a));
                all.add(d);
            }
            CliTestSupport r = CliTestSupport.run(merge(merged, all));
            ok(r);
            if (step == 1) {
                assertTrue(r.out().contains("group so far: [L"), r.out());
                assertFalse(Files.exists(merged.resolve("attribution.json")), "no result files before the last step");
            }
        }
        assertSameFiles(whole, merged);
    }

    @Test
    void mergeRefusesGapsDuplicatesConflictsAndForeignShards() throws IOException {
        List<Path> dirs = sweepShards(3);
        Path out = tmp.resolve("out");

        // gap: a shard missing
        assertRefused(merge(out, List.of(dirs.get(0), dirs.get(2))), "gap: shard 1/3 is missing");
        // gap: a shard not finished (killed mid-way)
        Path killed = tmp.resolve("killed");
        ResumeTest.runKilledAfter(1, concat(SWEEP, "--shard", "1/3", "--out", killed.toString()));
        assertRefused(merge(out, List.of(dirs.get(0), killed, dirs.get(2))), killed + ": gap: shard 1/3 of step 1 is not finished");
        // gap: a finished shard whose log lost lines
        Path lost = copy(dirs.get(1), "lost");
        List<String> lines = Files.readAllLines(lost.resolve(CandidateLog.FILE));
        Files.write(lost.resolve(CandidateLog.FILE), lines.subList(0, lines.size() - 1));
        assertRefused(merge(out, List.of(dirs.get(0), lost, dirs.get(2))), "gap: shard 1/3 of step 1 lacks 1 of its");
        // duplicate: the same shard twice
        assertRefused(merge(out, List.of(dirs.get(0), dirs.get(1), copy(dirs.get(1), "again"), dirs.get(2))), "duplicate: L");
        // conflicting scores: the same candidate with another score
        Path conflict = copy(dirs.get(1), "conflict");
        List<String> c = new ArrayList<>(Files.readAllLines(conflict.resolve(CandidateLog.FILE)));
        JsonNode line = Json.MAPPER.readTree(c.get(1));
        c.add(c.get(1).replace(line.get("bits").asText(), String.format("%016x", Double.doubleToRawLongBits(line.get("score").asDouble() + 1))));
        Files.write(conflict.resolve(CandidateLog.FILE), c);
        assertRefused(merge(out, List.of(dirs.get(0), conflict, dirs.get(2))), "conflicting scores: " + line.get("head").asText());
        // foreign: other settings (ε), another shard count, another command, a candidate that is not the shard's
        Path eps = tmp.resolve("eps");
        ok(CliTestSupport.run(concat(SWEEP, "--epsilon", "1e-4", "--shard", "1/3", "--out", eps.toString())));
        assertRefused(merge(out, List.of(dirs.get(0), eps, dirs.get(2))), "foreign shard: other settings or inputs than " + dirs.get(0) + " (epsilon");
        Path four = tmp.resolve("four");
        ok(CliTestSupport.run(concat(SWEEP, "--shard", "1/4", "--out", four.toString())));
        assertRefused(merge(out, List.of(dirs.get(0), four, dirs.get(2))), "shard 1/4 of step 1, but");
        Path attr = tmp.resolve("attr");
        ok(CliTestSupport.run("attribute", "--model", MODEL, "--dataset", "builtin:advbench", "--limit", "5", "--rank", "2", "--shard", "1/3", "--out", attr.toString()));
        assertRefused(merge(out, List.of(dirs.get(0), attr, dirs.get(2))), "foreign shard: written by 'attribute'");
        Path moved = copy(dirs.get(1), "moved");
        List<String> m = new ArrayList<>(Files.readAllLines(moved.resolve(CandidateLog.FILE)));
        m.add(Files.readAllLines(dirs.get(0).resolve(CandidateLog.FILE)).get(1));
        Files.write(moved.resolve(CandidateLog.FILE), m);
        assertRefused(merge(out, List.of(moved, dirs.get(2))), "foreign or damaged shard: L");
        // an unsharded run's folder is not a shard
        Path whole = tmp.resolve("whole");
        ok(CliTestSupport.run(concat(SWEEP, "--out", whole.toString())));
        assertRefused(merge(out, List.of(whole)), "not a shard's log");
        assertFalse(Files.exists(out.resolve(CandidateLog.FILE)), "a refused merge writes nothing");
    }

    @Test
    void attributeStepsNeedTheirEarlierSteps() throws IOException {
        String[] base = args("attribute", "--model", MODEL, "--dataset", "builtin:advbench", "--limit", "3", "--group-size", "2", "--no-asr");
        // step 2 without --group-from, --step without --shard, a step past the group size
        assertUsage(concat(base, "--shard", "0/2", "--step", "2", "--out", tmp.resolve("a").toString()), "--group-from");
        assertUsage(concat(base, "--step", "2"), "--shard");
        assertUsage(concat(base, "--shard", "0/2", "--step", "3"), "--step");
        Path s0 = tmp.resolve("s0"), s1 = tmp.resolve("s1"), merged = tmp.resolve("merged");
        ok(CliTestSupport.run(concat(base, "--shard", "0/2", "--out", s0.toString())));
        ok(CliTestSupport.run(concat(base, "--shard", "1/2", "--out", s1.toString())));
        assertRefused(args("merge", "--out", merged.toString(), s0.toString()), "gap: shard 1/2 is missing");
        ok(CliTestSupport.run("merge", "--out", merged.toString(), s0.toString(), s1.toString()));
        // a step-2 shard of another run (other ε) refuses the merged folder of this one
        assertUsage(concat(base, "--epsilon", "1e-3", "--shard", "0/2", "--step", "2", "--group-from", merged.toString(), "--out", tmp.resolve("x").toString()),
                "different settings");
        // a step-2 shard scored after another group than step 1's merged scores pick: foreign
        Path two = tmp.resolve("two");
        ok(CliTestSupport.run(concat(base, "--shard", "0/1", "--step", "2", "--group-from", merged.toString(), "--out", two.toString())));
        List<String> l = new ArrayList<>(Files.readAllLines(two.resolve(CandidateLog.FILE)));
        String picked = Json.MAPPER.readTree(l.getFirst()).path("settings").path("shard").path("group_before").get(0).asText();
        String other = picked.equals("L2H3") ? "L2H2" : "L2H3";
        l.set(0, l.getFirst().replace("\"group_before\":[\"" + picked + "\"]", "\"group_before\":[\"" + other + "\"]"));
        Files.write(two.resolve(CandidateLog.FILE), l);
        assertRefused(args("merge", "--out", tmp.resolve("m2").toString(), s0.toString(), s1.toString(), two.toString()),
                "foreign shard: scored step 2 after the group [" + other + "], but the merged scores of steps 1..1 pick [" + picked + "]");
        // a step given without the steps before it
        assertRefused(args("merge", "--out", tmp.resolve("m3").toString(), two.toString()), "step 1: no shard folder given");
    }

    @Test
    void planCountsCandidatesAndShardOverhead() {
        var c = dev.sahara.model.SyntheticModels.config("llama-2-7b");
        var p = dev.sahara.attribution.ShardPlan.of(c, 100, 2800, 3, 8, true, 1.0, 1L << 30,
                dev.sahara.llama.MemoryPlan.of(c, java.util.Collections.nCopies(100, new int[28]), true, false, 1L << 30));
        assertEquals(List.of(1024, 1023, 1022), p.stepPlans().stream().map(s -> s.candidates()).toList());
        var one = p.stepPlans().getFirst();
        assertEquals(128, one.maxShardCandidates());
        // 1024 candidates cost Σ(32 − l)·32 = 16,896 layer passes; 8 balanced shards take 2,112 each plus their own baseline and capture (64)
        assertEquals(2112 + 64, one.secondsSharded(), 1e-9);
        assertEquals(16896 + 64, one.secondsUnsharded(), 1e-9);
        CliTestSupport r = CliTestSupport.run("attribute", "--plan", "--shards", "4", "--model", "synthetic:llama-2-7b", "--tokens-per-prompt", "28",
                "--candidate-seconds", "2");
        ok(r);
        assertTrue(r.out().contains("| 1 | 1024 |") && r.out().contains("memory per shard"), r.out());
        assertRefused(args("attribute", "--plan", "--model", "synthetic:llama-2-7b", "--candidate-seconds", "2"), "--tokens-per-prompt");
        assertRefused(args("attribute", "--shards", "4", "--no-asr"), "--shards goes with --plan");
    }

    @Test
    void shardedShipsMergedEqualsUnshardedAndRefusals() throws IOException {
        String[] base = args("ships", "--model", MODEL, "--dataset", "builtin:advbench", "--limit", "3");
        Path whole = tmp.resolve("ships-whole"), merged = tmp.resolve("ships-merged");
        ok(CliTestSupport.run(concat(base, "--out", whole.toString())));
        List<Path> dirs = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            Path d = tmp.resolve("ships-" + k);
            ok(CliTestSupport.run(concat(base, "--shard", k + "/3", "--out", d.toString())));
            dirs.add(d);
        }
        ok(CliTestSupport.run(merge(merged, dirs)));
        assertSameFiles(whole, merged);
        assertRefused(merge(tmp.resolve("m1"), List.of(dirs.get(0), dirs.get(2))), "gap: ships shard 1/3 is missing");
        assertRefused(merge(tmp.resolve("m2"), List.of(dirs.get(0), dirs.get(1), copy(dirs.get(1), "ships-again"), dirs.get(2))), "duplicate: L");
        Path eps = tmp.resolve("ships-eps");
        ok(CliTestSupport.run(concat(base, "--epsilon", "1e-4", "--shard", "1/3", "--out", eps.toString())));
        assertRefused(merge(tmp.resolve("m3"), List.of(dirs.get(0), eps, dirs.get(2))), "foreign shard: other settings or inputs");
        Path four = tmp.resolve("ships-four");
        ok(CliTestSupport.run(concat(base, "--shard", "1/4", "--out", four.toString())));
        assertRefused(merge(tmp.resolve("m4"), List.of(dirs.get(0), four, dirs.get(2))), "shard 1/4, but");
    }

    static Path copy(Path dir, String name) throws IOException {
        Path to = dir.resolveSibling(name);
        Files.createDirectories(to);
        try (var s = Files.list(dir)) {
            for (Path f : s.toList()) Files.copy(f, to.resolve(f.getFileName()));
        }
        return to;
    }

    static void assertRefused(String[] args, String expected) {
        CliTestSupport r = CliTestSupport.run(args);
        assertEquals(2, r.exitCode(), r.out() + r.err());
        assertTrue(r.errorLine().contains(expected), "expected '" + expected + "' in: " + r.errorLine());
    }

    static void assertUsage(String[] args, String expected) { assertRefused(args, expected); }
}
