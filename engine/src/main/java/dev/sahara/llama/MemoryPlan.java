package dev.sahara.llama;

import dev.sahara.SaharaException;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.ModelConfig;

import java.util.List;
import java.util.Locale;

/**
 * What a dataset-level run (Ships, sweep, Sahara) will hold in memory, estimated before it starts, so a run that
 * cannot fit is refused at once with a clear message instead of failing hours later with OutOfMemoryError.
 * Heap-resident (CPU backend, float32): one packed forward's activations (residual, normed input, q, k, v, head
 * outputs, o, gate, up: T rows each), its scratch KV cache (2 · T · kv_dim, one pair all layers share), the residual cache of prefix
 * reuse (layers · T · dim, plus the copy a candidate starts from), the downloaded outputs (prompts × vocab logits
 * or × dim states). The weights are memory-mapped (and, on the CPU backend, packed once into off-heap memory),
 * not on the heap: they are reported, not compared.
 */
public record MemoryPlan(long tokens, long activationBytes, long kvCacheBytes, long residualCacheBytes, long outputBytes, long mappedWeightBytes) {
    /** The part of the heap a run may plan to use; the rest is left to the JVM, EJML and the tokenizer. */
    static final double HEAP_SHARE = 0.8;

    public long heapBytes() { return activationBytes + kvCacheBytes + residualCacheBytes + outputBytes; }

    public static MemoryPlan of(ModelConfig c, List<int[]> prompts, boolean prefixReuse, boolean logits, long mappedWeightBytes) {
        long t = 0;
        for (int[] p : prompts) t += p.length;
        long f = Float.BYTES;
        long perRow = 3L * c.hiddenSize() + c.qDim() * 2L + c.kvDim() * 2L + 2L * c.intermediateSize();
        long act = t * perRow * f;
        long kv = 2L * t * c.kvDim() * f;   // a prefill that is not continued shares one K/V pair across layers (KvCache.scratch)
        long resid = prefixReuse ? (c.numLayers() + 1L) * t * c.hiddenSize() * f : 0;
        long out = (long) prompts.size() * (logits ? 2L * c.vocabSize() : c.hiddenSize()) * f * 2;
        return new MemoryPlan(t, act, kv, resid, out, mappedWeightBytes);
    }

    /** Refuses the run when its heap part exceeds {@value #HEAP_SHARE} of {@code maxHeap} (Runtime.maxMemory()). */
    public MemoryPlan check(long maxHeap) {
        if (heapBytes() > HEAP_SHARE * maxHeap) {
            throw new SaharaException(String.format(Locale.ROOT,
                    "this run needs about %s of Java heap (%d prompt tokens packed in one forward: activations %s, KV cache %s, residual cache %s, "
                            + "outputs %s; weights %s memory-mapped besides) but the heap allows %s: use --limit to take fewer prompts, "
                            + "--no-prefix-reuse to drop the residual cache, or give the JVM more heap (java -Xmx...)",
                    gib(heapBytes()), tokens, gib(activationBytes), gib(kvCacheBytes), gib(residualCacheBytes), gib(outputBytes), gib(mappedWeightBytes),
                    gib(maxHeap)));
        }
        return this;
    }

    /** Bytes of tensor data the checkpoint maps. */
    public static long mappedBytes(Checkpoint ck) {
        return ck.tensors().values().stream().mapToLong(t -> t.data().byteSize()).sum();
    }

    static String gib(long bytes) {
        return bytes >= 1L << 30 ? String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30))
                : String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
    }
}
