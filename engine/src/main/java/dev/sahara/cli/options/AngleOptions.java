package dev.sahara.cli.options;

import dev.sahara.SaharaException;
import picocli.CommandLine.Option;

/** Dataset-level Ships options (sweep, attribute): --rank and --no-prefix-reuse. */
public final class AngleOptions {
    @Option(names = "--rank", paramLabel = "R", defaultValue = "1", description = "r_main: leading singular vectors compared. Default: ${DEFAULT-VALUE}.")
    int rank;

    @Option(names = "--no-prefix-reuse", description = "Recompute every candidate from layer 0 (same scores, slower).")
    boolean noPrefixReuse;

    public int rank() {
        if (rank < 1) throw new SaharaException("--rank must be >= 1, got " + rank);
        return rank;
    }

    public boolean prefixReuse() { return !noPrefixReuse; }
}
