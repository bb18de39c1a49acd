package dev.sahara.cli;

import dev.sahara.attribution.Progress;
import dev.sahara.cli.options.OutputFolder;
import dev.sahara.report.CandidateLog;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The --out folder, as a user meets it: an unwritable folder is refused before any work, two runs never share a
 * folder (the lock), a stale lock is noted or explained, and a folder holding an earlier run's results is refused
 * unless --force, which removes exactly the files a run writes.
 */
class OutputFolderTest {
    static final String MODEL = TestModels.tiny("llama-gqa-bf16").toString();   // 3 layers × 4 heads

    @TempDir
    Path tmp;

    static String[] args(String command, Path out, String... more) {
        List<String> a = new ArrayList<>(List.of(command, "--model", MODEL, "--out", out.toString()));
        switch (command) {
            case "helpfulness" -> a.addAll(List.of("--limit", "2"));
            case "ships" -> a.addAll(List.of("--dataset", "builtin:harmless", "--limit", "2"));
            case "sweep", "attribute" -> a.addAll(List.of("--dataset", "builtin:harmless", "--limit", "3", "--rank", "1"));
            default -> a.addAll(List.of("--dataset", "builtin:harmless", "--limit", "2", "--max-tokens", "3"));
        }
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    /**
     * An existing folder no file can be created in. A mode-555 folder, unless the tests run as root (root writes there
     * anyway): then sysfs, which refuses new files to everyone.
     */
    private Path unwritableFolder() throws IOException {
        Path ro = tmp.resolve("read-only");
        Files.createDirectories(ro);
        Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("r-xr-xr-x"));
        for (Path candidate : List.of(ro, Path.of("/sys/kernel"))) {
            if (!Files.isDirectory(candidate)) continue;
            try {
                Files.delete(Files.createFile(candidate.resolve("probe")));
            } catch (IOException refused) {
                return candidate;
            }
        }
        assumeTrue(false, "no unwritable folder on this machine");
        return null;
    }

    @Test
    void anUnwritableFolderIsRefusedBeforeAnyWork() throws IOException {
        Path ro = unwritableFolder();
        for (String command : List.of("asr", "ships", "helpfulness", "ships-asr", "course-correction", "sweep", "attribute")) {
            CliTestSupport r = CliTestSupport.run(args(command, ro));
            assertEquals(2, r.exitCode(), command + ": " + r.err());
            // one line and nothing else: no progress line, so nothing was computed first
            String e = r.errorLine();
            assertTrue(e.startsWith(ro + ": the output folder is not writable: "), command + ": " + e);
            assertEquals("", r.out());
        }
    }

