package dev.sahara.cli.options;

import dev.sahara.SaharaException;
import dev.sahara.report.CandidateLog;
import dev.sahara.report.ResultFiles;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The {@code --out} folder of a run, claimed before any work: created, proved writable, locked for this run, and
 * free of another run's results.
 *
 * <ul>
 *   <li><b>Writable</b>: the lock file is created in it first, so a read-only folder is refused before the model loads
 *       (not after an hour of generation).</li>
 *   <li><b>One run per folder</b>: {@value #LOCK} holds an OS lock ({@code fcntl}) for as long as the run lives, and the
 *       holder's pid, command and start time so that a second run is refused with who holds it. The OS drops the lock
 *       when the process dies however it dies; the text stays behind only after a SIGKILL, and the next run notes and
 *       clears it when that process is gone. A text naming a live process that holds no lock (a file system without
 *       locks, or a pid reused) is refused with how to clear it. The file is emptied, not deleted, when the run ends:
 *       deleting it would let a run that opened it just before lock a file nobody else sees.</li>
 *   <li><b>No mixed results</b>: a folder holding files that some run writes ({@link #RESULT_FILES}) is refused unless
 *       {@code --force}, which removes exactly those files (and {@code *.tmp} leftovers), or, for sweep/attribute,
 *       {@code --resume DIR}, which continues the run the folder holds.</li>
 * </ul>
 * The claim ends when the command returns ({@code SaharaCommand} calls {@link #releaseAll}); a JVM stopped by a signal
 * (Ctrl-C, {@code kill}) empties the lock in a shutdown hook and, for a resumable run, prints how to continue it.
 */
public final class OutputFolder {
    /** The lock file's name. */
    public static final String LOCK = ".sahara.lock";

    /** Every file a run of each command writes (globs), the lock excepted. {@code --force} removes these and nothing else. */
    static final Map<String, List<String>> RESULT_FILES = Map.of(
            "sweep", List.of("sweep.json", "heads.csv", "heatmap.png", "timings.json", CandidateLog.FILE, CandidateLog.SHARD_DONE),
            "attribute", List.of("attribution.json", "heads.csv", "heatmap.png", "heatmap_step*.png", "report.md", "timings.json", CandidateLog.FILE,
                    CandidateLog.SHARD_DONE, "responses_before.jsonl", "responses_after.jsonl"),
            "ships", List.of("ships.json", "heads.csv", "heatmap.png", "timings.json"),
            "asr", List.of("asr.json", "responses.jsonl", "responses_none.jsonl", "responses_heads.jsonl", "responses_direction.jsonl", "responses_both.jsonl",
                    "timings.json"),
            "ships-asr", List.of("ships_asr.json", "responses_k*_*.jsonl", "timings.json"),
            "course-correction", List.of("course_correction.json", "responses_base_*.jsonl", "responses_ablated_*.jsonl", "timings.json"),
            "helpfulness", List.of("helpfulness.json", "items_before.jsonl", "items_after.jsonl", "task.jsonl", "timings.json"),
            "compare", List.of("compare.json", "scatter.png", "heatmap_a.png", "heatmap_b.png"),
            "direction", List.of("direction.json", "candidates.csv", "heatmap.png", "report.md", "timings.json"),
            "head-projection", List.of("head_projection.json", "heads.csv", "heatmap.png", "timings.json"));

    /** The claims of the command running on this thread (the CLI runs one command per thread; tests run several in one JVM). */
    private static final ThreadLocal<List<OutputFolder>> CLAIMS = ThreadLocal.withInitial(ArrayList::new);

    private final Path dir;
    private final Path firstCreated;
    private final FileChannel channel;
    private final FileLock lock;
    private final Thread onSignal;

    private OutputFolder(Path dir, Path firstCreated, FileChannel channel, FileLock lock, Thread onSignal) {
        this.dir = dir;
        this.firstCreated = firstCreated;
        this.channel = channel;
        this.lock = lock;
        this.onSignal = onSignal;
    }

    /**
     * Claims the output folder of {@code command} (held until the command returns) and returns it: {@code resume}
     * when given ({@code --out}, if also given, must name the same folder), else {@code out}.
     *
     * @param force  {@code --force}: remove an earlier run's result files instead of refusing the folder
     */
    static Path claim(CommandSpec spec, String command, Path out, Path resume, boolean force) {
        if (resume != null && force) throw new SaharaException("--force and --resume: give one (--force starts the run afresh, --resume continues it)");
        Path dir = outDir(spec, out, resume);
        PrintWriter err = spec.commandLine().getErr();
        Path firstCreated = null;   // the outermost folder this claim creates: removed again if the run ends without writing anything
        for (Path p = dir.toAbsolutePath().normalize(); p != null && !Files.exists(p); p = p.getParent()) firstCreated = p;
        ResultFiles.prepareDir(dir);
        OutputFolder claimed = lock(dir, firstCreated, command, RESULT_FILES.get(command).contains(CandidateLog.FILE), err);
        CLAIMS.get().add(claimed);
        if (resume == null) {
            List<Path> earlier = earlierResults(dir);
            if (!earlier.isEmpty() && !force) {
                String names = String.join(", ", earlier.stream().limit(4).map(p -> p.getFileName().toString()).toList()) + (earlier.size() > 4 ? ", …" : "");
                boolean resumable = RESULT_FILES.get(command).contains(CandidateLog.FILE) && Files.isRegularFile(dir.resolve(CandidateLog.FILE));
                throw SaharaException.inFile(dir, "holds the results of an earlier run (" + names + "); "
                        + (resumable ? "continue it with --resume " + dir + ", " : "") + "use --force to replace them, or choose another --out");
            }
            for (Path p : earlier) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw SaharaException.inFile(p, "cannot remove (--force): " + ResultFiles.reason(e));
                }
            }
            if (!earlier.isEmpty()) err.println("note: " + dir + ": --force removed " + earlier.size() + " file(s) of an earlier run");
        }
        return dir;
    }

    /** The output folder: {@code --resume DIR} when given (then {@code --out}, if also given, must name the same folder). */
    private static Path outDir(CommandSpec spec, Path out, Path resume) {
        if (resume == null) return out;
        if (spec.commandLine().getParseResult().hasMatchedOption("--out") && !out.toAbsolutePath().normalize().equals(resume.toAbsolutePath().normalize())) {
            throw new SaharaException("--out " + out + " and --resume " + resume + " name different folders; give only --resume DIR");
        }
        return resume;
    }

    /** Ends every claim of this thread: the lock files are emptied and unlocked. Safe to call when there is none. */
    public static void releaseAll() {
        List<OutputFolder> claims = CLAIMS.get();
        for (OutputFolder c : claims) c.release(true);
        claims.clear();
    }

    /** The files in {@code dir} that a run of any command writes, plus {@code *.tmp} leftovers of a killed one. */
    static List<Path> earlierResults(Path dir) {
        List<PathMatcher> matchers = new ArrayList<>();
        matchers.add(FileSystems.getDefault().getPathMatcher("glob:*.tmp"));
        RESULT_FILES.values().stream().flatMap(List::stream).distinct().forEach(g -> matchers.add(FileSystems.getDefault().getPathMatcher("glob:" + g)));
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> Files.isRegularFile(p) || Files.isSymbolicLink(p))
                    .filter(p -> matchers.stream().anyMatch(m -> m.matches(p.getFileName()))).sorted().toList();
        } catch (IOException e) {
            throw SaharaException.inFile(dir, "cannot list the output folder: " + ResultFiles.reason(e));
        }
    }

    private static OutputFolder lock(Path dir, Path firstCreated, String command, boolean resumable, PrintWriter err) {
        Path file = dir.resolve(LOCK);
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw SaharaException.inFile(dir, "the output folder is not writable: " + ResultFiles.reason(e));
        }
        try {
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;   // held by another command in this same JVM
            }
            String holder = read(ch);
            if (lock == null) {
                ch.close();
                throw SaharaException.inFile(dir, "another run is using this folder" + (holder.isEmpty() ? "" : " (" + holder + ")")
                        + "; wait for it to end, or choose another --out");
            }
            Optional<Long> pid = pidOf(holder);
            // a pid means something only on the machine that wrote it (a folder on a shared disk may be another's)
            boolean here = !holder.contains(" on ") || holder.contains(" on " + HOST + ",");
            if (pid.isPresent() && here && pid.get() != ProcessHandle.current().pid() && ProcessHandle.of(pid.get()).map(ProcessHandle::isAlive).orElse(false)) {
                lock.release();
                ch.close();
                throw SaharaException.inFile(file, "names a running process that holds no lock (" + holder + "); if no run is using "
                        + dir + ", delete " + file);
            }
            if (!holder.isEmpty()) err.println("note: " + file + ": clearing the lock of a run that was killed (" + holder + ")");
            ch.truncate(0);
            ch.write(ByteBuffer.wrap(("pid " + ProcessHandle.current().pid() + " on " + HOST + ", " + command + ", started " + Instant.now() + "\n").getBytes(StandardCharsets.UTF_8)), 0);
            ch.force(false);
            OutputFolder[] self = new OutputFolder[1];
            Thread onSignal = new Thread(() -> {
                if (resumable) err.println("interrupted: continue with the same options and --resume " + dir);
                err.flush();
                self[0].release(false);
            }, "sahara-output-folder-on-exit");
            self[0] = new OutputFolder(dir, firstCreated, ch, lock, onSignal);
            Runtime.getRuntime().addShutdownHook(onSignal);
            return self[0];
        } catch (IOException e) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // the first error is the one to report
            }
            throw SaharaException.inFile(file, "cannot lock the output folder: " + ResultFiles.reason(e));
        }
    }

    /** Empties and unlocks the lock file; from the shutdown hook itself, the hook is not removed (the JVM is exiting). */
    private synchronized void release(boolean removeHook) {
        if (!channel.isOpen()) return;
        try {
            if (removeHook) Runtime.getRuntime().removeShutdownHook(onSignal);
        } catch (IllegalStateException exiting) {
            // the JVM is shutting down: the hook runs (or ran) this release itself
        }
        try {
            channel.truncate(0);
            lock.release();
            channel.close();
        } catch (IOException e) {
            // the OS drops the lock when the process ends; an emptied-or-not lock file is noted by the next run
        }
        if (firstCreated != null) removeIfUnused();
    }

    /** A run refused or killed before it wrote anything leaves no folder behind (only the folders it created itself). */
    private void removeIfUnused() {
        try {
            try (Stream<Path> files = Files.list(dir)) {
                if (!files.allMatch(p -> p.getFileName().toString().equals(LOCK))) return;
            }
            Files.deleteIfExists(dir.resolve(LOCK));
            for (Path p = dir.toAbsolutePath().normalize(); p != null && p.startsWith(firstCreated); p = p.getParent()) Files.delete(p);
        } catch (IOException e) {
            // an empty folder left behind is harmless
        }
    }

    private static String read(FileChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((int) Math.min(ch.size(), 4096));
        ch.read(b, 0);
        return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).strip();
    }

    /** This machine's name, in the lock text next to the pid. */
    private static final String HOST = hostName();

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return System.getenv().getOrDefault("HOSTNAME", "localhost");
        }
    }

    private static Optional<Long> pidOf(String holder) {
        var m = Pattern.compile("^pid (\\d{1,18})\\b").matcher(holder);
        return m.find() ? Optional.of(Long.parseLong(m.group(1))) : Optional.empty();
    }
}
