package dev.sahara;

import dev.sahara.report.CandidateLog;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The launcher as a user starts it — {@code java -jar} without {@code --add-modules}, so that {@link Main} re-launches
 * itself in a child JVM — stopped the ways a user or a process manager stops it: the signal reaches the child, the
 * launcher exits only after it, with its code, and nothing is written afterwards; a sweep says how to resume.
 */
class LauncherTest {
    @TempDir
    Path tmp;

    private final List<ProcessHandle> started = new ArrayList<>();

    @AfterEach
    void killLeftovers() {
        for (ProcessHandle p : started) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }

    /** A jar like engine.jar (Main-Class dev.sahara.Main) whose manifest class path is this test's class path. */
    private Path launcherJar() throws IOException {
        // written once: rewriting it while a launcher started just before still opens it makes that one fail
        if (jar == null) jar = launcherJar(tmp);
        return jar;
    }

    private Path jar;

    /** As above, written into {@code tmp}. */
    static Path launcherJar(Path tmp) throws IOException {
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().put(Attributes.Name.MAIN_CLASS, Main.class.getName());
        String cp = Stream.of(System.getProperty("java.class.path").split(File.pathSeparator)).map(p -> Path.of(p).toAbsolutePath().toUri().toString())
                .collect(Collectors.joining(" "));
        m.getMainAttributes().put(Attributes.Name.CLASS_PATH, cp);
        Path jar = tmp.resolve("engine.jar");
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out, m)) {
            j.flush();
        }
        return jar;
    }

    /** Starts {@code java -jar engine.jar sweep ...} on a workload of several seconds; stderr goes to a file. */
    private Process startSweep(Path out, Path stderr) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-jar", launcherJar().toString(), "sweep", "--model", TestModels.stories260K().toString(),
                "--dataset", "builtin:advbench", "--limit", "40", "--threads", "1", "--out", out.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(stderr.toFile()).start();
        started.add(p.toHandle());
        return p;
    }

    /** Waits until the sweep has logged a finished candidate (the run is under way, in the child JVM). */
    private static ProcessHandle waitForTheRun(Process launcher, Path out, Path stderr) throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (!launcher.isAlive()) fail("the run ended before the test could stop it:\n" + Files.readString(stderr));
            Path log = out.resolve(CandidateLog.FILE);
            if (Files.exists(log) && Files.readAllLines(log).size() >= 2) {
                List<ProcessHandle> children = launcher.toHandle().children().toList();
                assertEquals(1, children.size(), "one re-launched child JVM");
                return children.getFirst();
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the run did not start:\n" + Files.readString(stderr));
    }

    /** Size and modification time of every file in the folder. */
    private static Map<String, String> snapshot(Path dir) throws IOException {
        Map<String, String> s = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) s.put(f.getFileName().toString(), Files.size(f) + " " + Files.getLastModifiedTime(f).toMillis());
        }
        return s;
    }

    private static void signal(String name, long pid) throws Exception {
        assertEquals(0, new ProcessBuilder("kill", "-" + name, Long.toString(pid)).inheritIO().start().waitFor());
    }

    /** One launcher stopped by a signal: its run, the signal and what must hold afterwards. */
    private final class Stopped {
        final String signal;
        final int expectedExit;
        final Path out, stderr;
        final Process launcher;

        Stopped(String signal, int expectedExit) throws IOException {
            this.signal = signal;
            this.expectedExit = expectedExit;
            out = tmp.resolve("run-" + signal);
            stderr = tmp.resolve("stderr-" + signal + ".txt");
            launcher = startSweep(out, stderr);
        }

        ProcessHandle child;

        void stop() throws Exception {
            child = waitForTheRun(launcher, out, stderr);
            signal(signal, launcher.pid());
        }

        void check() throws Exception {
            assertTrue(launcher.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "the launcher ends");
            assertFalse(child.isAlive(), "the child JVM is gone when the launcher has ended (" + signal + ")");
            assertEquals(expectedExit, launcher.exitValue(), "the launcher exits with the child's code:\n" + Files.readString(stderr));
            Map<String, String> after = snapshot(out);
            Thread.sleep(1000);
            assertEquals(after, snapshot(out), "nothing is written after the launcher has exited (" + signal + ")");
            String err = Files.readString(stderr);
            assertTrue(err.contains("interrupted: continue with the same options and --resume " + out), err);
            assertEquals(1, err.lines().filter(l -> l.startsWith("interrupted:")).count(), "one line says how to resume:\n" + err);
            assertEquals("", Files.readString(out.resolve(".sahara.lock")), "the lock is given up");
            assertFalse(Files.exists(out.resolve("sweep.json")), "an interrupted sweep writes no summary");
        }
    }

    /** SIGTERM (kill, Popen.terminate), SIGINT (Ctrl-C) and SIGHUP (a closed terminal), three launchers at once to save time. */
    @Test
    void aSignalToTheLauncherStopsTheChildAndTheLauncherExitsWithItsCode() throws Exception {
        List<Stopped> runs = List.of(new Stopped("TERM", 143), new Stopped("INT", 130), new Stopped("HUP", 129));
        for (Stopped r : runs) r.stop();
        for (Stopped r : runs) r.check();
    }

    @Test
    void aLauncherKilledOutrightTakesTheChildWithIt() throws Exception {
        Path out = tmp.resolve("run-kill"), stderr = tmp.resolve("stderr-kill.txt");
        Process launcher = startSweep(out, stderr);
        ProcessHandle child = waitForTheRun(launcher, out, stderr);
        signal("KILL", launcher.pid());
        assertTrue(child.onExit().get(30, java.util.concurrent.TimeUnit.SECONDS) != null);
        assertFalse(child.isAlive(), "the child stops when its launcher is gone");
        assertTrue(Files.readString(stderr).contains("the launcher (pid " + launcher.pid() + ") was killed; stopping"), Files.readString(stderr));
    }
}
