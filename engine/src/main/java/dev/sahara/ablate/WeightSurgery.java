package dev.sahara.ablate;

import dev.sahara.SaharaException;
import dev.sahara.model.DType;
import dev.sahara.model.ModelConfig;
import dev.sahara.model.TensorData;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An {@link Ablation} baked into weights (the {@code surgery} command). Built from the same per-layer
 * {@link Ablation.LayerEdits} the forward applies at run time, so the two can never disagree about which slice
 * a head owns or how scales combine:
 * <ul>
 *   <li>q scale of query head h → rows [h·hd, (h+1)·hd) of {@code q_proj.weight} (and of {@code q_proj.bias});
 *       RoPE is linear, so scaling q before RoPE equals scaling it after;</li>
 *   <li>k scale of KV head g → rows [g·hd, (g+1)·hd) of {@code k_proj.weight} (and {@code k_proj.bias});</li>
 *   <li>output scale of query head h → columns [h·hd, (h+1)·hd) of {@code o_proj.weight} (the head's output
 *       is what o_proj multiplies those columns by).</li>
 * </ul>
 * Mean modes replace activations by a mean over heads at each position; no weight edit does that, so they are refused.
 *
 * <p>Rounding: each edited element is decoded to float32, multiplied by the float32 scale, and rounded back to
 * the tensor's dtype (round to nearest even). A power-of-two scale is exact (barring underflow into subnormals);
 * any other scale rounds once in the dtype. F16's smallest positive value is about 6e-8, so scaling typical
 * weights (~1e-2) by ε = 1e-10 underflows to 0 in an F16 checkpoint: the head then behaves as ε = 0.
 * BF16 has float32's exponent range, so it keeps 1e-10·w (with 8 bits of mantissa).
 *
 * <p>A refusal direction is baked in by {@link #directionPlan} and {@link #orthogonalize} (SPEC.md, "Refusal
 * direction"): every matrix that writes to the residual stream loses its component along the unit direction r̂ —
 * the embedding's rows, the columns of every o_proj (and its bias, where a Llama has one) and down_proj — so every
 * write is orthogonal to r̂, as run-time directional ablation makes it. The LM head reads the stream and is left alone.
 */
public final class WeightSurgery {
    /** Which axis of a tensor the per-head slices run along; for a direction, which of its vectors are residual-stream vectors. */
    public enum Axis { ROWS, COLUMNS }

    /**
     * One tensor to edit: slice {@code u} (elements [u·headDim, (u+1)·headDim) along {@code axis}) is multiplied by
     * {@code scale[u]}; slices with scale 1 stay byte-identical.
     */
    public record Edit(String tensor, Axis axis, int headDim, float[] scale) {}

    /** What an edited tensor became: its new bytes and how many nonzero values rounded to zero. */
    public record Result(MemorySegment data, long underflowed, long scaled) {}

    private WeightSurgery() {}

    /** The tensor edits for {@code ablation} (already checked against the model), by tensor name. */
    public static Map<String, Edit> plan(ModelConfig c, Ablation ablation, boolean hasBias) {
        for (Map.Entry<HeadId, Ablation.Spec> e : ablation.heads().entrySet()) {
            if (!e.getValue().mode().usesEpsilon()) {
                throw new SaharaException(e.getValue().mode() + " on " + e.getKey().label() + " cannot be baked into the weights: it replaces "
                        + "activations by their mean over heads at each position, which no weight edit reproduces; use undiff-q, undiff-k "
                        + "or scale-v, or apply " + e.getValue().mode() + " at run time (--ablate with logits/generate)");
            }
        }
        Map<String, Edit> edits = new LinkedHashMap<>();
        for (int l = 0; l < c.numLayers(); l++) {
            Ablation.LayerEdits le = ablation.forLayer(l, c);
            String p = "model.layers." + l + ".self_attn.";
            if (!isOne(le.q().scale())) {
                edits.put(p + "q_proj.weight", new Edit(p + "q_proj.weight", Axis.ROWS, c.headDim(), le.q().scale()));
                if (hasBias) edits.put(p + "q_proj.bias", new Edit(p + "q_proj.bias", Axis.ROWS, c.headDim(), le.q().scale()));
            }
            if (!isOne(le.k().scale())) {
                edits.put(p + "k_proj.weight", new Edit(p + "k_proj.weight", Axis.ROWS, c.headDim(), le.k().scale()));
                if (hasBias) edits.put(p + "k_proj.bias", new Edit(p + "k_proj.bias", Axis.ROWS, c.headDim(), le.k().scale()));
            }
            if (!isOne(le.out().scale())) {
                edits.put(p + "o_proj.weight", new Edit(p + "o_proj.weight", Axis.COLUMNS, c.headDim(), le.out().scale()));
            }
        }
        return edits;
    }

    /** A copy of {@code t} (allocated in {@code arena}, off the heap) with {@code edit} applied, in t's dtype. */
    public static Result apply(TensorData t, Edit edit, Arena arena) {
        int rows = t.rows(), cols = t.cols();
        // a 1-D bias is one row whose elements are the "rows" of the projection
        boolean vector = t.shape().length == 1;
        long along = edit.axis() == Axis.COLUMNS || vector ? cols : rows;
        if (along != (long) edit.scale().length * edit.headDim() || (edit.axis() == Axis.COLUMNS && vector)) {
            throw SaharaException.inFile(t.file(), "tensor " + t.name() + " has shape " + t.shapeString() + ", which does not fit "
                    + edit.scale().length + " heads of " + edit.headDim() + " along its " + edit.axis().name().toLowerCase());
        }
        MemorySegment out = arena.allocate(t.data().byteSize(), 8);
        out.copyFrom(t.data());
        long underflowed = 0, scaled = 0;
        for (int u = 0; u < edit.scale().length; u++) {
            float s = edit.scale()[u];
            if (s == 1f) continue;
            int from = u * edit.headDim(), to = from + edit.headDim();
            if (vector) {
                for (int i = from; i < to; i++) underflowed += scale(t, out, i, s);
                scaled += to - from;
            } else if (edit.axis() == Axis.ROWS) {
                for (long i = (long) from * cols; i < (long) to * cols; i++) underflowed += scale(t, out, i, s);
                scaled += (long) (to - from) * cols;
            } else {
                for (long r = 0; r < rows; r++) {
                    for (int j = from; j < to; j++) underflowed += scale(t, out, r * cols + j, s);
                }
                scaled += (long) rows * (to - from);
            }
        }
        return new Result(out, underflowed, scaled);
    }

    /**
     * The tensors that write to the residual stream and which of their vectors live in it: embed_tokens (vocab, dim)
     * by rows; o_proj (dim, n_heads·head_dim) and down_proj (dim, intermediate) by columns; o_proj's bias (dim), where
     * a Llama config has attention_bias, as one row. Qwen2's q/k/v biases feed attention, not the stream.
     */
    public static Map<String, Axis> directionPlan(ModelConfig c) {
        Map<String, Axis> plan = new LinkedHashMap<>();
        plan.put("model.embed_tokens.weight", Axis.ROWS);
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            plan.put(p + "self_attn.o_proj.weight", Axis.COLUMNS);
            if (c.outputBias()) plan.put(p + "self_attn.o_proj.bias", Axis.ROWS);
            plan.put(p + "mlp.down_proj.weight", Axis.COLUMNS);
        }
        return plan;
    }

    /**
     * A copy of {@code t} (in {@code arena}, off the heap) whose residual-stream vectors — its rows or its columns, as
     * {@code axis} says — are each minus their projection on {@code unit}: v ← v − (v·r̂) r̂, i.e. E ← E − (E r̂) r̂ᵀ by
     * rows and W ← W − r̂ (r̂ᵀ W) by columns. Each dot product is summed in double, each value computed in double,
     * then rounded to float32 and to t's dtype (nearest even).
     */
    public static Result orthogonalize(TensorData t, Axis axis, float[] unit, Arena arena) {
        int rows = t.rows(), cols = t.cols();
        if ((axis == Axis.ROWS ? cols : rows) != unit.length || (axis == Axis.COLUMNS && t.shape().length == 1)) {
            throw SaharaException.inFile(t.file(), "tensor " + t.name() + " has shape " + t.shapeString() + ", whose "
                    + (axis == Axis.ROWS ? "rows" : "columns") + " are not vectors of the hidden size " + unit.length);
        }
        MemorySegment out = arena.allocate(t.data().byteSize(), 8);
        long underflowed = 0;
        if (axis == Axis.ROWS) {
            for (long r = 0; r < rows; r++) {
                double dot = 0;
                for (int j = 0; j < cols; j++) dot += (double) t.get(r * cols + j) * unit[j];
                for (int j = 0; j < cols; j++) underflowed += store(t, out, r * cols + j, (float) (t.get(r * cols + j) - dot * unit[j]));
            }
        } else {
            double[] dot = new double[cols];   // r̂ᵀ W, row by row so the tensor is read in storage order
            for (long r = 0; r < rows; r++) for (int j = 0; j < cols; j++) dot[j] += (double) unit[(int) r] * t.get(r * cols + j);
            for (long r = 0; r < rows; r++) {
                for (int j = 0; j < cols; j++) underflowed += store(t, out, r * cols + j, (float) (t.get(r * cols + j) - unit[(int) r] * dot[j]));
            }
        }
        return new Result(out, underflowed, (long) rows * cols);
    }

    /** out[i] = dtype(float32(t[i]) · s); 1 when a nonzero value became zero. */
    private static int scale(TensorData t, MemorySegment out, long i, float s) { return store(t, out, i, t.get(i) * s); }

    /** out[i] = dtype(v) (nearest even); 1 when t[i] was nonzero and the stored value is zero. */
    private static int store(TensorData t, MemorySegment out, long i, float v) {
        switch (t.dtype()) {
            case F32 -> out.set(TensorData.F32_LE, i * 4, v);
            case BF16 -> out.set(TensorData.I16_LE, i * 2, toBf16(v));
            case F16 -> out.set(TensorData.I16_LE, i * 2, Float.floatToFloat16(v));
        }
        return t.get(i) != 0f && decoded(t.dtype(), out, i) == 0f ? 1 : 0;
    }

    private static float decoded(DType d, MemorySegment m, long i) {
        return switch (d) {
            case F32 -> m.get(TensorData.F32_LE, i * 4);
            case BF16 -> Float.intBitsToFloat((m.get(TensorData.I16_LE, i * 2) & 0xffff) << 16);
            case F16 -> Float.float16ToFloat(m.get(TensorData.I16_LE, i * 2));
        };
    }

    /** float32 → bfloat16 bits, round to nearest even (as PyTorch); NaN stays a quiet NaN. */
    static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }

    private static boolean isOne(float[] scale) {
        for (float s : scale) if (s != 1f) return false;
        return true;
    }
}
