package dev.sahara.backend.cuda;

import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.AblationMode;
import dev.sahara.ablate.HeadId;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.llama.Generator;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.Sampler;
import dev.sahara.llama.TokenBatch;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.SyntheticModels;
import dev.sahara.testing.TestDirections;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The one forward on both backends: for every test model (the tiny checkpoints, stories260K, synthetic:tiny),
 * CUDA logits and final-norm states against the CPU backend's, on a packed batch of three prompts, unablated
 * and under every ablation mode and the refusal-direction edits; then prefix reuse (forwardFrom) and greedy decoding through the KV cache.
 * Tolerance 2e-4 absolute on logits (the CPU backend is itself within 1e-4 of a float64 numpy forward).
 * On the GPU ("cuda": skipped, with the reason, where there is none) and over the CPU emulation of the same kernels
 * ("cuda-emulated": everywhere).
 */
class CudaForwardParityTest {
    static final double TOL = 2e-4;

    static Stream<String> models() {
        List<String> m = new ArrayList<>(TestModels.TINY);
        m.add("stories260K");
        m.add("synthetic:tiny");
        return m.stream();
    }

    static Checkpoint open(String model) {
        if (model.startsWith(SyntheticModels.PREFIX)) return SyntheticModels.open(model);
        Path dir = model.equals("stories260K") ? TestModels.stories260K() : TestModels.tiny(model);
        return Checkpoint.open(dir);
    }

    static List<int[]> prompts(int vocab) {
        return List.of(new int[] {1, 403 % vocab, 407 % vocab, 261 % vocab, 378 % vocab, 11 % vocab, 97 % vocab},
                new int[] {1, 5, 200 % vocab}, new int[] {3});
    }

    static List<Ablation> ablations(int layers, int heads) {
        List<Ablation> a = new ArrayList<>();
        a.add(Ablation.none());
        int l = layers - 1, h = heads - 1;
        for (AblationMode mode : AblationMode.values()) a.add(Ablation.none().with(new HeadId(l, h), mode, mode.usesEpsilon() ? 1e-5f : 0f));
        a.add(Ablation.none().with(new HeadId(0, 0), AblationMode.UNDIFF_Q, 0f).with(new HeadId(l, h), AblationMode.MEAN_V, 0f));
        return a;
    }

    static Stream<Arguments> backendsAndModels() {
        return CudaTestSupport.backends().flatMap(b -> models().map(m -> Arguments.of(b, m)));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("backendsAndModels")
    void logitsMatchCpu(Supplier<CudaBackend> backend, String model) {
        CudaBackend gpu = backend.get();
        try (LlamaModel cpu = new LlamaModel(open(model), new CpuBackend(2));
             Checkpoint ck = open(model)) {
            LlamaModel cuda = new LlamaModel(ck, gpu);   // the shared backend stays open across tests
            TokenBatch batch = TokenBatch.pack(prompts(cpu.config().vocabSize()));
            List<Ablation> cases = new ArrayList<>(ablations(cpu.config().numLayers(), cpu.config().numHeads()));
            cases.addAll(TestDirections.edits(cpu.config()));   // kernels/direction.cu in the forward
            for (Ablation a : cases) {
                a.checkIn(cpu.config(), true);
                LlamaModel.Outputs o = new LlamaModel.Outputs(true, true, true);
                LlamaModel.Result c = cpu.forward(batch, a, o), g = cuda.forward(batch, a, o);
                for (int t = 0; t < c.allLogits().length; t++) {
                    double d = TestModels.maxAbsDiff(g.allLogits()[t], c.allLogits()[t]);
                    assertTrue(d < TOL, model + " with " + a + ": logits at row " + t + " differ by " + d);
                }
                for (int s = 0; s < c.finalNormLast().length; s++) {
                    double d = TestModels.maxAbsDiff(g.finalNormLast()[s], c.finalNormLast()[s]);
                    assertTrue(d < TOL, model + " with " + a + ": final-norm state of sequence " + s + " differs by " + d);
                }
            }

            // prefix reuse: starting at the last layer from cached residuals gives the full forward's result
            int last = cpu.config().numLayers() - 1;
            Ablation top = Ablation.none().with(new HeadId(last, 0), AblationMode.UNDIFF_Q, 1e-5f);
            LlamaModel.Result full = cuda.forward(batch, top, LlamaModel.Outputs.LAST_LOGITS);
            LlamaModel.Result from = cuda.forwardFrom(cuda.captureResiduals(batch, Ablation.none()), last, top, LlamaModel.Outputs.LAST_LOGITS);
            for (int s = 0; s < full.lastLogits().length; s++) {
                double d = TestModels.maxAbsDiff(from.lastLogits()[s], full.lastLogits()[s]);
                assertTrue(d < 1e-5, model + ": forwardFrom(layer " + last + ") differs from the full forward by " + d);
            }

            // greedy decoding through the per-layer KV cache picks the same tokens (ties aside, logits agree to 2e-4)
            List<int[]> cpuOut = new Generator(cpu).generate(prompts(cpu.config().vocabSize()), Ablation.none(), 12, Sampler.GREEDY, new int[0], null);
            List<int[]> gpuOut = new Generator(cuda).generate(prompts(cpu.config().vocabSize()), Ablation.none(), 12, Sampler.GREEDY, new int[0], null);
            for (int s = 0; s < cpuOut.size(); s++) assertArrayEquals(cpuOut.get(s), gpuOut.get(s), model + ": greedy tokens of prompt " + s);
        }
    }
}
