package dev.sahara.model;

import dev.sahara.SaharaException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * {@code synthetic:NAME[:DTYPE]}: a Llama checkpoint of a real model's shape with deterministic pseudo-random
 * weights made in (off-heap) memory, for timing and CPU-vs-GPU checks without downloading anything. Element i
 * of tensor "name" is a pure function of (name, i), so the weights do not depend on thread count or order.
 * Matrices are uniform with variance 1/cols (activations keep their scale through the layers); norm weights
 * are 1 ± 0.1. There is no tokenizer: feed token ids ({@code logits --token-ids}).
 *
 * <pre>
 * name          layers  dim   heads kv  head_dim hidden vocab   dtype  (approx. size)
 * llama-2-7b    32      4096  32    32  128      11008  32000   f16    13.5 GB
 * llama-3-8b    32      4096  32    8   128      14336  128256  bf16   16.1 GB
 * tiny          2       64    4     2   16       172    256     bf16   0.1 MB
 * </pre>
 */
public final class SyntheticModels {
    public static final String PREFIX = "synthetic:";

    private SyntheticModels() {}

    /** The configs by name (as Hugging Face's config.json for those models gives them; tiny is ours). */
    public static ModelConfig config(String name) {
        return switch (name) {
            case "llama-2-7b" -> new ModelConfig("LlamaForCausalLM", 4096, 11008, 32, 32, 32, 128, 32000, 1e-5f, 10000.0, null, false, 4096, false, 0);
            case "llama-3-8b" -> new ModelConfig("LlamaForCausalLM", 4096, 14336, 32, 32, 8, 128, 128256, 1e-5f, 500000.0, null, false, 8192, false, 0);
            case "tiny" -> new ModelConfig("LlamaForCausalLM", 64, 172, 2, 4, 2, 16, 256, 1e-5f, 10000.0, null, false, 256, false, 0);
            default -> throw new SaharaException("unknown synthetic model '" + name + "' (known: llama-2-7b, llama-3-8b, tiny)");
        };
    }

    static DType defaultDtype(String name) {
        return switch (name) {
            case "llama-2-7b" -> DType.F16;
            default -> DType.BF16;
        };
    }

    /** Builds {@code spec} = "synthetic:NAME[:f32|f16|bf16]". */
    public static Checkpoint open(String spec) {
        if (!spec.startsWith(PREFIX)) throw new IllegalArgumentException(spec);
        String[] parts = spec.substring(PREFIX.length()).split(":");
        if (parts.length > 2) throw new SaharaException("synthetic model spec is synthetic:NAME[:DTYPE], got " + spec);
        ModelConfig c = config(parts[0]);
        DType dtype = parts.length == 2 ? parseDtype(parts[1]) : defaultDtype(parts[0]);
        return build(Path.of(spec), c, dtype, 0x5a4a12aL);
    }

    private static DType parseDtype(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "f32" -> DType.F32;
            case "f16" -> DType.F16;
            case "bf16" -> DType.BF16;
            default -> throw new SaharaException("synthetic model dtype must be f32, f16 or bf16, got " + s);
        };
    }

    /** A checkpoint of config {@code c} with every tensor in {@code dtype}. */
    public static Checkpoint build(Path name, ModelConfig c, DType dtype, long seed) {
        List<LlamaTensor.Entry> entries = LlamaTensor.all(c);
        Arena arena = Arena.ofShared();
        try {
            Map<String, TensorData> tensors = new LinkedHashMap<>();
            for (LlamaTensor.Entry s : entries) {
                tensors.put(s.name(), new TensorData(s.name(), dtype, s.shape(), arena.allocate(s.elements() * dtype.bytes, 64), name));
            }
            // Fill in parallel over (tensor, chunk): every element is a function of (seed, name, index) only.
            final int chunk = 1 << 20;
            List<long[]> work = new ArrayList<>();
            for (int i = 0; i < entries.size(); i++) {
                long n = tensors.get(entries.get(i).name()).elementCount();
                for (long off = 0; off < n; off += chunk) work.add(new long[] {i, off, Math.min(chunk, n - off)});
            }
            IntStream.range(0, work.size()).parallel().forEach(w -> {
                long[] job = work.get(w);
                LlamaTensor.Entry s = entries.get((int) job[0]);
                TensorData t = tensors.get(s.name());
                long tensorSeed = mix(seed ^ s.name().hashCode() * 0x9E3779B97F4A7C15L);
                double amp = s.norm() ? 0.1 : Math.sqrt(3.0 / t.cols());
                fill(t.data(), dtype, job[1], (int) job[2], tensorSeed, s.norm() ? 1.0 : 0.0, amp);
            });
            return Checkpoint.inMemory(name, c, tensors, arena);
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            throw e;
        }
    }

    /** seg[first .. first+count) = center + amp · u, u uniform in [-1, 1) from splitmix64(seed + index). */
    private static void fill(MemorySegment seg, DType dtype, long first, int count, long seed, double center, double amp) {
        for (long i = first; i < first + count; i++) {
            double u = (mix(seed + i) >>> 11) * 0x1.0p-53 * 2 - 1;
            float v = (float) (center + amp * u);
            switch (dtype) {
                case F32 -> seg.set(TensorData.F32_LE, i * 4, v);
                case F16 -> seg.set(TensorData.I16_LE, i * 2, Float.floatToFloat16(v));
                case BF16 -> seg.set(TensorData.I16_LE, i * 2, (short) ((Float.floatToRawIntBits(v) + 0x7FFF + ((Float.floatToRawIntBits(v) >>> 16) & 1)) >>> 16));
            }
        }
    }

    /** splitmix64's finaliser. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
