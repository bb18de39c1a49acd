package dev.sahara.direction;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * One (layer, position) candidate of the direction search and its scores on the validation prompts (Arditi et al.
 * §C): {@code bypass}, the mean refusal score of the harmful prompts with the direction ablated at every layer;
 * {@code induce}, the mean refusal score of the harmless prompts with the raw direction added at the input of
 * {@code layer}; {@code kl}, the mean KL(p_base ‖ p_ablated) of the harmless prompts' last-position distributions.
 * A zero difference of means has no direction: its scores are NaN.
 */
public record DirectionCandidate(int layer, int position, float[] vector, double bypass, double induce, double kl) {

    /** The filters of the selection (Arditi et al.'s, each threshold an option). */
    public record Filters(double klMax, double maxLayerFraction, int layers) {
        /** Layers at or above this are refused: l < fraction · L. */
        public double layerBound() { return maxLayerFraction * layers; }
    }

    /** The names of the filters this candidate fails, in a fixed order; empty when it passes. */
    public List<String> failed(Filters f) {
        List<String> out = new ArrayList<>();
        if (Double.isNaN(bypass) || Double.isNaN(induce) || Double.isNaN(kl)) out.add("not_scored");
        if (!(induce > 0)) out.add("induce");            // adding it must make harmless prompts refuse (log-odds > 0)
        if (!(kl <= f.klMax())) out.add("kl");            // ablating it must leave harmless prompts' distributions nearly alone
        if (!(layer < f.layerBound())) out.add("layer");  // the last layers hold directions of the output, not of the concept
        return out;
    }

    /**
     * The lowest bypass score among the candidates that pass every filter; ties go to the lower layer, then to the later
     * position (-1 before -2). Empty when none passes.
     */
    public static Optional<DirectionCandidate> choose(List<DirectionCandidate> candidates, Filters f) {
        return candidates.stream().filter(c -> c.failed(f).isEmpty()).min(SELECTION_ORDER);
    }

    static final Comparator<DirectionCandidate> SELECTION_ORDER = Comparator.comparingDouble(DirectionCandidate::bypass)
            .thenComparingInt(DirectionCandidate::layer)
            .thenComparing(Comparator.comparingInt(DirectionCandidate::position).reversed());

    public double norm() {
        double s = 0;
        for (float v : vector) s += (double) v * v;
        return Math.sqrt(s);
    }
}
