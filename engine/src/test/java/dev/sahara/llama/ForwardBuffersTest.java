package dev.sahara.llama;

import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.AblationMode;
import dev.sahara.ablate.HeadId;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.model.Checkpoint;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Shortcuts of {@link LlamaModel} that must not change a single bit: the last layer computed on each sequence's
 * last row only (when no logits at every row are asked for), activation buffers reused from the previous forward
 * with as many rows, and decoding steps that hand back only each row's top k logits.
 */
class ForwardBuffersTest {
    static Stream<String> models() { return TestModels.TINY.stream(); }

    static List<int[]> prompts(int n, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        return Stream.generate(() -> r.ints(2 + r.nextInt(9), 3, vocab).toArray()).limit(n).toList();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void lastRowsOnlyGivesTheSameBitsAsTheFullLastLayer(String name) {
        try (LlamaModel m = new LlamaModel(Checkpoint.open(TestModels.tiny(name)), new CpuBackend(2))) {
            var c = m.config();
            TokenBatch batch = TokenBatch.pack(prompts(5, c.vocabSize(), 1));
            // heads in the last layer, where the shortcut starts
            Ablation ablation = Ablation.of(List.of(new HeadId(c.numLayers() - 1, 0), new HeadId(0, c.numHeads() - 1)), new Ablation.Spec(AblationMode.UNDIFF_Q, 1e-5f));
            for (Ablation a : List.of(Ablation.none(), ablation)) {
                LlamaModel.Result full = m.forward(Forward.of(batch, a).returning(new Forward.Outputs(true, true, true)));   // every row: no shortcut
                LlamaModel.Result lastOnly = m.forward(Forward.of(batch, a).returning(new Forward.Outputs(true, false, true)));
                for (int s = 0; s < batch.size(); s++) {
                    assertArrayEquals(full.lastLogits()[s], lastOnly.lastLogits()[s], name + " logits of sequence " + s);
                    assertArrayEquals(full.finalNormLast()[s], lastOnly.finalNormLast()[s], name + " final norm of sequence " + s);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void topKStepEqualsTheTopKOfTheLogits(String name) {
        try (LlamaModel a = new LlamaModel(Checkpoint.open(TestModels.tiny(name)), new CpuBackend(2));
             LlamaModel b = new LlamaModel(Checkpoint.open(TestModels.tiny(name)), new CpuBackend(2))) {
            var c = a.config();
            List<int[]> prompts = prompts(3, c.vocabSize(), 4);
            TokenBatch prefill = TokenBatch.pack(prompts);
            int capacity = prefill.tokens().length + 3 * 4;
            KvCache ca = KvCache.perLayer(a.backend(), c.numLayers(), capacity, c.kvDim()), cb = KvCache.perLayer(b.backend(), c.numLayers(), capacity, c.kvDim());
            int[] cacheStart = {0, prompts.get(0).length + 4, prompts.get(0).length + prompts.get(1).length + 8};
            var pl = prefill.layout();
            TokenBatch first = new TokenBatch(prefill.tokens(), new dev.sahara.backend.AttentionLayout(pl.rowStart(), pl.newTokens(), pl.pastLen(), cacheStart));
            int k = 5;
            int[] ids = new int[3 * k];
            float[] values = new float[3 * k];
            assertTopK(a.forward(Forward.of(first, Ablation.none()).into(ca)).lastLogits(), k, () -> b.forward(Forward.of(first, Ablation.none()).into(cb).reading(LogitsReader.topK(k, ids, values))),
                    ids, values, name + " prefill");
            for (int t = 0; t < 4; t++) {
                int m = t < 2 ? 3 : 1;   // three sequences, then one
                int[] tokens = new int[m], rowStart = new int[m], one = new int[m], past = new int[m], cs = new int[m];
                for (int s = 0; s < m; s++) {
                    tokens[s] = 3 + (7 * t + s) % (c.vocabSize() - 3);
                    rowStart[s] = s;
                    one[s] = 1;
                    past[s] = prompts.get(s).length + t;
                    cs[s] = cacheStart[s];
                }
                TokenBatch step = new TokenBatch(tokens, new dev.sahara.backend.AttentionLayout(rowStart, one, past, cs));
                assertTopK(a.forward(Forward.of(step, Ablation.none()).into(ca)).lastLogits(), k, () -> b.forward(Forward.of(step, Ablation.none()).into(cb).reading(LogitsReader.topK(k, ids, values))),
                        ids, values, name + " step " + t);
            }
        }
    }

    /** The top-k step's ids and logits equal the k largest of the full logits, sorted by (logit desc, id asc). */
    static void assertTopK(float[][] logits, int k, Runnable topStep, int[] ids, float[] values, String what) {
        topStep.run();
        for (int s = 0; s < logits.length; s++) {
            float[] row = logits[s];
            int[] expected = java.util.stream.IntStream.range(0, row.length).boxed()
                    .sorted((x, y) -> row[x] != row[y] ? Float.compare(row[y], row[x]) : Integer.compare(x, y))
                    .limit(k).mapToInt(Integer::intValue).toArray();
            for (int j = 0; j < k; j++) {
                assertEquals(expected[j], ids[s * k + j], what + " sequence " + s + " rank " + j);
                assertEquals(Float.floatToIntBits(row[expected[j]]), Float.floatToIntBits(values[s * k + j]), what + " sequence " + s + " rank " + j);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void reusedBuffersNeverLeakAPreviousForward(String name) {
        try (LlamaModel fresh = new LlamaModel(Checkpoint.open(TestModels.tiny(name)), new CpuBackend(2));
             LlamaModel reused = new LlamaModel(Checkpoint.open(TestModels.tiny(name)), new CpuBackend(2))) {
            int vocab = fresh.config().vocabSize();
            TokenBatch a = TokenBatch.pack(prompts(4, vocab, 2)), b = TokenBatch.pack(prompts(3, vocab, 3));
            Ablation ablated = Ablation.of(List.of(new HeadId(0, 0)), new Ablation.Spec(AblationMode.MEAN_V, 0f));
            LlamaModel.Result expected = fresh.forward(Forward.of(a, Ablation.none()));
            // other batches, other ablations and other outputs first, then batch a again on the same model
            reused.forward(Forward.of(b, ablated).returning(new Forward.Outputs(true, true, true)));
            reused.forward(Forward.of(a, ablated).returning(Forward.Outputs.FINAL_NORM_LAST));
            reused.forward(Forward.of(b, Ablation.none()));
            LlamaModel.Result again = reused.forward(Forward.of(a, Ablation.none()));
            for (int s = 0; s < a.size(); s++) assertArrayEquals(expected.lastLogits()[s], again.lastLogits()[s], name + " sequence " + s);
        }
    }
}
