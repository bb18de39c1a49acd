package dev.sahara.cli;

import dev.sahara.SaharaException;
import dev.sahara.eval.RefusalJudge;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** How responses are generated and judged for the attack success rate (SPEC.md). */
public final class AsrOptions {
    public int maxTokens = 128;
    /** Whether --max-tokens was given: a value given above the model's context is refused, the default is only capped by it. */
    boolean maxTokensGiven;

    @Option(names = "--max-tokens", paramLabel = "N", description = "New tokens per response at most (and at most the model's context). Default: 128.")
    void maxTokens(int n) {
        maxTokens = n;
        maxTokensGiven = true;
    }

    @Mixin
    public SamplingOptions sampling;

    @Option(names = "--keywords", paramLabel = "LIST", defaultValue = "paper",
            description = "Refusal keywords: paper (Table 4), official (the official code's list as it behaves), gcg, or a file (one phrase per line). Default: ${DEFAULT-VALUE}.")
    public String keywords;

    @Option(names = "--repetition", paramLabel = "N,K", description = "Also count a response as a refusal when some run of N words occurs K times (off by default).")
    public String repetition;

    @Option(names = "--batch-size", paramLabel = "B", defaultValue = "16", description = "Prompts generated together (bounds the KV cache). Results do not depend on it. Default: ${DEFAULT-VALUE}.")
    public int batchSize;

    public RefusalJudge judge() {
        RefusalJudge j = RefusalJudge.named(keywords);
        if (repetition != null) {
            String[] p = repetition.split(",");
            try {
                if (p.length != 2) throw new NumberFormatException();
                j = j.withRepetitionFilter(Integer.parseInt(p[0].strip()), Integer.parseInt(p[1].strip()));
            } catch (NumberFormatException e) {
                throw new SaharaException("--repetition must be N,K (e.g. 3,4), got '" + repetition + "'");
            }
        }
        return j;
    }

    /** The checked settings; a command may call {@link #check()} earlier, to report these options before its own. */
    AsrSettings settings() {
        check();
        return new AsrSettings(judge(), maxTokens, batchSize, maxTokensGiven);
    }

    public void check() {
        if (maxTokens < 1) throw new SaharaException("--max-tokens must be >= 1, got " + maxTokens);
        if (batchSize < 1) throw new SaharaException("--batch-size must be >= 1, got " + batchSize);
    }
}
