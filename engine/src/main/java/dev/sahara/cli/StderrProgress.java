package dev.sahara.cli;

import dev.sahara.attribution.Progress;

import java.io.PrintWriter;

/** Progress lines on stderr (stdout stays clean for --json): one line every ~10 % and at the end. */
final class StderrProgress implements Progress {
    private final PrintWriter err;
    private final String label;
    private final long start = System.nanoTime();
    private int lastDecile = -1;
    private String lastWhat = "";

    StderrProgress(PrintWriter err, String label) {
        this.err = err;
        this.label = label;
    }

    @Override
    public void update(int done, int total, String what) {
        String stage = what.contains(" ") ? what.substring(0, what.lastIndexOf(' ')) : "";
        int decile = total == 0 ? 10 : done * 10 / total;
        if (decile == lastDecile && stage.equals(lastWhat) && done != total) return;
        lastDecile = decile;
        lastWhat = stage;
        err.printf("%s: %d/%d %s (%.1f s)%n", label, done, total, what, (System.nanoTime() - start) / 1e9);
        err.flush();
    }
}
