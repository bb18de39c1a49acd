package dev.sahara.fuzz;

import dev.sahara.SaharaException;

/** Shared checks of the fuzz tests: the documented error is one line that names where the problem is. */
final class Fuzz {
    private Fuzz() {}

    static void assertOneLine(SaharaException e, String where) {
        String m = e.getMessage();
        if (m == null || m.isBlank() || m.contains("\n") || m.contains("\r")) throw new AssertionError("not a one-line message: " + m, e);
        if (where != null && !m.contains(where)) throw new AssertionError("does not name " + where + ": " + m, e);
    }
}
