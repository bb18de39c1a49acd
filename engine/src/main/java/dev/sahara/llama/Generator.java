package dev.sahara.llama;

import dev.sahara.SaharaException;
import dev.sahara.ablate.Ablation;
import dev.sahara.backend.AttentionLayout;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * Generation with a KV cache for many prompts at once: one packed prefill, then one row per unfinished
 * sequence per step. A sequence stops at an EOS id (not included in its output), after maxNewTokens, or when prompt and
 * output fill the model's context (max_position_embeddings): past it the model only produces noise, so it stops there and
 * {@link #filledContext} says which sequences did.
 */
public final class Generator {
    /** Called with each new token as it is chosen (for streaming); sequence is the prompt's index. */
    public interface Listener {
        void onToken(int sequence, int token);
    }

    private final LlamaModel model;
    /** Indices (in the whole set) of the sequences stopped because they filled the model's context. */
    private final Set<Integer> filledContext = new TreeSet<>();

    public Generator(LlamaModel model) { this.model = model; }

    /** Whether sequence {@code index} (its index in the whole set) stopped because prompt and output filled the model's context. */
    public boolean filledContext(int index) { return filledContext.contains(index); }

    /** The generated ids of each prompt (EOS excluded). */
    public List<int[]> generate(List<int[]> prompts, Ablation ablation, int maxNewTokens, Sampler sampler, int[] eosIds, Listener listener) {
        return generate(prompts, 0, ablation, maxNewTokens, sampler, eosIds, listener);
    }

    /**
     * As above, for prompts {@code firstIndex ..} of a larger set run in chunks: sampling seeds and listener
     * indices use the prompt's index in the whole set, so chunking never changes a result.
     */
    public List<int[]> generate(List<int[]> prompts, int firstIndex, Ablation ablation, int maxNewTokens, Sampler sampler, int[] eosIds,
                                Listener listener) {
        if (maxNewTokens < 0) throw new SaharaException("--max-tokens must be >= 0, got " + maxNewTokens);
        int n = prompts.size();
        List<List<Integer>> out = new ArrayList<>();
        for (int s = 0; s < n; s++) out.add(new ArrayList<>());
        if (maxNewTokens == 0) return toArrays(out);

        TokenBatch prefill = TokenBatch.pack(prompts);
        int[] cacheStart = new int[n], length = new int[n];
        int context = model.config().maxPositionEmbeddings();
        long capacity = 0;
        for (int s = 0; s < n; s++) {
            ContextLimit.checkPrompt(model.config(), "the prompt", firstIndex + s, prompts.get(s).length);
            cacheStart[s] = Math.toIntExact(capacity);
            length[s] = prompts.get(s).length;
            capacity += Math.min(context, (long) length[s] + maxNewTokens);   // rows read: never more than the context
        }
        KvCache cache = KvCache.perLayer(model.backend(), model.config().numLayers(), Math.toIntExact(capacity), model.config().kvDim());
        AttentionLayout pl = prefill.layout();
        // Each step gives every sequence's k largest logits (k = 1 for greedy), all the sampler reads: the
        // (sequences × vocab) logits stay on the backend. (n · k) ids and logits, rewritten by every step.
        int k = sampler.candidates(model.config().vocabSize());
        int[] topIds = new int[n * k];
        float[] topLogits = new float[n * k];
        LogitsReader top = LogitsReader.topK(k, topIds, topLogits);
        TokenBatch cachedPrefill = new TokenBatch(prefill.tokens(), new AttentionLayout(pl.rowStart(), pl.newTokens(), pl.pastLen(), cacheStart));
        model.forward(Forward.of(cachedPrefill, ablation).into(cache).reading(top));

        SplittableRandom[] random = new SplittableRandom[n];
        for (int s = 0; s < n; s++) random[s] = sampler.randomFor(firstIndex + s);
        List<Integer> active = new ArrayList<>();
        int[] next = new int[n];
        for (int s = 0; s < n; s++) {
            next[s] = sampler.pick(topIds, topLogits, s * k, k, random[s]);
            if (accept(s, firstIndex, next[s], out, eosIds, maxNewTokens, context - length[s] + 1, listener)) active.add(s);
        }
        while (!active.isEmpty()) {
            int m = active.size();
            int[] tokens = new int[m], rowStart = new int[m], newTokens = new int[m], past = new int[m], cs = new int[m];
            for (int i = 0; i < m; i++) {
                int s = active.get(i);
                tokens[i] = next[s];
                rowStart[i] = i;
                newTokens[i] = 1;
                past[i] = length[s] + out.get(s).size() - 1;
                cs[i] = cacheStart[s];
            }
            model.forward(Forward.of(new TokenBatch(tokens, new AttentionLayout(rowStart, newTokens, past, cs)), ablation).into(cache).reading(top));
            List<Integer> still = new ArrayList<>();
            for (int i = 0; i < m; i++) {
                int s = active.get(i);
                next[s] = sampler.pick(topIds, topLogits, i * k, k, random[s]);
                if (accept(s, firstIndex, next[s], out, eosIds, maxNewTokens, context - length[s] + 1, listener)) still.add(s);
            }
            active = still;
        }
        return toArrays(out);
    }

    /**
     * Records the token unless it is EOS; true while the sequence should go on: fewer than maxNewTokens, and room
     * for the token to be read (the model reads positions 0 .. context − 1; the token it writes from the last of
     * them is kept but never read, hence {@code room} = context − prompt length + 1). A stop for lack of room is
     * remembered.
     */
    private boolean accept(int s, int firstIndex, int token, List<List<Integer>> out, int[] eosIds, int maxNewTokens, int room, Listener listener) {
        for (int e : eosIds) if (e == token) return false;
        out.get(s).add(token);
        if (listener != null) listener.onToken(firstIndex + s, token);
        int size = out.get(s).size();
        if (size < maxNewTokens && size < room) return true;
        if (size >= room && room < maxNewTokens) filledContext.add(firstIndex + s);
        return false;
    }

    private static List<int[]> toArrays(List<List<Integer>> lists) {
        List<int[]> r = new ArrayList<>();
        for (List<Integer> l : lists) r.add(l.stream().mapToInt(Integer::intValue).toArray());
        return r;
    }
}