    @Test
    void aSecondRunIntoABusyFolderIsRefusedWithOneLine() throws Exception {
        Path out = tmp.resolve("busy");
        CountDownLatch running = new CountDownLatch(1), finish = new CountDownLatch(1);
        Progress blocking = (done, total, what) -> {
            running.countDown();
            try {
                finish.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        AtomicReference<CliTestSupport> first = new AtomicReference<>();
        Thread t = new Thread(() -> first.set(CliTestSupport.run(blocking, args("sweep", out))));
        t.start();
        assertTrue(running.await(60, TimeUnit.SECONDS), "the first run started");
        for (String command : List.of("sweep", "asr")) {
            CliTestSupport second = CliTestSupport.run(args(command, out, "--force"));
            assertEquals(2, second.exitCode(), second.err());
            String e = second.errorLine();
            assertTrue(e.startsWith(out + ": another run is using this folder (pid " + ProcessHandle.current().pid() + " on "), e);
            assertTrue(e.contains(", sweep, started "), e);
            assertTrue(e.endsWith("wait for it to end, or choose another --out"), e);
        }
        CliTestSupport resume = CliTestSupport.run(args("sweep", out, "--resume", out.toString()));
        assertEquals(2, resume.exitCode(), "nor may --resume join a running run: " + resume.err());
        finish.countDown();
        t.join();
        assertEquals(0, first.get().exitCode(), first.get().err());
        assertEquals("", Files.readString(out.resolve(OutputFolder.LOCK)), "the lock is emptied when the run ends");
        assertTrue(Files.readString(out.resolve("sweep.json")).contains("\"sweep\""));
    }

    @Test
    void theLockOfAKilledRunIsNotedAndCleared() throws Exception {
        Path out = tmp.resolve("stale");
        Files.createDirectories(out);
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        Files.writeString(out.resolve(OutputFolder.LOCK), "pid " + gone.pid() + ", sweep, started 2026-01-01T00:00:00Z\n");
        CliTestSupport r = CliTestSupport.run(args("asr", out));
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.err().contains("note: " + out.resolve(OutputFolder.LOCK) + ": clearing the lock of a run that was killed (pid " + gone.pid()), r.err());
        assertEquals("", Files.readString(out.resolve(OutputFolder.LOCK)));
    }

    @Test
    void aLockNamingALiveProcessThatHoldsNoLockSaysHowToClearIt() throws Exception {
        Path out = tmp.resolve("unclear");
        Files.createDirectories(out);
        Process alive = new ProcessBuilder("sleep", "60").start();
        try {
            String text = "pid " + alive.pid() + ", attribute, started 2026-01-01T00:00:00Z";
            Files.writeString(out.resolve(OutputFolder.LOCK), text + "\n");
            CliTestSupport r = CliTestSupport.run(args("asr", out));
            assertEquals(2, r.exitCode(), r.err());
            assertEquals(out.resolve(OutputFolder.LOCK) + ": names a running process that holds no lock (" + text + "); if no run is using " + out
                    + ", delete " + out.resolve(OutputFolder.LOCK), r.errorLine());
            assertFalse(Files.exists(out.resolve("asr.json")));

            // the same pid written on another machine (a shared disk) says nothing about this one: the OS lock decides
            Files.writeString(out.resolve(OutputFolder.LOCK), "pid " + alive.pid() + " on another-host.example, attribute, started 2026-01-01T00:00:00Z\n");
            CliTestSupport elsewhere = CliTestSupport.run(args("asr", out));
            assertEquals(0, elsewhere.exitCode(), elsewhere.err());
            assertTrue(elsewhere.err().contains("clearing the lock of a run that was killed (pid " + alive.pid() + " on another-host.example"), elsewhere.err());
        } finally {
            alive.destroy();
        }
    }

    @Test
    void aFolderWithAnEarlierRunsResultsIsRefusedUnlessForceWhichRemovesExactlyThem() throws Exception {
        Path out = tmp.resolve("reused");
        CliTestSupport first = CliTestSupport.run(args("asr", out));
        assertEquals(0, first.exitCode(), first.err());
        // an earlier attribute run with three steps and ASR, and a file of the user's own
        for (String f : List.of("heatmap_step3.png", "responses_before.jsonl", "report.md.tmp")) Files.writeString(out.resolve(f), "earlier");
        Files.writeString(out.resolve("my-notes.txt"), "mine");

        CliTestSupport again = CliTestSupport.run(args("attribute", out, "--group-size", "1", "--no-asr"));
        assertEquals(2, again.exitCode(), again.err());
        assertTrue(again.errorLine().startsWith(out + ": holds the results of an earlier run (asr.json, heatmap_step3.png, report.md.tmp, responses.jsonl, …); "
                + "use --force to replace them, or choose another --out"), again.errorLine());
        assertTrue(Files.exists(out.resolve("asr.json")), "a refused run touches nothing");

        CliTestSupport forced = CliTestSupport.run(args("attribute", out, "--group-size", "1", "--no-asr", "--force"));
        assertEquals(0, forced.exitCode(), forced.err());
        try (var files = Files.list(out)) {
            assertEquals(List.of(OutputFolder.LOCK, "attribution.json", CandidateLog.FILE, "heads.csv", "heatmap.png", "heatmap_step1.png", "my-notes.txt",
                    "report.md", "timings.json"), files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        assertEquals("mine", Files.readString(out.resolve("my-notes.txt")));
    }

    @Test
    void outOnAnInterruptedRunsFolderPointsAtResume() throws Exception {
        Path out = tmp.resolve("interrupted");
        ResumeTest.runKilledAfter(3, args("sweep", out));
        CliTestSupport r = CliTestSupport.run(args("sweep", out));
        assertEquals(2, r.exitCode(), r.err());
        assertTrue(r.errorLine().contains("continue it with --resume " + out + ", use --force to replace them"), r.errorLine());
        long logged = Files.readAllLines(out.resolve(CandidateLog.FILE)).size();
        assertEquals(4, logged, "the log is kept: header + 3 candidates");
        CliTestSupport both = CliTestSupport.run(args("sweep", out, "--resume", out.toString(), "--force"));
        assertEquals(2, both.exitCode());
        assertTrue(both.errorLine().startsWith("--force and --resume"), both.errorLine());
        CliTestSupport resumed = CliTestSupport.run(args("sweep", out, "--resume", out.toString()));
        assertEquals(0, resumed.exitCode(), resumed.err());
    }
}
