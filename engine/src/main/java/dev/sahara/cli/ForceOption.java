package dev.sahara.cli;

import picocli.CommandLine.Option;

/** --force: a command writing into a folder that holds an earlier run's results replaces them (see {@link OutputFolder}). */
final class ForceOption {
    @Option(names = "--force", description = "Use an --out folder that holds an earlier run's results: remove exactly the files a run writes there "
            + "(result files, logs, plots, *.tmp), nothing else.")
    boolean force;
}
