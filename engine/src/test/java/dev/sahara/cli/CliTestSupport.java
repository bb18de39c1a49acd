package dev.sahara.cli;

import dev.sahara.attribution.Progress;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

/** Runs the CLI in-process and keeps what it printed. */
public record CliTestSupport(int exitCode, String out, String err) {
    public static CliTestSupport run(String... args) { return run(Progress.NONE, args); }

    /** Runs the CLI with {@code listener} told every progress update (after each logged candidate, in a sweep or attribute). */
    public static CliTestSupport run(Progress listener, String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = SaharaCommand.newCommandLine(new PrintWriter(out, true), new PrintWriter(err, true), listener).execute(args);
        return new CliTestSupport(code, out.toString(), err.toString());
    }

    /** Runs a command that must be refused as bad input: exit code 2, nothing on stdout; returns its one error line. */
    public static String usageError(String... args) {
        CliTestSupport r = run(args);
        if (r.exitCode() != 2) throw new AssertionError("exit code of " + String.join(" ", args) + ": " + r.exitCode() + ", expected 2\n" + r.err());
        if (!r.out().isEmpty()) throw new AssertionError("stdout of " + String.join(" ", args) + " should be empty, got:\n" + r.out());
        return r.errorLine();
    }

    /** The one-line error, without the "error: " prefix. */
    public String errorLine() {
        String e = err.strip();
        if (e.lines().count() != 1 || !e.startsWith("error: ")) throw new AssertionError("expected one 'error: ' line on stderr, got:\n" + err);
        return e.substring("error: ".length());
    }

    /**
     * The one {@code error: } line of a run that failed after work began: status lines may come before it (what the
     * run was doing, printed when a step lasts over 0.7 s, e.g. on a loaded machine), never another error line.
     */
    public String errorLineAfterProgress() {
        List<String> lines = err.strip().lines().map(l -> l.substring(l.lastIndexOf('\r') + 1)).filter(l -> !l.isBlank()).toList();
        String last = lines.isEmpty() ? "" : lines.getLast();
        if (!last.startsWith("error: ") || lines.stream().filter(l -> l.contains("error:")).count() != 1) {
            throw new AssertionError("expected one 'error: ' line, last on stderr, got:\n" + err);
        }
        return last.substring("error: ".length());
    }
}
