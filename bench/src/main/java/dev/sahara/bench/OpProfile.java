package dev.sahara.bench;

import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.HeadEdit;
import dev.sahara.ablate.HeadId;
import dev.sahara.attribution.CandidateRunner;
import dev.sahara.backend.AttentionLayout;
import dev.sahara.backend.Backend;
import dev.sahara.backend.Tensor;
import dev.sahara.backend.Weight;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.llama.Forward;
import dev.sahara.llama.KvCache;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.LogitsReader;
import dev.sahara.llama.TokenBatch;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.TensorData;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * Where the time goes: wall time per {@link Backend} op, for one decoded token and for one Sahara candidate (with and
 * without prefix reuse) on synthetic-110M, the workloads of DecodeBench and SaharaBench. Not a JMH benchmark — the
 * timer around every op costs ~0.1 µs, so the totals run slightly above theirs — but it says which op to work on.
 * Prints one JSON object: {workload: {op: ms per unit, ...}, ...}; tools/bench-report turns it into a table.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.sahara.bench.OpProfile</pre>
 */
public final class OpProfile {
    private OpProfile() {}

    /** Times every op of the backend it wraps, by op name (matmuls by weight shape). */
    static final class TimedBackend implements Backend {
        final Backend b;
        final Map<String, long[]> nanos = new TreeMap<>();

        TimedBackend(Backend b) { this.b = b; }

        private void time(String op, Runnable r) {
            long t0 = System.nanoTime();
            r.run();
            nanos.computeIfAbsent(op, k -> new long[1])[0] += System.nanoTime() - t0;
        }

        private <T> T time(String op, Supplier<T> r) {
            long t0 = System.nanoTime();
            T out = r.get();
            nanos.computeIfAbsent(op, k -> new long[1])[0] += System.nanoTime() - t0;
            return out;
        }

        @Override public String name() { return b.name(); }
        @Override public Tensor allocate(int rows, int cols) { return time("allocate", () -> b.allocate(rows, cols)); }
        @Override public Weight weight(TensorData data) { return b.weight(data); }
        @Override public void upload(Tensor dst, float[] src) { time("upload", () -> b.upload(dst, src)); }
        @Override public void download(Tensor src, float[] dst) { time("download", () -> b.download(src, dst)); }
        @Override public void embed(Tensor out, Weight table, int[] tokens) { time("embed", () -> b.embed(out, table, tokens)); }
        @Override public void rmsNorm(Tensor out, Tensor x, Weight g, float eps) { time("rmsNorm", () -> b.rmsNorm(out, x, g, eps)); }
        @Override public void matmul(Tensor out, Tensor x, Weight w, Weight bias) {
            time("matmul " + w.rows() + "×" + w.cols(), () -> b.matmul(out, x, w, bias));
        }
        @Override public void matmuls(Tensor[] outs, Tensor x, Weight[] ws, Weight[] biases) {
            time("matmuls " + ws.length + " × " + ws[0].rows() + "×" + ws[0].cols(), () -> b.matmuls(outs, x, ws, biases));
        }
        @Override public void rope(Tensor x, int heads, int hd, int[] pos, double[] f) { time("rope", () -> b.rope(x, heads, hd, pos, f)); }
        @Override public void editHeads(Tensor x, int hd, HeadEdit e) { time("editHeads", () -> b.editHeads(x, hd, e)); }
        @Override public void scatterRows(Tensor d, int[] rows, Tensor s) { time("scatterRows", () -> b.scatterRows(d, rows, s)); }
        @Override public void gatherRows(Tensor o, Tensor x, int[] rows) { time("gatherRows", () -> b.gatherRows(o, x, rows)); }
        @Override public void attention(Tensor o, Tensor q, Tensor k, Tensor v, AttentionLayout l, int h, int kvh, int hd) {
            time("attention", () -> b.attention(o, q, k, v, l, h, kvh, hd));
        }
        @Override public void swiglu(Tensor g, Tensor u) { time("swiglu", () -> b.swiglu(g, u)); }
        @Override public boolean topK(Tensor logits, int k, int[] ids, float[] values) { return time("topK", () -> b.topK(logits, k, ids, values)); }
        @Override public void klDivergence(Tensor p, Tensor q, boolean official, double[] out) { time("klDivergence", () -> b.klDivergence(p, q, official, out)); }
        @Override public void add(Tensor x, Tensor y) { time("add", () -> b.add(x, y)); }
        @Override public void projectOut(Tensor x, Tensor unit) { time("projectOut", () -> b.projectOut(x, unit)); }
        @Override public void addRow(Tensor x, Tensor row) { time("addRow", () -> b.addRow(x, row)); }
        @Override public void copy(Tensor d, Tensor s) { time("copy", () -> b.copy(d, s)); }
        @Override public void close() { b.close(); }

