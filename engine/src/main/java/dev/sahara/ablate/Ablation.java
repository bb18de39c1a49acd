package dev.sahara.ablate;

import dev.sahara.SaharaException;
import dev.sahara.model.ModelConfig;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A set of ablated heads, each with its own mode and ε, and the refusal-direction edits of the residual stream
 * (SPEC.md, "Refusal direction"). An argument of the forward, never a copy of the model: {@link #forLayer} turns
 * the heads into the per-layer {@link HeadEdit}s the backend applies to q, k and the attention output;
 * {@link #directionAblated} is projected out of every write to the residual stream (the embedding, every o_proj
 * and down_proj output); {@link #directionAdded} × {@link #addedCoefficient} is added to the input of its layer.
 * Immutable.
 */
public final class Ablation {
    /** One head's ablation. */
    public record Spec(AblationMode mode, float epsilon) {}

    /** Per-layer edits: on q [T, nH·hd] after RoPE, on k [T, nKv·hd] after RoPE, on the attention output [T, nH·hd]. */
    public record LayerEdits(HeadEdit q, HeadEdit k, HeadEdit out) {
        public boolean isIdentity() { return q.isIdentity() && k.isIdentity() && out.isIdentity(); }
    }

    private static final Ablation NONE = new Ablation(new TreeMap<>(), null, null, 0f);
    private final TreeMap<HeadId, Spec> heads;
    /** Projected out of every residual write, or null. */
    private final ResidualDirection ablatedDirection;
    /** Added, times addedCoefficient, to the input of its layer, or null. */
    private final ResidualDirection addedDirection;
    private final float addedCoefficient;

    private Ablation(TreeMap<HeadId, Spec> heads, ResidualDirection ablatedDirection, ResidualDirection addedDirection, float addedCoefficient) {
        this.heads = heads;
        this.ablatedDirection = ablatedDirection;
        this.addedDirection = addedDirection;
        this.addedCoefficient = addedDirection == null ? 0f : addedCoefficient;
    }

    public static Ablation none() { return NONE; }

    public static Ablation of(Iterable<HeadId> ids, AblationMode mode, float epsilon) {
        Ablation a = NONE;
        for (HeadId id : ids) a = a.with(id, mode, epsilon);
        return a;
    }

    public Ablation with(HeadId id, AblationMode mode, float epsilon) {
        if (mode.usesEpsilon() && !(epsilon >= 0)) throw new SaharaException("epsilon must be a number >= 0, got " + epsilon);
        if (!mode.usesEpsilon()) epsilon = 1f;   // the mean modes have no ε: equal ablations compare and print equal
        TreeMap<HeadId, Spec> m = new TreeMap<>(heads);
        m.put(id, new Spec(mode, epsilon));
        return new Ablation(m, ablatedDirection, addedDirection, addedCoefficient);
    }

    /**
     * Directional ablation (Arditi et al. 2024): {@code d}'s unit vector r̂ is projected out of every write to the
     * residual stream, x ← x − (x·r̂) r̂, at every layer and position: the embedding, every attention output (after
     * o_proj) and every MLP output (after down_proj). Replaces an earlier directional ablation.
     */
    public Ablation withDirectionAblated(ResidualDirection d) {
        return new Ablation(heads, Objects.requireNonNull(d), addedDirection, addedCoefficient);
    }

    /**
     * Activation addition: {@code coefficient} × {@code d.vector()} (the raw difference of means) is added to the
     * residual stream at the input of layer {@code d.layer()}, at every position. Replaces an earlier addition.
     */
    public Ablation withDirectionAdded(ResidualDirection d, float coefficient) {
        if (!Float.isFinite(coefficient)) throw new SaharaException("the coefficient of an added direction must be a finite number, got " + coefficient);
        return new Ablation(heads, ablatedDirection, Objects.requireNonNull(d), coefficient);
    }

    public Map<HeadId, Spec> heads() { return Collections.unmodifiableMap(heads); }

    /** The direction projected out of every residual write, or null. */
    public ResidualDirection directionAblated() { return ablatedDirection; }

    /** The direction added at the input of its layer, or null. */
    public ResidualDirection directionAdded() { return addedDirection; }

    /** What {@link #directionAdded} is multiplied by (0 when there is none). */
    public float addedCoefficient() { return addedCoefficient; }

    /** No head ablated and no direction edit: the unablated model. */
    public boolean isEmpty() { return heads.isEmpty() && ablatedDirection == null && addedDirection == null; }

    /**
     * The part of this ablation that determines the residual stream entering layer {@code layer}, before that
     * layer's own input edits (what {@code LlamaModel.captureResiduals} keeps): the heads of the layers below,
     * an added direction of a layer below, and a directional ablation when {@code layer} ≥ 1 (every write below
     * it was projected; the embedding's projection is applied at the input of layer 0, so the residual captured
     * entering layer 0 is the embedding as it is).
     */
    public Ablation below(int layer) {
        return new Ablation(new TreeMap<>(heads.headMap(new HeadId(layer, 0))), layer >= 1 ? ablatedDirection : null,
                addedDirection != null && addedDirection.layer() < layer ? addedDirection : null, addedCoefficient);
    }

    /**
     * The lowest layer that computes differently from unablated (layers below it compute exactly as unablated, so a
     * forward can start there from an unablated prefix), or Integer.MAX_VALUE if none: a directional ablation edits
     * the embedding, applied at the input of layer 0, so 0; an added direction its layer.
     */
    public int lowestLayer() {
        int lowest = heads.isEmpty() ? Integer.MAX_VALUE : heads.firstKey().layer();
        if (addedDirection != null) lowest = Math.min(lowest, addedDirection.layer());
        if (ablatedDirection != null) lowest = 0;
        return lowest;
    }

    /**
     * True when this ablation and {@code other} edit the residual stream at the input of {@code layer} alike (given
     * the same residual entering it, that layer's norm and q/k/v projections then read the same values).
     */
    public boolean sameInputEdits(int layer, Ablation other) {
        return Objects.equals(addedAt(layer), other.addedAt(layer)) && addedCoefficientAt(layer) == other.addedCoefficientAt(layer)
                && (layer != 0 || Objects.equals(ablatedDirection, other.ablatedDirection));
    }

    private ResidualDirection addedAt(int layer) { return addedDirection != null && addedDirection.layer() == layer ? addedDirection : null; }

    private float addedCoefficientAt(int layer) { return addedAt(layer) == null ? 0f : addedCoefficient; }

    /**
     * Checks every head against the model. K-modes under GQA act on a whole KV group, so they are refused
     * unless {@code allowGroupedKv}. A direction of another model (another hidden size, a layer it lacks) is one
     * error naming the direction's source.
     */
    public Ablation checkIn(ModelConfig c, boolean allowGroupedKv) {
        for (Map.Entry<HeadId, Spec> e : heads.entrySet()) {
            e.getKey().checkIn(c);
            if (e.getValue().mode().touchesKvHead() && c.isGqa() && !allowGroupedKv) {
                throw new SaharaException(e.getValue().mode() + " on " + e.getKey().label() + " would change KV head "
                        + e.getKey().head() / (c.numHeads() / c.numKvHeads()) + ", shared by " + c.numHeads() / c.numKvHeads()
                        + " query heads under GQA; pass --allow-grouped-kv to accept that, or use undiff-q");
            }
        }
        if (ablatedDirection != null) ablatedDirection.checkIn(c);
        if (addedDirection != null) addedDirection.checkIn(c);
        return this;
    }

    public LayerEdits forLayer(int layer, ModelConfig c) {
        HeadEdit q = HeadEdit.identity(c.numHeads()), k = HeadEdit.identity(c.numKvHeads()), out = HeadEdit.identity(c.numHeads());
        int group = c.numHeads() / c.numKvHeads();
        for (Map.Entry<HeadId, Spec> e : heads.subMap(new HeadId(layer, 0), new HeadId(layer + 1, 0)).entrySet()) {
            int h = e.getKey().head();
            float eps = e.getValue().epsilon();
            switch (e.getValue().mode()) {
                case UNDIFF_Q -> q.scale()[h] *= eps;
                case UNDIFF_K -> k.scale()[h / group] = Math.min(k.scale()[h / group], eps);   // a KV head is scaled once, even when several of its query heads are named
                case SCALE_V -> out.scale()[h] *= eps;
                case MEAN_Q -> q.mean()[h] = true;
                case MEAN_K -> k.mean()[h / group] = true;
                case MEAN_V -> out.mean()[h] = true;
            }
        }
        return new LayerEdits(q, k, out);
    }

    /**
     * Canonical text, e.g. {@code L2H26:undiff-q:1e-05,L3H8:mean-v}, then the direction edits by their source, e.g.
     * {@code L2H26:undiff-q:1e-05,direction-ablated(run/direction.json),direction-added(run/direction.json,4.0)};
     * {@code none} when empty.
     */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        heads.forEach((id, s) -> {
            if (!sb.isEmpty()) sb.append(',');
            sb.append(id.label()).append(':').append(s.mode());
            if (s.mode().usesEpsilon()) sb.append(':').append(s.epsilon());
        });
        if (ablatedDirection != null) sb.append(sb.isEmpty() ? "" : ",").append("direction-ablated(").append(ablatedDirection.source()).append(')');
        if (addedDirection != null) {
            sb.append(sb.isEmpty() ? "" : ",").append("direction-added(").append(addedDirection.source()).append(',').append(addedCoefficient).append(')');
        }
        return sb.isEmpty() ? "none" : sb.toString();
    }

    /** Equal heads and equal direction edits (directions by value: where they were read from does not count). */
    @Override
    public boolean equals(Object o) {
        return o instanceof Ablation a && a.heads.equals(heads) && Objects.equals(a.ablatedDirection, ablatedDirection)
                && Objects.equals(a.addedDirection, addedDirection) && Float.compare(a.addedCoefficient, addedCoefficient) == 0;
    }

    @Override
    public int hashCode() { return Objects.hash(heads, ablatedDirection, addedDirection, addedCoefficient); }
}
