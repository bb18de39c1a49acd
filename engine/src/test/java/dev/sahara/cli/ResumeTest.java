package dev.sahara.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sahara.model.Json;
import dev.sahara.report.CandidateLog;
import dev.sahara.report.EngineVersion;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A run killed mid-way and continued with {@code --resume} ends with exactly the files of an uninterrupted run
 * (every file byte for byte, except timings.json); resuming with other settings is refused.
 */
class ResumeTest {
    static final String MODEL = TestModels.tiny("llama-gqa-bf16").toString();   // 3 layers × 4 heads

    @TempDir
    Path tmp;

    /** Thrown by the hook: stands for a kill (SIGKILL, Ctrl-C, power cut) after N candidates. */
    static final class Killed extends RuntimeException {
        Killed() { super("killed by the test"); }
    }

    /**
     * Runs the command and stops it (an exception out of its progress listener) after {@code n} logged candidates: a
     * fresh run's progress is told of each candidate right after its line is logged.
     */
    static void runKilledAfter(int n, String... args) {
        AtomicInteger count = new AtomicInteger();
        try {
            CliTestSupport r = CliTestSupport.run((done, total, what) -> {
                if (count.incrementAndGet() == n) throw new Killed();
            }, args);
            // picocli turns the exception into exit code 1 and a stack trace
            if (r.exitCode() == 0 || !r.err().contains("killed by the test")) throw new AssertionError("the run was not killed: exit " + r.exitCode() + "\n" + r.err());
        } catch (Killed expected) {
            // the run died here, as a killed process would
        }
    }

    static String[] args(String... a) { return a; }

    static String[] concat(String[] a, String... b) {
        String[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /** Every file of {@code a} and {@code b} has the same bytes, except timings.json; both hold the same files. */
    static void assertSameFiles(Path a, Path b) throws IOException {
        TreeSet<String> fa = names(a), fb = names(b);
        assertEquals(fa, fb, "the same files");
        assertTrue(fa.contains("timings.json"));
        for (String f : fa) {
            if (f.equals("timings.json")) continue;
            assertArrayEquals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f)), f + " differs");
        }
    }

    static TreeSet<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return new TreeSet<>(s.map(p -> p.getFileName().toString()).toList());
        }
    }

    static List<String> logLines(Path dir) throws IOException { return Files.readAllLines(dir.resolve(CandidateLog.FILE)); }

    @Test
    void sweepKilledAndResumedEqualsUninterrupted() throws IOException {
        String[] base = args("sweep", "--model", MODEL, "--dataset", "builtin:advbench", "--limit", "5", "--rank", "2");
        Path whole = tmp.resolve("whole"), cut = tmp.resolve("cut");
        CliTestSupport r = CliTestSupport.run(concat(base, "--out", whole.toString()));
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(1 + 12, logLines(whole).size(), "header + one line per head");

        runKilledAfter(5, concat(base, "--out", cut.toString()));
        assertEquals(1 + 5, logLines(cut).size());
        assertFalse(Files.exists(cut.resolve("sweep.json")), "no summary before the end");
        // a kill in the middle of a write leaves a cut-off last line, and a temporary file
        Files.writeString(cut.resolve(CandidateLog.FILE), "{\"step\":1,\"head\":\"L1H", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        Files.writeString(cut.resolve("heads.csv.tmp"), "layer,he");

        r = CliTestSupport.run(concat(base, "--resume", cut.toString()));
        assertEquals(0, r.exitCode(), r.err());
        assertSameFiles(whole, cut);
        JsonNode t = Json.readObject(cut.resolve("timings.json"));
        assertEquals(5, t.get("candidates_from_log").asInt());
        assertTrue(t.get("resumed").asBoolean());
        assertTrue(t.has("threads"));

        // resuming a finished run recomputes nothing and changes nothing
        r = CliTestSupport.run(concat(base, "--resume", cut.toString()));
        assertEquals(0, r.exitCode(), r.err());
        assertSameFiles(whole, cut);
        assertEquals(12, Json.readObject(cut.resolve("timings.json")).get("candidates_from_log").asInt());
    }

    @Test
    void attributeKilledInStepTwoAndResumedEqualsUninterrupted() throws IOException {
        String[] base = args("attribute", "--model", MODEL, "--dataset", "builtin:jailbreakbench", "--limit", "4", "--group-size", "2",
                "--max-tokens", "4", "--decoding", "top-k", "--seed", "7");
        Path whole = tmp.resolve("whole"), cut = tmp.resolve("cut");
        CliTestSupport r = CliTestSupport.run(concat(base, "--out", whole.toString()));
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(1 + 12 + 11, logLines(whole).size());

        runKilledAfter(15, concat(base, "--out", cut.toString()));   // 12 of step 1, 3 of step 2
        r = CliTestSupport.run(concat(base, "--resume", cut.toString()));
        assertEquals(0, r.exitCode(), r.err());
        assertSameFiles(whole, cut);
        assertEquals(15, Json.readObject(cut.resolve("timings.json")).get("candidates_from_log").asInt());
    }

    @Test
    void resumeRefusesOtherSettingsOrNoLog() throws IOException {
        Path cut = tmp.resolve("cut");
        String[] base = args("sweep", "--model", MODEL, "--dataset", "builtin:advbench", "--limit", "3");
        runKilledAfter(2, concat(base, "--out", cut.toString()));
        List<String> before = logLines(cut);
        // the engine's source hash is a setting: a build with other (even uncommitted) sources cannot resume this log
        JsonNode header = Json.MAPPER.readTree(before.getFirst());
        assertEquals(EngineVersion.sourceHash(), header.path("settings").path("engine_source").asText(), before.getFirst());

        List<String[]> others = new ArrayList<>();
        others.add(concat(base, "--epsilon", "1e-4"));
        others.add(args("sweep", "--model", MODEL, "--dataset", "builtin:advbench", "--limit", "4"));
        others.add(concat(base, "--format", "direct"));
        others.add(concat(base, "--ablation", "scale-v"));
        others.add(args("sweep", "--model", TestModels.tiny("llama-mha-f32-tied").toString(), "--dataset", "builtin:advbench", "--limit", "3", "--format", "direct"));   // its context (64) is too short for the template
        for (String[] o : others) {
            CliTestSupport r = CliTestSupport.run(concat(o, "--resume", cut.toString()));
            assertEquals(2, r.exitCode(), String.join(" ", o) + "\n" + r.err());
            String line = r.errorLine();
            assertTrue(line.contains("candidates.jsonl") && line.contains("different settings"), line);
        }
        CliTestSupport r = CliTestSupport.run(concat(base, "--epsilon", "1e-4", "--resume", cut.toString()));
        assertTrue(r.errorLine().contains("epsilon"), r.err());
        assertEquals(before, logLines(cut), "a refused resume leaves the log alone");

        r = CliTestSupport.run(args("attribute", "--model", MODEL, "--limit", "3", "--no-asr", "--resume", cut.toString()));
        assertEquals(2, r.exitCode());
        assertTrue(r.errorLine().contains("'sweep'"), r.err());

        r = CliTestSupport.run(concat(base, "--resume", tmp.resolve("empty").toString()));
        assertEquals(2, r.exitCode());
        assertTrue(r.errorLine().contains("nothing to resume"), r.err());

        r = CliTestSupport.run(concat(base, "--resume", cut.toString(), "--out", tmp.resolve("other").toString()));
        assertEquals(2, r.exitCode());
        assertTrue(r.errorLine().contains("--resume"), r.err());
    }
}
