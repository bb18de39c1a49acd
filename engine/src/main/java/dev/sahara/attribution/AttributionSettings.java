package dev.sahara.attribution;

import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.AblationMode;
import dev.sahara.ablate.Epsilon;

/**
 * The method's choices, written into every result file (SPEC.md).
 *
 * @param mode          how a candidate head is ablated (default undiff-q)
 * @param epsilon       ε for the candidate ablation (default {@link Epsilon#CANDIDATE}, the official attribution value)
 * @param rMain         leading singular vectors compared by dataset-level Ships (default 1)
 * @param officialKl    query-level Ships with the official code's +1e-12 and no renormalisation
 * @param prefixReuse   start a candidate's forward at its own layer from cached residuals
 */
public record AttributionSettings(AblationMode mode, float epsilon, int rMain, boolean officialKl, boolean prefixReuse) {
    public static AttributionSettings defaults() { return new AttributionSettings(AblationMode.UNDIFF_Q, Epsilon.CANDIDATE, 1, false, true); }

    /** How a candidate head is ablated: mode and ε as one. */
    public Ablation.Spec candidate() { return new Ablation.Spec(mode, epsilon); }

    /** Query-level Ships (ships, ships-asr): r_main and prefix reuse are dataset-level settings and do not apply. */
    public static AttributionSettings queryLevel(AblationMode mode, float epsilon, boolean officialKl) {
        return new AttributionSettings(mode, epsilon, 1, officialKl, true);
    }
}