        /** ms per unit since the last call, and "total" (wall time of the units, not the sum of the ops). */
        Map<String, Double> take(long wallNanos, int units) {
            Map<String, Double> out = new TreeMap<>();
            nanos.forEach((op, t) -> out.put(op, t[0] / 1e6 / units));
            out.put("total", wallNanos / 1e6 / units);
            nanos.clear();
            return out;
        }
    }

    public static void main(String[] args) {
        Path dir = SyntheticLlama.LLAMA_110M.write(BenchModels.SEED);
        TimedBackend timed = new TimedBackend(new CpuBackend(BenchModels.threads()));
        Map<String, Map<String, Double>> result = new TreeMap<>();
        try (LlamaModel m = new LlamaModel(Checkpoint.open(dir), timed)) {
            // decode: as DecodeBench, unablated; 2 s to warm up, then 3 s measured
            int prompt = DecodeBench.PROMPT, maxNew = DecodeBench.MAX_NEW;
            KvCache cache = KvCache.perLayer(m.backend(), m.config().numLayers(), prompt + maxNew, m.config().kvDim());
            m.forward(Forward.of(TokenBatch.pack(BenchModels.prompts(1, prompt, m.config().vocabSize(), 5)), Ablation.none()).into(cache));
            int[] topId = new int[1];
            float[] topLogit = new float[1];
            int[] position = {prompt}, token = {7};
            Runnable decode = () -> {
                if (position[0] == prompt + maxNew) position[0] = prompt;
                TokenBatch one = new TokenBatch(new int[] {token[0]}, new AttentionLayout(new int[] {0}, new int[] {1}, new int[] {position[0]++}, new int[] {0}));
                m.forward(Forward.of(one, Ablation.none()).into(cache).reading(LogitsReader.topK(1, topId, topLogit)));
                token[0] = 3 + (token[0] * 31 + 17) % 1000;
            };
            result.put("decode, ms per token", measure(timed, decode, 1, 2_000_000_000L, 3_000_000_000L));

            // Sahara: as SaharaBench, one candidate in every layer per unit (12 candidates)
            TokenBatch batch = TokenBatch.pack(BenchModels.prompts(SaharaBench.PROMPTS, SaharaBench.LENGTH, m.config().vocabSize(), 3));
            for (boolean reuse : new boolean[] {false, true}) {
                CandidateRunner runner = new CandidateRunner(m, batch, reuse);
                runner.runCandidate(Ablation.none(), new HeadId(0, 0), SaharaBench.CANDIDATE, Forward.Outputs.FINAL_NORM_LAST);
                Runnable sweep = () -> {
                    for (int l = 0; l < m.config().numLayers(); l++) {
                        runner.runCandidate(Ablation.none(), new HeadId(l, l % m.config().numHeads()), SaharaBench.CANDIDATE, Forward.Outputs.FINAL_NORM_LAST);
                    }
                };
                result.put("Sahara candidate " + (reuse ? "with prefix reuse" : "full recompute") + ", ms per candidate",
                        measure(timed, sweep, m.config().numLayers(), 3_000_000_000L, 5_000_000_000L));
            }
        } finally {
            SyntheticLlama.delete(dir);
        }
        System.out.println(json(result));
    }

    /** Runs {@code unit} for warmNanos, then for measureNanos; ms per (unit ÷ perUnit) by op. */
    static Map<String, Double> measure(TimedBackend timed, Runnable unit, int perUnit, long warmNanos, long measureNanos) {
        long t0 = System.nanoTime();
        while (System.nanoTime() - t0 < warmNanos) unit.run();
        timed.nanos.clear();
        int n = 0;
        t0 = System.nanoTime();
        while (System.nanoTime() - t0 < measureNanos) {
            unit.run();
            n++;
        }
        return timed.take(System.nanoTime() - t0, n * perUnit);
    }

    static String json(Map<String, Map<String, Double>> r) {
        StringBuilder sb = new StringBuilder("{");
        r.forEach((w, ops) -> {
            if (sb.length() > 1) sb.append(", ");
            sb.append('"').append(w).append("\": {");
            StringBuilder o = new StringBuilder();
            ops.forEach((op, ms) -> o.append(o.length() > 0 ? ", " : "").append('"').append(op).append("\": ").append(String.format(Locale.ROOT, "%.4f", ms)));
            sb.append(o).append('}');
        });
        return sb.append('}').toString();
    }
}
