package dev.sahara.ablate;

import dev.sahara.SaharaException;
import dev.sahara.model.ModelConfig;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * A set of ablated heads, each with its own mode and ε. An argument of the forward, never a copy of the
 * model: {@link #forLayer} turns it into the per-layer {@link HeadEdit}s the backend applies to q, k and the
 * attention output. Immutable.
 */
public final class Ablation {
    /** One head's ablation: a mode and, for the modes that scale, ε. */
    public record Spec(AblationMode mode, float epsilon) {
        public Spec {
            if (mode.usesEpsilon() && !(epsilon >= 0)) throw new SaharaException("epsilon must be a number >= 0, got " + epsilon);
            if (!mode.usesEpsilon()) epsilon = 1f;   // the mean modes have no ε: equal ablations compare and print equal
        }
    }

    /** Per-layer edits: on q [T, nH·hd] after RoPE, on k [T, nKv·hd] after RoPE, on the attention output [T, nH·hd]. */
    public record LayerEdits(HeadEdit q, HeadEdit k, HeadEdit out) {
        public boolean isIdentity() { return q.isIdentity() && k.isIdentity() && out.isIdentity(); }
    }

    private static final Ablation NONE = new Ablation(new TreeMap<>());
    private final TreeMap<HeadId, Spec> heads;

    private Ablation(TreeMap<HeadId, Spec> heads) { this.heads = heads; }

    public static Ablation none() { return NONE; }

    /** Every head of {@code ids} ablated as {@code spec}. */
    public static Ablation of(Iterable<HeadId> ids, Spec spec) {
        Ablation a = NONE;
        for (HeadId id : ids) a = a.with(id, spec);
        return a;
    }

    /** This ablation with {@code id} ablated as {@code spec} too (instead, if it was already). */
    public Ablation with(HeadId id, Spec spec) {
        TreeMap<HeadId, Spec> m = new TreeMap<>(heads);
        m.put(id, spec);
        return new Ablation(m);
    }

    public Map<HeadId, Spec> heads() { return Collections.unmodifiableMap(heads); }

    public boolean isEmpty() { return heads.isEmpty(); }

    /** The part of this ablation on layers below {@code layer}. */
    public Ablation below(int layer) {
        return new Ablation(new TreeMap<>(heads.headMap(new HeadId(layer, 0))));
    }

    /** The lowest ablated layer (layers below it compute exactly as unablated), or Integer.MAX_VALUE if none. */
    public int lowestLayer() { return heads.isEmpty() ? Integer.MAX_VALUE : heads.firstKey().layer(); }

    /**
     * Checks every head against the model. K-modes under GQA act on a whole KV group, so they are refused
     * unless {@code allowGroupedKv}.
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

    /** Canonical text, e.g. {@code L2H26:undiff-q:1e-05,L3H8:mean-v}. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        heads.forEach((id, s) -> {
            if (!sb.isEmpty()) sb.append(',');
            sb.append(id.label()).append(':').append(s.mode());
            if (s.mode().usesEpsilon()) sb.append(':').append(s.epsilon());
        });
        return sb.isEmpty() ? "none" : sb.toString();
    }

    @Override
    public boolean equals(Object o) { return o instanceof Ablation a && a.heads.equals(heads); }

    @Override
    public int hashCode() { return heads.hashCode(); }
}
