package dev.sahara.cli.options;

import dev.sahara.attribution.Shard;
import picocli.CommandLine.Option;

/** {@code --shard K/N | auto | auto/N}: score only shard K of N of the candidates (docs/SCALE.md). */
public final class ShardOption {
    @Option(names = "--shard", paramLabel = "K/N",
            description = "Score only shard K (0-based) of N of the candidates and log them in --out; 'auto' reads SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT, "
                    + "'auto/N' takes the index from Slurm or Kubernetes' JOB_COMPLETION_INDEX and N as given. Combine the shards with 'merge'.")
    String shard;

    /** The shard, or null for an unsharded run. */
    public Shard shard() { return shard == null ? null : Shard.parse(shard, System.getenv()); }
}
