package dev.sahara.backend.cuda;

import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.AblationMode;
import dev.sahara.ablate.HeadId;
import dev.sahara.llama.Generator;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.Sampler;
import dev.sahara.llama.TokenBatch;
import dev.sahara.model.SyntheticModels;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The timing run of tools/gpu-check (a main, not a test): on the CUDA backend, a synthetic model's prefill of
 * P prompts × L tokens packed into one batch (what Ships / Sahara run per candidate head), with one head ablated,
 * and greedy decoding. Prints llama-bench-style lines: mean ± sd over the timed repetitions after warm-ups.
 * Usage: CudaTiming [synthetic:llama-2-7b] [prompts=16] [tokens=64] [reps=5]
 */
public final class CudaTiming {
    public static void main(String[] args) {
        String spec = args.length > 0 ? args[0] : "synthetic:llama-2-7b";
        int prompts = args.length > 1 ? Integer.parseInt(args[1]) : 16, len = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        int reps = args.length > 3 ? Integer.parseInt(args[3]) : 5;
        long t0 = System.nanoTime();
        CudaBackend gpu = CudaBackend.open();
        try (LlamaModel m = new LlamaModel(SyntheticModels.open(spec), gpu)) {
            System.out.printf("model %s on %s; weights built and uploaded in %.1f s; device memory %.2f GiB%n", spec, gpu.description(),
                    (System.nanoTime() - t0) / 1e9, gpu.deviceBytes() / (double) (1L << 30));
            SplittableRandom r = new SplittableRandom(1);
            List<int[]> batch = new ArrayList<>();
            for (int p = 0; p < prompts; p++) batch.add(r.ints(len, 3, m.config().vocabSize()).toArray());
            TokenBatch tb = TokenBatch.pack(batch);
            Ablation a = Ablation.none().with(new HeadId(2, 26 % m.config().numHeads()), AblationMode.UNDIFF_Q, 1e-5f);
            double[] ms = new double[reps];
            for (int i = -2; i < reps; i++) {
                long s = System.nanoTime();
                m.forward(tb, a, LlamaModel.Outputs.FINAL_NORM_LAST);
                if (i >= 0) ms[i] = (System.nanoTime() - s) / 1e6;
            }
            report("prefill " + prompts + "x" + len + " (final-norm states)", ms, prompts * len);
            int steps = 32;
            for (int i = -1; i < Math.min(reps, 3); i++) {
                long s = System.nanoTime();
                new Generator(m).generate(batch.subList(0, Math.min(4, prompts)), Ablation.none(), steps, Sampler.GREEDY, new int[0], null);
                if (i >= 0) ms[i] = (System.nanoTime() - s) / 1e6;
            }
            report("prefill + greedy decode of " + steps + " tokens, " + Math.min(4, prompts) + " prompts", java.util.Arrays.copyOf(ms, Math.min(reps, 3)),
                    Math.min(4, prompts) * steps);
        }
    }

    private static void report(String what, double[] ms, int tokens) {
        double mean = 0, sd = 0;
        for (double v : ms) mean += v / ms.length;
        for (double v : ms) sd += (v - mean) * (v - mean) / Math.max(1, ms.length - 1);
        sd = Math.sqrt(sd);
        System.out.printf("%-60s %9.2f ± %6.2f ms   %10.1f tok/s%n", what, mean, sd, tokens / (mean / 1e3));
    }
}
