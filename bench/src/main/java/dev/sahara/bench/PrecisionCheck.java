package dev.sahara.bench;

import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.HeadEdit;
import dev.sahara.backend.AttentionLayout;
import dev.sahara.backend.Backend;
import dev.sahara.backend.Tensor;
import dev.sahara.backend.Weight;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.backend.reference.ReferenceBackend;
import dev.sahara.llama.Forward;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.TokenBatch;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.DType;
import dev.sahara.model.TensorData;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How far the CPU engine's float32 forward is from exact arithmetic (docs/SPEC.md, "Precision"): synthetic-110M
 * written from {@link BenchModels#SEED}, the last-position logits of {@link #IDS}, against the same forward in double
 * precision ({@link ReferenceBackend}); prints max|Δ| / max|logit|. Then the per-op budget: the forward again with
 * every op computed exactly and rounded once to float32 (what float32 activations cost by themselves), and with
 * the engine's own arithmetic for one op at a time — the difference is that op's share.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.sahara.bench.PrecisionCheck [--numpy] [--no-budget]</pre>
 *
 * {@code --numpy} also runs tools/reference_forward.py (float64 numpy) on the same folder and compares the engine
 * and the double-precision backend with it, which shows the two float64 forwards agree.
 */
public final class PrecisionCheck {
    /** BOS and 11 seeded ids of the 32000-token vocabulary. */
    static final int[] IDS = ids(12, 32000, 16);

    private PrecisionCheck() {}

    private static int[] ids(int n, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[n];
        ids[0] = 1;
        for (int i = 1; i < n; i++) ids[i] = 3 + r.nextInt(vocab - 3);
        return ids;
    }

    /** The ops whose arithmetic can round (embed, add, copy and row moves are exact in float32 or round once). */
    enum Op { RMS_NORM, MATMUL, ROPE, ATTENTION, SWIGLU }

    public static void main(String[] args) throws Exception {
        List<String> a = Arrays.asList(args);
        int threads = BenchModels.threads();
        Path dir = SyntheticLlama.LLAMA_110M.write(BenchModels.SEED);
        try {
            float[] exact = lastLogits(dir, new ReferenceBackend());
            float[] engine = lastLogits(dir, new CpuBackend(threads));
            System.out.println("synthetic-110M (seed " + BenchModels.SEED + "), last-position logits of ids " + Arrays.toString(IDS));
            System.out.printf(Locale.ROOT, "max|logit| (double) = %.6f%n", maxAbs(exact));
            report("engine (cpu, " + threads + " threads) vs double", engine, exact);
            if (a.contains("--numpy")) {
                float[] numpy = numpyLogits(dir);
                report("double-precision backend vs numpy float64", exact, numpy);
                report("engine vs numpy float64", engine, numpy);
            }
            if (!a.contains("--no-budget")) {
                System.out.println("per-op budget: the whole forward's error with the engine's arithmetic for the named ops only");
                report("  no op (every op exactly rounded: float32 activations alone)", mixed(dir, threads, EnumSet.noneOf(Op.class)).logits, exact);
                for (Op op : Op.values()) report("  " + op.name().toLowerCase(Locale.ROOT), mixed(dir, threads, EnumSet.of(op)).logits, exact);
                Mixed all = mixed(dir, threads, EnumSet.allOf(Op.class));
                report("  every op (the engine)", all.logits, exact);
                System.out.println("each op alone on the engine's own inputs, worst call: max|Δ| / max|exact output|");
                all.localError.forEach((op, e) -> System.out.printf(Locale.ROOT, "  %-12s %.3e%n", op.name().toLowerCase(Locale.ROOT), e));
            }
        } finally {
            SyntheticLlama.delete(dir);
        }
    }

    static void report(String what, float[] got, float[] want) {
        double worst = 0;
        for (int i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs((double) got[i] - want[i]));
        System.out.printf(Locale.ROOT, "%-64s max|Δ| = %.3e   max|Δ| / max|logit| = %.3e%n", what, worst, worst / maxAbs(want));
    }

    static double maxAbs(float[] x) {
        double m = 0;
        for (float v : x) m = Math.max(m, Math.abs(v));
        return m;
    }

    static float[] lastLogits(Path dir, Backend backend) {
        try (LlamaModel m = new LlamaModel(Checkpoint.open(dir), backend)) {
            return m.forward(Forward.of(TokenBatch.pack(List.of(IDS)), Ablation.none())).lastLogits()[0];
        }
    }

    record Mixed(float[] logits, Map<Op, Double> localError) {}

    static Mixed mixed(Path dir, int threads, Set<Op> engineOps) {
        ExactlyRounded b = new ExactlyRounded(new CpuBackend(threads), engineOps);
        return new Mixed(lastLogits(dir, b), b.localError);
    }

    static float[] numpyLogits(Path dir) throws IOException, InterruptedException {
        Path json = Files.createTempFile("sahara-precision-", ".json");
        try {
            List<String> cmd = new ArrayList<>(List.of("python3", BenchModels.repo().resolve("tools/reference_forward.py").toString(), dir.toString(), "--json", json.toString(), "--ids"));
            for (int id : IDS) cmd.add(Integer.toString(id));
            Process p = new ProcessBuilder(cmd).inheritIO().start();
            if (p.waitFor() != 0) throw new IllegalStateException("tools/reference_forward.py failed");
            String text = Files.readString(json);
            Matcher m = Pattern.compile("\"last_logits\": \\[([^\\]]*)\\]").matcher(text);
            if (!m.find()) throw new IllegalStateException("no last_logits in " + json);
            String[] parts = m.group(1).split(",");
            float[] out = new float[parts.length];
            for (int i = 0; i < parts.length; i++) out[i] = (float) Double.parseDouble(parts[i].trim());
            return out;
        } finally {
            Files.deleteIfExists(json);
        }
    }

    /** A weight as both backends hold it. */
    record BothWeight(Weight fast, Weight exact) implements Weight {
        @Override public DType dtype() { return fast.dtype(); }
        @Override public int rows() { return fast.rows(); }
        @Override public int cols() { return fast.cols(); }
    }

    /**
     * The CPU backend's tensors and data movement, with each rounding op either the engine's ({@code engineOps}) or
     * computed in double by {@link ReferenceBackend} from the same float32 inputs and rounded once to float32. An
     * engine op is also computed exactly from the same inputs, and its worst error there, max|Δ| / max|exact|, is
     * kept per op ({@link #localError}).
     */
    static final class ExactlyRounded implements Backend {
        private final Backend fast;
        private final ReferenceBackend exact = new ReferenceBackend();
        private final Set<Op> engineOps;
        final Map<Op, Double> localError = new EnumMap<>(Op.class);

        ExactlyRounded(Backend fast, Set<Op> engineOps) {
            this.fast = fast;
            this.engineOps = engineOps;
        }

        private Tensor toExact(Tensor t) {
            Tensor d = exact.allocate(t.rows(), t.cols());
            exact.upload(d, fast.download(t));
            return d;
        }

        private static Weight fastOf(Weight w) { return w == null ? null : ((BothWeight) w).fast(); }

        private static Weight exactOf(Weight w) { return w == null ? null : ((BothWeight) w).exact(); }

        /** out = the exact result (computed first: the engine's rope and swiglu overwrite their input), or the engine's. */
        private void run(Op op, Tensor out, Supplier<Tensor> exactResult, Runnable engine) {
            float[] want = exact.download(exactResult.get());
            if (!engineOps.contains(op)) {
                fast.upload(out, want);
                return;
            }
            engine.run();
            float[] got = fast.download(out);
            double worst = 0, scale = 0;
            for (int i = 0; i < want.length; i++) {
                worst = Math.max(worst, Math.abs((double) got[i] - want[i]));
                scale = Math.max(scale, Math.abs(want[i]));
            }
            localError.merge(op, scale == 0 ? 0 : worst / scale, Math::max);
        }

        @Override public String name() { return "exactly-rounded"; }
        @Override public Tensor allocate(int rows, int cols) { return fast.allocate(rows, cols); }
        @Override public Weight weight(TensorData data) { return new BothWeight(fast.weight(data), exact.weight(data)); }
        @Override public void upload(Tensor dst, float[] src) { fast.upload(dst, src); }
        @Override public void download(Tensor src, float[] dst) { fast.download(src, dst); }
        @Override public void embed(Tensor out, Weight table, int[] tokens) { fast.embed(out, fastOf(table), tokens); }

        @Override
        public void rmsNorm(Tensor out, Tensor x, Weight gamma, float eps) {
            run(Op.RMS_NORM, out, () -> {
                Tensor d = toExact(x);
                exact.rmsNorm(d, d, exactOf(gamma), eps);
                return d;
            }, () -> fast.rmsNorm(out, x, fastOf(gamma), eps));
        }

        @Override
        public void matmul(Tensor out, Tensor x, Weight w, Weight bias) {
            run(Op.MATMUL, out, () -> {
                Tensor d = exact.allocate(out.rows(), out.cols());
                exact.matmul(d, toExact(x), exactOf(w), exactOf(bias));
                return d;
            }, () -> fast.matmul(out, x, fastOf(w), fastOf(bias)));
        }

        @Override
        public void rope(Tensor x, int heads, int headDim, int[] positions, double[] invFreq) {
            run(Op.ROPE, x, () -> {
                Tensor d = toExact(x);
                exact.rope(d, heads, headDim, positions, invFreq);
                return d;
            }, () -> fast.rope(x, heads, headDim, positions, invFreq));
        }

        @Override
        public void attention(Tensor out, Tensor q, Tensor k, Tensor v, AttentionLayout layout, int heads, int kvHeads, int headDim) {
            run(Op.ATTENTION, out, () -> {
                Tensor d = exact.allocate(out.rows(), out.cols());
                exact.attention(d, toExact(q), toExact(k), toExact(v), layout, heads, kvHeads, headDim);
                return d;
            }, () -> fast.attention(out, q, k, v, layout, heads, kvHeads, headDim));
        }

        @Override
        public void swiglu(Tensor gate, Tensor up) {
            run(Op.SWIGLU, gate, () -> {
                Tensor d = toExact(gate);
                exact.swiglu(d, toExact(up));
                return d;
            }, () -> fast.swiglu(gate, up));
        }

        @Override public void editHeads(Tensor x, int headDim, HeadEdit edit) { fast.editHeads(x, headDim, edit); }
        @Override public void scatterRows(Tensor dst, int[] dstRows, Tensor src) { fast.scatterRows(dst, dstRows, src); }
        @Override public void gatherRows(Tensor out, Tensor x, int[] rows) { fast.gatherRows(out, x, rows); }
        @Override public void add(Tensor x, Tensor y) { fast.add(x, y); }
        @Override public void projectOut(Tensor x, Tensor unit) { fast.projectOut(x, unit); }   // no direction edit in this check
        @Override public void addRow(Tensor x, Tensor row) { fast.addRow(x, row); }
        @Override public void copy(Tensor dst, Tensor src) { fast.copy(dst, src); }
        @Override public void close() { fast.close(); }
    }
}
