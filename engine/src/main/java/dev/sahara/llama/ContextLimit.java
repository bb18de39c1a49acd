package dev.sahara.llama;

import dev.sahara.SaharaException;
import dev.sahara.model.ModelConfig;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * How far a model can read and write: {@code max_position_embeddings} positions. A prompt longer than that is
 * refused (RoPE past it is extrapolation the model never saw, and no other option can shorten one prompt), a
 * {@code --max-tokens} above it is refused before any work, and so is a generation whose KV cache cannot fit the
 * heap; {@link Generator} stops a sequence that fills the context and says so.
 */
public final class ContextLimit {
    private ContextLimit() {}

    /** Refuses prompt {@code index} (0-based) of {@code source} when it has more tokens than the model's context. */
    public static void checkPrompt(ModelConfig c, String source, int index, int length) {
        if (length > c.maxPositionEmbeddings()) {
            throw new SaharaException(source + ": prompt " + (index + 1) + " has " + length + " tokens, more than the model's context of "
                    + c.maxPositionEmbeddings() + " (max_position_embeddings): shorten it or leave it out");
        }
    }

    /** Refuses a {@code --max-tokens} the model cannot reach: no prompt leaves room for more than its context. */
    public static void checkMaxTokens(ModelConfig c, long maxNewTokens) {
        if (maxNewTokens > c.maxPositionEmbeddings()) {
            throw new SaharaException("--max-tokens: " + maxNewTokens + " is more than the model's context of " + c.maxPositionEmbeddings()
                    + " tokens (max_position_embeddings)");
        }
    }

    /**
     * Refuses a generation whose KV cache (layers · 2 · kv_dim floats per row, one row per prompt token and new token,
     * for the {@code batchSize} longest prompts generated together) exceeds {@value MemoryPlan#HEAP_SHARE} of the heap.
     *
     * @param extraTokens tokens added to every prompt (a forced response prefix)
     * @param given       whether the user gave maxNewTokens: then a value above the context is refused; a default is only capped by it
     */
    public static void checkGeneration(ModelConfig c, List<int[]> prompts, int extraTokens, int maxNewTokens, boolean given, int batchSize, long maxHeap) {
        if (given) checkMaxTokens(c, maxNewTokens);
        int[] lengths = prompts.stream().mapToInt(p -> p.length).sorted().toArray();
        long rows = 0;
        for (int i = 0; i < Math.min(batchSize, lengths.length); i++) rows += Math.min(c.maxPositionEmbeddings(), (long) lengths[lengths.length - 1 - i] + extraTokens + maxNewTokens);
        long bytes = rows * c.numLayers() * 2L * c.kvDim() * Float.BYTES;
        if (bytes > MemoryPlan.HEAP_SHARE * maxHeap) {
            throw new SaharaException(String.format(Locale.ROOT, "--max-tokens %d with --batch-size %d needs about %s of KV cache (%d rows of %d layers) "
                            + "but the heap allows %s: lower --max-tokens or --batch-size, or give the JVM more heap (java -Xmx...)",
                    maxNewTokens, batchSize, MemoryPlan.gib(bytes), rows, c.numLayers(), MemoryPlan.gib(maxHeap)));
        }
        if (lengths.length > 0 && Arrays.stream(lengths).max().getAsInt() + extraTokens > c.maxPositionEmbeddings()) {
            throw new SaharaException("--response-prefix: with it, the longest prompt has " + (lengths[lengths.length - 1] + extraTokens)
                    + " tokens, more than the model's context of " + c.maxPositionEmbeddings() + " (max_position_embeddings)");
        }
    }
}
