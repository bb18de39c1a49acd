package dev.sahara.cli.options;

import java.io.PrintWriter;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A stderr line saying what a run is doing before its progress lines start (loading the model, encoding the prompts,
 * the first forward), printed only when that step is still going on a moment later: a long silent start says what
 * it is doing, and an input refused at once stays one {@code error:} line.
 */
public final class StatusLine {
    /** How long a step runs before its line is printed; 0 prints at once (tests). */
    public static volatile long delayMillis = 700;

    private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "sahara-status-line");
        t.setDaemon(true);
        return t;
    });
    private static ScheduledFuture<?> pending;

    private StatusLine() {}

    /** Says {@code line} unless another line, a progress line or the end of the run comes first. */
    public static synchronized void show(PrintWriter err, String line) {
        clear();
        if (delayMillis <= 0) {
            print(err, line);
            return;
        }
        pending = TIMER.schedule(() -> print(err, line), delayMillis, TimeUnit.MILLISECONDS);
    }

    /** Drops a line not yet printed: the step it describes is over. */
    public static synchronized void clear() {
        if (pending != null) pending.cancel(false);
        pending = null;
    }

    private static void print(PrintWriter err, String line) {
        synchronized (StatusLine.class) {
            err.println(line);
            err.flush();
        }
    }
}
