package dev.sahara.cli.options;

import dev.sahara.data.Dataset;
import dev.sahara.data.Datasets;
import picocli.CommandLine.Option;

/** --dataset, --column, --limit: the harmful queries a command runs on. */
public class DatasetOptions {
    @Option(names = "--dataset", paramLabel = "D", defaultValue = "builtin:maliciousinstruct",
            description = "builtin:advbench | builtin:jailbreakbench | builtin:maliciousinstruct | builtin:harmless, or a .csv/.txt/.json/.jsonl file. Default: ${DEFAULT-VALUE}.")
    public String dataset;

    @Option(names = "--column", paramLabel = "NAME", description = "Field holding the query in a CSV/JSON/JSONL file.")
    public String column;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "0", description = "Use only the first N queries (0 = all).")
    public int limit;

    public Dataset load() { return Datasets.load(dataset, column, limit); }
}
