package dev.sahara.llama;

import dev.sahara.ablate.Ablation;
import dev.sahara.backend.Backend;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.backend.reference.ReferenceBackend;
import dev.sahara.model.Checkpoint;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The converted stories260K against the unmodified llama2.c run.c (golden files made by that program):
 * logits within 1e-4 absolute, and the same 60 greedy tokens.
 */
class Stories260KGoldenTest {
    static final int[] PROMPT = {1, 403, 407, 261, 378};
    static final Path GOLDEN = TestModels.stories260K().resolve("golden");

    static Backend backend(String name) { return name.equals("cpu") ? new CpuBackend(2) : new ReferenceBackend(); }

    @ParameterizedTest
    @ValueSource(strings = {"cpu", "reference"})
    void logitsMatchLlama2c(String backendName) throws Exception {
        try (LlamaModel m = new LlamaModel(Checkpoint.open(TestModels.stories260K()), backend(backendName))) {
            float[] lastGolden = TestModels.readLogits(GOLDEN.resolve("logits_once_upon_a_time_last.txt"));
            float[] bosGolden = TestModels.readLogits(GOLDEN.resolve("logits_once_upon_a_time_bos.txt"));
            // Two prompts packed in one batch: the prompt and BOS alone, so packing is exercised too.
            LlamaModel.Result r = m.forward(Forward.of(TokenBatch.pack(List.of(PROMPT, new int[] {1})), Ablation.none()));
            double dLast = TestModels.maxAbsDiff(r.lastLogits()[0], lastGolden), dBos = TestModels.maxAbsDiff(r.lastLogits()[1], bosGolden);
            assertTrue(dLast < 1e-4, backendName + ": last-position logits differ from llama2.c by " + dLast);
            assertTrue(dBos < 1e-4, backendName + ": BOS logits differ from llama2.c by " + dBos);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu"})
    void greedyTokensMatchLlama2c(String backendName) throws Exception {
        int[] fed = TestModels.readTokens(GOLDEN.resolve("tokens_once_upon_a_time.txt"));
        int[] expected = Arrays.copyOf(Arrays.copyOfRange(fed, PROMPT.length, fed.length), 60);
        expected[59] = 310; // llama2.c prints the 60th sample ("ily") but never feeds it back
        try (LlamaModel m = new LlamaModel(Checkpoint.open(TestModels.stories260K()), backend(backendName))) {
            List<int[]> out = new Generator(m).generate(List.of(PROMPT), Ablation.none(), 60, Sampler.GREEDY, new int[] {2}, null);
            assertArrayEquals(expected, out.get(0));
        }
    }
}
