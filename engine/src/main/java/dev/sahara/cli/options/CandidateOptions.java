package dev.sahara.cli.options;

import dev.sahara.ablate.AblationMode;
import dev.sahara.ablate.Epsilon;
import dev.sahara.attribution.AttributionSettings;
import dev.sahara.model.ModelConfig;
import picocli.CommandLine.Option;

/** How a candidate head is ablated while it is scored (ships, sweep, attribute): --ablation, --epsilon, --allow-grouped-kv. */
public final class CandidateOptions {
    @Option(names = "--ablation", paramLabel = "MODE", defaultValue = "undiff-q",
            description = "How a candidate head is ablated: undiff-q | undiff-k | scale-v | mean-q | mean-k | mean-v. Default: ${DEFAULT-VALUE}.")
    String mode;

    @Option(names = "--epsilon", paramLabel = "E", defaultValue = Epsilon.CANDIDATE_TEXT, description = "ε of the candidate ablation. Default: ${DEFAULT-VALUE}.")
    float epsilon;

    @Option(names = "--allow-grouped-kv", description = "Allow undiff-k / mean-k under GQA, where they change every query head sharing the KV head.")
    boolean allowGroupedKv;

    public AblationMode mode() { return AblationMode.parse(mode); }

    public float epsilon() { return AblationOptions.checkEpsilon("--epsilon", epsilon); }

    /** Refuses a K-mode under GQA unless --allow-grouped-kv (SPEC.md). */
    public void checkAllowed(ModelConfig c) {
        if (mode().touchesKvHead()) AblationOptions.checkModeIn(c, mode(), epsilon(), allowGroupedKv);
    }

    /** The settings of a dataset-level run (the angle options say r_main and prefix reuse). */
    public AttributionSettings settings(AngleOptions angle) {
        return new AttributionSettings(mode(), epsilon(), angle.rank(), false, angle.prefixReuse());
    }
}
