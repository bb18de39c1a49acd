package dev.sahara.cli;

import dev.sahara.SaharaException;
import dev.sahara.conformance.ConformanceRunner;
import dev.sahara.model.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code conformance run CASES_DIR --out RESULTS_DIR}: the engine as a port of the conformance kit (conformance/README.md).
 * {@code conformance emit CASES_DIR}: regenerates every expected.json from the references (tools/conformance reference),
 * refusing when the engine or the new reference values disagree with the old expected values beyond tolerance.
 */
@Command(name = "conformance", description = "Run the conformance kit (conformance/) as a port, or regenerate its expected values.",
        subcommands = {ConformanceCommand.Run.class, ConformanceCommand.Emit.class})
public final class ConformanceCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand: run or emit");
    }

    /** The folder case.json's model paths are relative to: --repo, else the parent of CASES_DIR. */
    static Path repoOf(Path cases, Path repo) {
        Path r = repo != null ? repo : cases.toAbsolutePath().normalize().getParent();
        if (r == null || !Files.isDirectory(r)) throw SaharaException.inFile(repo != null ? repo : cases, "no repository folder for the models (pass --repo)");
        return r;
    }

    /** Runs every case into {@code out}; returns the number of cases. */
    static int runAll(ConformanceRunner runner, Path cases, Path out, PrintWriter err) {
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw SaharaException.inFile(out, "cannot create: " + e.getMessage());
        }
        List<ConformanceRunner.Case> all = ConformanceRunner.cases(cases);
        for (ConformanceRunner.Case c : all) {
            long t0 = System.nanoTime();
            var result = runner.run(c);
            Path f = out.resolve(c.id() + ".json"), tmp = out.resolve(c.id() + ".json.tmp");
            try {
                Files.writeString(tmp, Json.MAPPER.writeValueAsString(result) + "\n");
                Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw SaharaException.inFile(f, "cannot write: " + e.getMessage());
            }
            err.printf("%s: %.2f s%n", c.id(), (System.nanoTime() - t0) / 1e9);
        }
        return all.size();
    }

    @Command(name = "run", mixinStandardHelpOptions = true, description = "Compute every case of CASES_DIR with the engine; write RESULTS_DIR/<case id>.json (check them with tools/conformance check).")
    static final class Run implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "CASES_DIR")
        Path cases;

        @Option(names = "--out", required = true, paramLabel = "RESULTS_DIR")
        Path out;

        @Option(names = "--repo", paramLabel = "DIR", description = "Where case.json's model paths start (default: the parent of CASES_DIR).")
        Path repo;

        @Option(names = "--threads", paramLabel = "N", description = "CPU threads (default: all cores). Results do not depend on it.")
        Integer threads;

        @Override
        public Integer call() {
            int n = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
            if (n < 1) throw new SaharaException("--threads must be >= 1, got " + n);
            try (ConformanceRunner runner = new ConformanceRunner(repoOf(cases, repo), n)) {
                int count = runAll(runner, cases, out, spec.commandLine().getErr());
                spec.commandLine().getOut().println(count + " results in " + out);
            }
            return 0;
        }
    }

    @Command(name = "emit", mixinStandardHelpOptions = true, description = "Regenerate every expected.json of CASES_DIR from the references (python3 tools/conformance reference); "
            + "refuses when the engine, or the new reference values, disagree with the old expected values beyond tolerance.")
    static final class Emit implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "CASES_DIR")
        Path cases;

        @Option(names = "--repo", paramLabel = "DIR", description = "The repository (models, tools/conformance; default: the parent of CASES_DIR).")
        Path repo;

        @Option(names = "--python", paramLabel = "EXE", description = "The python3 with numpy that runs the references (default: python3).")
        String python = "python3";

        @Option(names = "--accept-change", description = "Write the new expected values even where they or the engine disagree with the old ones (a deliberate change of meaning).")
        boolean acceptChange;

        @Option(names = "--threads", paramLabel = "N", description = "CPU threads (default: all cores).")
        Integer threads;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
            Path root = repoOf(cases, repo);
            Path tool = root.resolve("tools/conformance");
            if (!Files.isRegularFile(tool)) throw SaharaException.inFile(tool, "not found (pass --repo)");
            List<ConformanceRunner.Case> all = ConformanceRunner.cases(cases);
            // The cases that already have expected values are compared (a new case alone must not switch the guard off).
            List<ConformanceRunner.Case> old = all.stream().filter(c -> Files.isRegularFile(c.dir().resolve("expected.json"))).toList();
            boolean haveOld = !old.isEmpty();
            Path work = Files.createTempDirectory("sahara-conformance-");
            try {
                List<String> refused = new ArrayList<>();
                int n = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
                Path oldKit = work.resolve("old-kit");
                for (ConformanceRunner.Case c : old) {
                    Path d = Files.createDirectories(oldKit.resolve(c.id()));
                    try (var files = Files.list(c.dir())) {
                        for (Path f : files.filter(Files::isRegularFile).toList()) Files.copy(f, d.resolve(f.getFileName()));
                    }
                }
                if (haveOld) {
                    Path results = work.resolve("engine");
                    try (ConformanceRunner runner = new ConformanceRunner(root, n)) {
                        runAll(runner, oldKit, results, err);
                    }
                    err.println("the engine against the old expected values:");
                    if (python(out, err, tool.toString(), "check", oldKit.toString(), results.toString()) != 0) refused.add("the engine");
                }
                Path fresh = work.resolve("reference");
                if (python(err, err, tool.toString(), "reference", cases.toString(), "--repo", root.toString(), "--out", fresh.toString()) != 0) {
                    throw new SaharaException(tool + ": the references failed (see above)");
                }
                if (haveOld) {
                    Path asResults = work.resolve("reference-as-results");
                    Files.createDirectories(asResults);
                    for (ConformanceRunner.Case c : old) Files.copy(fresh.resolve(c.id()).resolve("expected.json"), asResults.resolve(c.id() + ".json"));
                    err.println("the new reference values against the old expected values:");
                    if (python(out, err, tool.toString(), "check", oldKit.toString(), asResults.toString()) != 0) refused.add("the new reference values");
                }
                if (!refused.isEmpty() && !acceptChange) {
                    throw SaharaException.inFile(cases, String.join(" and ", refused) + " disagree with the kit's expected values beyond tolerance"
                            + " (table above); nothing written; a change of meaning must be deliberate: --accept-change");
                }
                for (ConformanceRunner.Case c : all) {
                    Files.copy(fresh.resolve(c.id()).resolve("expected.json"), c.dir().resolve("expected.json"), StandardCopyOption.REPLACE_EXISTING);
                }
                out.println(all.size() + " expected.json written in " + cases + " (" + old.size() + " compared with their old values, "
                        + (all.size() - old.size()) + " new)");
                return 0;
            } finally {
                deleteTree(work);
            }
        }

        int python(PrintWriter out, PrintWriter err, String... args) throws IOException, InterruptedException {
            List<String> cmd = new ArrayList<>();
            cmd.add(python);
            cmd.addAll(List.of(args));
            Process p;
            try {
                p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            } catch (IOException e) {
                throw new SaharaException("--python: cannot run " + python + ": " + e.getMessage());
            }
            try (var r = p.inputReader()) {
                String line;
                while ((line = r.readLine()) != null) out.println(line);
            }
            int rc = p.waitFor();
            if (rc == 2) throw new SaharaException(args[0] + " " + args[1] + ": tools/conformance reported an error (see above)");
            return rc;
        }
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (var s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        }
    }
}
