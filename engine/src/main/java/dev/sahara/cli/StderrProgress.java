package dev.sahara.cli;

import dev.sahara.attribution.Progress;
import dev.sahara.cli.options.StatusLine;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * Progress lines on stderr (stdout stays clean for --json): the first item, then at most one line a second, the
 * last item, and every change of stage, each with the exact count, the time so far and, once a loop has run a few
 * seconds, an estimate of the time left.
 */
final class StderrProgress implements Progress {
    /** Seconds between two lines of the same stage. */
    static final double INTERVAL = 1.0;
    /** Seconds a loop must have run before its estimate means something. */
    static final double ETA_AFTER = 3.0;

    private final PrintWriter err;
    private final String label;
    private final long start = System.nanoTime();
    private long stageStart = start;
    private double lastLine = Double.NEGATIVE_INFINITY;
    private String lastStage = null;
    private int stageFirstDone;

    StderrProgress(PrintWriter err, String label) {
        this.err = err;
        this.label = label;
    }

    /** The progress of one stage of a command: lines on its stderr, then the command line's listener (see {@link SaharaCommand#newCommandLine}). */
    static Progress of(CommandSpec spec, String label) {
        Progress lines = new StderrProgress(spec.commandLine().getErr(), label), listener = SaharaCommand.listener(spec);
        return (done, total, what) -> {
            lines.update(done, total, what);
            listener.update(done, total, what);
        };
    }

    @Override
    public void update(int done, int total, String what) {
        StatusLine.clear();   // this line says what is going on now
        long now = System.nanoTime();
        String stage = what.contains(" ") ? what.substring(0, what.lastIndexOf(' ')) : "";
        boolean newStage = !stage.equals(lastStage);
        if (newStage) {
            lastStage = stage;
            stageStart = now;
            stageFirstDone = done - 1;
        }
        double elapsed = (now - start) / 1e9;
        if (!newStage && done != total && elapsed - lastLine < INTERVAL) return;
        lastLine = elapsed;
        String eta = "";
        double inStage = (now - stageStart) / 1e9;
        int doneInStage = done - stageFirstDone;
        if (done < total && inStage >= ETA_AFTER && doneInStage > 0) {
            eta = String.format(Locale.ROOT, ", about %.0f s left", inStage / doneInStage * (total - done));
        }
        err.printf(Locale.ROOT, "%s: %d/%d %s (%.1f s%s)%n", label, done, total, what, elapsed, eta);
        err.flush();
    }
}
