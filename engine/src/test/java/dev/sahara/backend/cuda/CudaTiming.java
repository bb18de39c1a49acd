package dev.sahara.backend.cuda;

import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.HeadId;
import dev.sahara.attribution.AttributionSettings;
import dev.sahara.attribution.CandidateRunner;
import dev.sahara.attribution.PrincipalAngles;
import dev.sahara.backend.Backend;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.llama.Forward;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.TokenBatch;
import dev.sahara.model.ModelConfig;
import dev.sahara.model.SyntheticModels;
import org.ejml.data.DMatrixRMaj;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The timing run of tools/gpu-check (a main, not a test), issue #4: on the CUDA backend, synthetic:llama-2-7b,
 * P deterministic prompts of L tokens (default 100 × 28) packed into one batch, as dataset-level Ships / Sahara
 * run them (undiff-q, ε = 1e-5, r_main = 1, final-norm state at each prompt's last token):
 * <ol>
 *   <li>the card's dense GEMM rates through the same cuBLAS binding: bf16 in / bf16 out, f16 in / f16 out, and
 *       FP32 (no TF32, the default --precision f32 path), an S×S×S product (default 8192), median of 7 samples;</li>
 *   <li>per --precision (f32, then bf16 on the same uploaded weights): the unablated baseline forward, the
 *       residual capture (once per Sahara step), one dataset-Ships candidate (ablated forward of all prompts + the
 *       principal angle on the host) with prefix reuse from the middle layer and from layer 0 (= a full forward),
 *       and one full Sahara step over all layers × heads candidates. The step runs in full when its estimate
 *       (from the per-candidate times) fits --step-budget-s; otherwise one head per layer is timed and the step
 *       extrapolated (a candidate's cost depends only on its layer), and the table says so.</li>
 * </ol>
 * FLOPs are counted from the shapes: 2·T·(parameters of the layers run) plus causal attention
 * 2·heads·head_dim·n(n+1) per layer and prompt (QKᵀ and PV over the n(n+1)/2 visible pairs); no lm_head (the
 * candidates need final-norm states only); the host-side angle is not counted. The table is printed last and,
 * with --out FILE, written there too.
 * <p>Usage: CudaTiming [--model synthetic:llama-2-7b] [--prompts 100] [--tokens 28] [--gemm 8192]
 * [--step-budget-s 75] [--reps 3] [--out FILE] [--cpu] — --cpu runs the same logic on the CPU backend (no GEMM
 * rates) to dry-run it on a small model where there is no GPU.
 */
public final class CudaTiming {
    record Row(String what, double seconds, long tokens, double flops, String note) {}

    private final List<Row> rows = new ArrayList<>();
    private double bf16Tflops = Double.NaN;

    public static void main(String[] args) throws Exception {
        String spec = "synthetic:llama-2-7b", out = null;
        int prompts = 100, len = 28, gemm = 8192, reps = 3;
        double stepBudget = 75;
        boolean cpu = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> spec = args[++i];
                case "--prompts" -> prompts = Integer.parseInt(args[++i]);
                case "--tokens" -> len = Integer.parseInt(args[++i]);
                case "--gemm" -> gemm = Integer.parseInt(args[++i]);
                case "--step-budget-s" -> stepBudget = Double.parseDouble(args[++i]);
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--out" -> out = args[++i];
                case "--cpu" -> cpu = true;
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        new CudaTiming().run(spec, prompts, len, gemm, stepBudget, reps, out, cpu);
    }

    private void run(String spec, int prompts, int len, int gemm, double stepBudget, int reps, String out, boolean cpu) throws IOException {
        long t0 = System.nanoTime();
        CudaBackend gpu = cpu ? null : CudaBackend.open();
        Backend backend = cpu ? new CpuBackend(Runtime.getRuntime().availableProcessors()) : gpu;
        String device = cpu ? "CPU backend (dry run)" : gpu.description();
        System.out.println("timing on " + device);
        if (gpu != null) {
            int bf16 = Cublas.CUDA_R_16BF, f16 = Cublas.CUDA_R_16F, f32 = Cublas.CUDA_R_32F;
            for (CudaBackend.GemmRate g : List.of(
                    gpu.measureGemm("GEMM bf16 in, bf16 out, FP32 accumulate", bf16, bf16, gemm, gemm, gemm, 7, 10),
                    gpu.measureGemm("GEMM f16 in, f16 out, FP32 accumulate", f16, f16, gemm, gemm, gemm, 7, 10),
                    gpu.measureGemm("GEMM FP32 (no TF32; the --precision f32 path)", f32, f32, gemm, gemm, gemm, 5, 2))) {
                if (Double.isNaN(bf16Tflops)) bf16Tflops = g.tflops();
                System.out.printf(Locale.ROOT, "%s %dx%dx%d: median %.3f ms, %.1f TFLOP/s%n", g.what(), g.m(), g.n(), g.k(), g.medianMs(), g.tflops());
                rows.add(new Row(g.what() + ", " + g.m() + "³ (median of 7)", g.medianMs() / 1e3, 0, 2.0 * g.m() * g.n() * g.k(), "measured rate"));
            }
        }
        long tb = System.nanoTime();
        try (LlamaModel m = new LlamaModel(SyntheticModels.open(spec), backend)) {
            ModelConfig c = m.config();
            System.out.printf(Locale.ROOT, "model %s: weights built and uploaded in %.1f s%s%n", spec, (System.nanoTime() - tb) / 1e9,
                    gpu == null ? "" : String.format(Locale.ROOT, "; device memory %.2f GiB", gpu.deviceBytes() / (double) (1L << 30)));
            SplittableRandom r = new SplittableRandom(20250404);
            List<int[]> batch = new ArrayList<>();
            for (int p = 0; p < prompts; p++) batch.add(r.ints(len, 3, c.vocabSize()).toArray());
            TokenBatch tb2 = TokenBatch.pack(batch);
            long tokens = (long) prompts * len;
            AttributionSettings s = AttributionSettings.defaults();
            List<CudaBackend.Precision> precisions = gpu == null ? List.of(CudaBackend.Precision.F32) : List.of(CudaBackend.Precision.values());
            for (CudaBackend.Precision p : precisions) {
                if (gpu != null) gpu.setPrecision(p);
                String tag = "[" + p.name().toLowerCase(Locale.ROOT) + "] ";
                CandidateRunner runner = new CandidateRunner(m, tb2, true);
                Ablation none = Ablation.none();
                // baseline (unablated) forward: warm-up, then the median of reps
                float[][][] keep = new float[1][][];
                double base = median(reps, () -> keep[0] = runner.run(none, Forward.Outputs.FINAL_NORM_LAST).finalNormLast());
                DMatrixRMaj baseVectors = PrincipalAngles.leadingLeftSingularVectors(keep[0], s.rMain());
                rows.add(new Row(tag + "baseline forward, " + prompts + "×" + len + " tokens, final-norm states", base, tokens, flops(c, prompts, len, 0), ""));
                double capture = median(reps, () -> m.captureResiduals(tb2, none, false));
                rows.add(new Row(tag + "residual capture (once per Sahara step)", capture, tokens, flops(c, prompts, len, 0), ""));
                int mid = c.numLayers() / 2, head = 5 % c.numHeads();
                double[] angle = {0};
                Candidate cand = (l, h) -> {
                    float[][] states = runner.runCandidate(none, new HeadId(l, h), s.candidate(), Forward.Outputs.FINAL_NORM_LAST).finalNormLast();
                    long a0 = System.nanoTime();
                    PrincipalAngles.angleDegrees(baseVectors, PrincipalAngles.leadingLeftSingularVectors(states, s.rMain()));
                    angle[0] = (System.nanoTime() - a0) / 1e9;
                };
                double tMid = median(reps, () -> cand.run(mid, head));
                double angleMid = angle[0];
                rows.add(new Row(tag + "Ships candidate L" + mid + "H" + head + " (prefix reuse from layer " + mid + ") + angle", tMid, tokens,
                        flops(c, prompts, len, mid), String.format(Locale.ROOT, "angle on host %.1f ms", angleMid * 1e3)));
                double tL0 = median(reps, () -> cand.run(0, head));
                rows.add(new Row(tag + "Ships candidate L0H" + head + " (from layer 0 = full forward) + angle", tL0, tokens,
                        flops(c, prompts, len, 0), String.format(Locale.ROOT, "angle on host %.1f ms", angle[0] * 1e3)));

                // a full Sahara step: every head of every layer, group empty (step 1)
                int heads = c.numHeads(), layers = c.numLayers(), candidates = heads * layers;
                double stepFlops = 0;
                for (int l = 0; l < layers; l++) stepFlops += heads * flops(c, prompts, len, l);
                double estimate = capture + heads * layers * (tL0 + tMid) / 2;
                if (estimate <= stepBudget) {
                    long s0 = System.nanoTime();
                    m.captureResiduals(tb2, none, false);
                    for (int l = 0; l < layers; l++) for (int h = 0; h < heads; h++) cand.run(l, h);
                    double t = (System.nanoTime() - s0) / 1e9;
                    rows.add(new Row(tag + "Sahara step, all " + candidates + " candidates", t, tokens * candidates, stepFlops, "measured in full"));
                } else {
                    double sum = 0;
                    for (int l = 0; l < layers; l++) {
                        long s0 = System.nanoTime();
                        cand.run(l, (l * 7 + 3) % heads);
                        sum += heads * (System.nanoTime() - s0) / 1e9;
                    }
                    rows.add(new Row(tag + "Sahara step, all " + candidates + " candidates", capture + sum, tokens * candidates, stepFlops,
                            String.format(Locale.ROOT, "EXTRAPOLATED: 1 head per layer timed ×%d + capture (estimate %.0f s > budget %.0f s)", heads, estimate, stepBudget)));
                }
            }
            String table = table(spec, device, prompts, len, (System.nanoTime() - t0) / 1e9);
            System.out.println();
            System.out.print(table);
            if (out != null) Files.writeString(Path.of(out), table);
        } finally {
            if (cpu) backend.close();
            else gpu.close();
        }
    }

    interface Candidate {
        void run(int layer, int head);
    }

    /** One warm-up, then the median wall time in seconds of {@code reps} runs. */
    private static double median(int reps, Runnable work) {
        work.run();
        double[] t = new double[reps];
        for (int i = 0; i < reps; i++) {
            long s = System.nanoTime();
            work.run();
            t[i] = (System.nanoTime() - s) / 1e9;
        }
        Arrays.sort(t);
        return reps % 2 == 1 ? t[reps / 2] : (t[reps / 2 - 1] + t[reps / 2]) / 2;
    }

    /** FLOPs of a forward of {@code prompts} × {@code len} tokens through layers fromLayer.. (no lm_head). */
    static double flops(ModelConfig c, int prompts, int len, int fromLayer) {
        double t = (double) prompts * len, d = c.hiddenSize(), hd = c.headDim();
        double params = d * c.numHeads() * hd + 2 * d * c.numKvHeads() * hd + c.numHeads() * hd * d + 3 * d * c.intermediateSize();
        double attention = prompts * 2.0 * c.numHeads() * hd * len * (len + 1.0);
        return (c.numLayers() - fromLayer) * (2 * t * params + attention);
    }

    private String table(String spec, String device, int prompts, int len, double wall) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "## Timing: %s, %d prompts × %d tokens, on %s%n%n", spec, prompts, len, device));
        b.append("| what | time | tokens/s | GFLOP (from shapes) | achieved TFLOP/s | % of measured bf16 GEMM | note |\n");
        b.append("|---|---:|---:|---:|---:|---:|---|\n");
        for (Row r : rows) {
            double tf = r.flops / r.seconds / 1e12;
            b.append(String.format(Locale.ROOT, "| %s | %s | %s | %.1f | %.2f | %s | %s |%n", r.what, time(r.seconds),
                    r.tokens == 0 ? "" : String.format(Locale.ROOT, "%.0f", r.tokens / r.seconds), r.flops / 1e9, tf,
                    Double.isNaN(bf16Tflops) ? "n/a" : String.format(Locale.ROOT, "%.1f %%", 100 * tf / bf16Tflops), r.note));
        }
        b.append(String.format(Locale.ROOT, "%nFLOPs: 2·tokens·(layer parameters) + causal attention 2·heads·head_dim·n(n+1) per layer and prompt, "
                + "for the layers a run computes; no lm_head; the host-side angle is not counted. Wall time of this run: %.0f s.%n", wall));
        return b.toString();
    }

    private static String time(double s) {
        return s < 1e-3 ? String.format(Locale.ROOT, "%.1f µs", s * 1e6) : s < 1 ? String.format(Locale.ROOT, "%.2f ms", s * 1e3) : String.format(Locale.ROOT, "%.2f s", s);
    }
}
