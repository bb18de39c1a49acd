package dev.sahara.attribution;

/** Progress of a long loop (the CLI draws it on stderr, so stdout stays clean). */
public interface Progress {
    Progress NONE = (done, total, what) -> {};

    void update(int done, int total, String what);
}
