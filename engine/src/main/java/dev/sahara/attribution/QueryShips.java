package dev.sahara.attribution;

import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.HeadId;
import dev.sahara.backend.Tensor;
import dev.sahara.llama.Forward;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.LogitsReader;
import dev.sahara.llama.MemoryPlan;
import dev.sahara.llama.TokenBatch;
import dev.sahara.model.ModelConfig;

import java.util.List;
import java.util.function.Predicate;

/**
 * Query-level Ships (paper §3, Eq. 9): for each prompt, Ships(q, h) = KL(p ‖ p_h) between the next-token
 * distributions at the last prompt position of the unablated model and of the model with head h ablated.
 * All prompts run packed in one forward per head; the full layer × head matrix is kept for every prompt.
 */
public final class QueryShips {
    private QueryShips() {}

    /** scores[prompt][layer][head]. */
    public static double[][][] compute(LlamaModel model, List<int[]> prompts, AttributionSettings s, Progress progress) {
        return compute(model, prompts, s, id -> true, progress);
    }

    /** As above for the heads {@code include} accepts (one shard's); the others are NaN. */
    public static double[][][] compute(LlamaModel model, List<int[]> prompts, AttributionSettings s, Predicate<HeadId> include,
                                       Progress progress) {
        ModelConfig c = model.config();
        MemoryPlan.of(c, prompts, s.prefixReuse(), true, MemoryPlan.mappedBytes(model.checkpoint())).check(Runtime.getRuntime().maxMemory());
        CandidateRunner runner = new CandidateRunner(model, TokenBatch.pack(prompts), s.prefixReuse());
        // The unablated logits go to the backend once; each candidate's KL against them is computed there, so only
        // (prompts) numbers per candidate come back.
        float[][] baseRows = runner.run(Ablation.none(), Forward.Outputs.LAST_LOGITS).lastLogits();
        Tensor base = model.backend().allocate(prompts.size(), c.vocabSize());   // (prompts, vocab)
        float[] flat = new float[prompts.size() * c.vocabSize()];
        for (int p = 0; p < prompts.size(); p++) System.arraycopy(baseRows[p], 0, flat, p * c.vocabSize(), c.vocabSize());
        model.backend().upload(base, flat);
        double[] kl = new double[prompts.size()];
        LogitsReader klFromBase = LogitsReader.klFrom(base, s.officialKl(), kl);
        double[][][] scores = new double[prompts.size()][c.numLayers()][c.numHeads()];
        int total = 0, done = 0;
        for (int l = 0; l < c.numLayers(); l++) for (int h = 0; h < c.numHeads(); h++) if (include.test(new HeadId(l, h))) total++;
        for (int l = 0; l < c.numLayers(); l++) {
            for (int h = 0; h < c.numHeads(); h++) {
                HeadId id = new HeadId(l, h);
                if (!include.test(id)) {
                    for (int p = 0; p < prompts.size(); p++) scores[p][l][h] = Double.NaN;
                    continue;
                }
                runner.runCandidate(Ablation.none(), id, s.candidate(), klFromBase);
                for (int p = 0; p < prompts.size(); p++) scores[p][l][h] = kl[p];
                progress.update(++done, total, id.label());
            }
        }
        return scores;
    }
}
