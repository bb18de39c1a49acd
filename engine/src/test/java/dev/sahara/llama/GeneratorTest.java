package dev.sahara.llama;

import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.AblationMode;
import dev.sahara.ablate.HeadId;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.model.Checkpoint;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Batched KV-cache generation, which takes only each step's top k logits from the backend, against the plainest
 * statement of it: each prompt alone, the whole sequence re-run without a cache every step, the next token sampled
 * from the full logits row. Greedy and seeded top-k, with an EOS that ends sequences at different steps.
 */
class GeneratorTest {
    static Stream<String> models() { return Stream.concat(TestModels.TINY.stream().limit(3), Stream.of("stories260K")); }

    static java.nio.file.Path dir(String name) { return name.equals("stories260K") ? TestModels.stories260K() : TestModels.tiny(name); }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void batchedGenerationEqualsOnePromptAtATimeWithoutACache(String name) {
        try (LlamaModel m = new LlamaModel(Checkpoint.open(dir(name)), new CpuBackend(2))) {
            int vocab = m.config().vocabSize();
            SplittableRandom r = new SplittableRandom(3);
            List<int[]> prompts = new ArrayList<>();
            for (int s = 0; s < 4; s++) prompts.add(r.ints(1 + 3 * s, 3, vocab).toArray());
            Ablation ablation = Ablation.of(List.of(new HeadId(0, 1)), new Ablation.Spec(AblationMode.UNDIFF_Q, 1e-5f));
            for (Sampler sampler : List.of(Sampler.GREEDY, new Sampler(5, 0.8f, 42), new Sampler(vocab + 10, 1.5f, 7))) {
                int[] eos = {3 + r.nextInt(vocab - 3), 3 + r.nextInt(vocab - 3)};
                List<int[]> batched = new Generator(m).generate(prompts, 10, ablation, 12, sampler, eos, null);
                for (int s = 0; s < prompts.size(); s++) {
                    assertArrayEquals(alone(m, prompts.get(s), 10 + s, ablation, 12, sampler, eos), batched.get(s), name + " " + sampler.describe() + " prompt " + s);
                }
            }
        }
    }

    /** Prompt {@code index} alone: a full forward of prompt + tokens so far for every new token. */
    static int[] alone(LlamaModel m, int[] prompt, int index, Ablation ablation, int max, Sampler sampler, int[] eos) {
        SplittableRandom random = sampler.randomFor(index);
        List<Integer> out = new ArrayList<>();
        int[] seq = prompt.clone();
        while (out.size() < max) {
            float[] logits = m.forward(Forward.of(TokenBatch.pack(List.of(seq)), ablation)).lastLogits()[0];
            int next = sampler.sample(logits, random);
            if (next == eos[0] || next == eos[1]) break;
            out.add(next);
            seq = java.util.Arrays.copyOf(seq, seq.length + 1);
            seq[seq.length - 1] = next;
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The sampler's draw, restated: softmax at the temperature over the top k sorted by (logit desc, id asc). */
    @Test
    void topKSamplingDrawsFromTheSoftmaxOfTheLargestLogits() {
        SplittableRandom r = new SplittableRandom(8);
        Sampler sampler = new Sampler(4, 0.7f, 1);
        float[] logits = new float[40];
        for (int trial = 0; trial < 300; trial++) {
            for (int i = 0; i < logits.length; i++) logits[i] = r.nextInt(6) * 0.25f;   // ties
            long seed = r.nextLong();
            int got = sampler.sample(logits, new SplittableRandom(seed));
            Integer[] order = java.util.stream.IntStream.range(0, logits.length).boxed()
                    .sorted((a, b) -> logits[a] != logits[b] ? Float.compare(logits[b], logits[a]) : Integer.compare(a, b)).toArray(Integer[]::new);
            double[] p = new double[4];
            double sum = 0;
            for (int j = 0; j < 4; j++) sum += p[j] = Math.exp((logits[order[j]] - (double) logits[order[0]]) / 0.7f);
            double u = new SplittableRandom(seed).nextDouble() * sum;
            int expected = order[3];
            for (int j = 0; j < 4; j++) {
                u -= p[j];
                if (u < 0) {
                    expected = order[j];
                    break;
                }
            }
            assertEquals(expected, got, "trial " + trial);
        }
        assertEquals(2, Sampler.GREEDY.sample(new float[] {0f, 1f, 3f, 3f, -1f}, new SplittableRandom(0)), "greedy: the first maximum");
    }
}
