package dev.sahara.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.AblationMode;
import dev.sahara.ablate.Epsilon;
import dev.sahara.ablate.HeadId;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.llama.Forward;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.TokenBatch;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.DType;
import dev.sahara.model.Json;
import dev.sahara.model.ModelConfig;
import dev.sahara.model.TensorData;
import dev.sahara.report.EngineVersion;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code surgery} bakes an ablation into the weights: the engine's logits from the surgered checkpoint (no
 * ablation) equal its logits on the original with the same ablation at run time, at every position; every
 * tensor byte outside the edited slices is unchanged; bad input gives exit code 2 and one line.
 *
 * <p>Tolerance. With ε a power of two and every scaled weight representable in the checkpoint's dtype, the two
 * computations are bit-identical: multiplying by 2^k is exact and commutes with every rounding of the matmul, the
 * bias add and RoPE, so ε·(x·W) and x·(ε·W) are the same floats. That holds for the F32 and BF16 models (BF16 has
 * float32's exponent range); the test checks it tensor by tensor and then asks for equal logits. In the F16 model
 * some weights are subnormal, and halving a subnormal drops a bit, so there (and for any ε that is not a power of
 * two) the two round differently: runtime ablation scales q (or the head's output) in float32 after the matmul,
 * while surgery rounds ε·w once per weight into the checkpoint's dtype (2^-24 relative in F32, 2^-9 in BF16; F16
 * weights of ~1e-2 times 1e-5 land in F16's subnormals with few significant bits, and times 1e-10 become 0) and the
 * matmul then rounds its own sums. The difference enters only through the ablated heads, whose contribution is
 * itself ε-scaled (undiff-q: scores ε·s, softmax near uniform either way; scale-v: output ε·o), so the logits
 * agree to ≤ 1e-5 relative to the largest logit (measured: ≤ 5e-7 on these models).
 */
class SurgeryTest {
    @TempDir
    Path tmp;

    static final int[] IDS = {1, 403, 407, 261, 378, 10, 50, 7, 300, 2};
    static final double RELATIVE_TOLERANCE = 1e-5;
    static int outCount;

    /** Model, heads, mode, ε (null: surgery's default 1e-10), --allow-grouped-kv, bit-exact expected (ε a power of two). */
    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String m : TestModels.TINY) {
            out.add(Arguments.of(m, "L1H2,L0H1", "undiff-q", "0.5", false, true));
            out.add(Arguments.of(m, "L1H2,L0H1", "undiff-q", "1e-5", false, false));
            out.add(Arguments.of(m, "L0H3", "undiff-q", null, false, false));
            out.add(Arguments.of(m, "L1H2,L0H1", "scale-v", "0.5", false, true));
            out.add(Arguments.of(m, "L1H0", "scale-v", null, false, false));
        }
        out.add(Arguments.of("llama-mha-f32-tied", "L1H2,L0H1", "undiff-k", "0.5", false, true));
        out.add(Arguments.of("llama-mha-f32-tied", "L1H2,L0H1", "undiff-k", "1e-5", false, false));
        // GQA with the flag: L1H0 and L1H1 share KV head 0, which is scaled by ε once, at run time and in the weights
        out.add(Arguments.of("llama-gqa-bf16", "L1H0,L1H1,L0H3", "undiff-k", "0.5", true, true));
        out.add(Arguments.of("qwen2-bias-bf16", "L1H3", "undiff-k", "0.25", true, true));
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2} eps={3}")
    @MethodSource("cases")
    void surgeredLogitsEqualRuntimeAblation(String model, String heads, String mode, String eps, boolean allowGrouped, boolean exact) throws IOException {
        Path src = TestModels.tiny(model);
        Path out = tmp.resolve("out" + outCount++);
        List<String> args = new ArrayList<>(List.of("surgery", "--model", src.toString(), "--ablate", heads, "--ablation", mode, "--out", out.toString()));
        if (eps != null) args.addAll(List.of("--epsilon", eps));
        if (allowGrouped) args.add("--allow-grouped-kv");
        CliTestSupport r = CliTestSupport.run(args.toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.err());
        float epsilon = eps == null ? Epsilon.EVALUATION : Float.parseFloat(eps);

        float[][] runtime, surgered;
        Ablation ablation;
        try (LlamaModel m = new LlamaModel(Checkpoint.open(src), new CpuBackend(2))) {
            ablation = Ablation.of(HeadId.parseList(heads), new Ablation.Spec(AblationMode.parse(mode), epsilon)).checkIn(m.config(), allowGrouped);
            runtime = allLogits(m, ablation);
        }
        try (LlamaModel m = new LlamaModel(Checkpoint.open(out), new CpuBackend(2))) {
            surgered = allLogits(m, Ablation.none());
        }
        // a power-of-two ε is bit-exact only where every scaled weight is representable (not so for F16 subnormals)
        boolean representable = checkTensors(src, out, ablation);
        double maxAbs = 0, maxLogit = 0;
        for (int t = 0; t < IDS.length; t++) {
            maxAbs = Math.max(maxAbs, TestModels.maxAbsDiff(runtime[t], surgered[t]));
            for (float f : runtime[t]) maxLogit = Math.max(maxLogit, Math.abs(f));
        }
        System.out.printf("surgery %s %s %s eps=%s: max |logit diff| = %.3g (largest logit %.3g, relative %.3g)%s%n",
                model, heads, mode, eps, maxAbs, maxLogit, maxAbs / maxLogit, representable ? "" : " [some ε·w rounded in the dtype]");
        if (exact && representable) {
            for (int t = 0; t < IDS.length; t++) assertArrayEquals(runtime[t], surgered[t], 0f, model + ": logits at position " + t);
        } else {
            assertTrue(maxAbs <= RELATIVE_TOLERANCE * maxLogit, model + ": logits differ by " + maxAbs + " > 1e-5 × " + maxLogit);
        }
        // and the surgery did change something real (the ablation moves the logits)
        try (LlamaModel m = new LlamaModel(Checkpoint.open(src), new CpuBackend(2))) {
            float[][] plain = allLogits(m, Ablation.none());
            double moved = 0;
            for (int t = 0; t < IDS.length; t++) moved = Math.max(moved, TestModels.maxAbsDiff(plain[t], surgered[t]));
            assertTrue(moved > 1e-4, model + ": the surgered model's logits equal the unablated ones (" + moved + ")");
        }
        checkFiles(src, out, heads, mode, epsilon);
    }

    static float[][] allLogits(LlamaModel m, Ablation a) {
        return m.forward(Forward.of(TokenBatch.pack(List.of(IDS)), a).returning(Forward.Outputs.ALL_LOGITS)).allLogits();
    }

    /**
     * Unedited tensors byte-identical; edited ones: the head's slices = round(orig · scale), the rest byte-identical.
     * Returns whether every scaled value was representable in the dtype (no rounding at all).
     */
    static boolean checkTensors(Path src, Path out, Ablation a) {
        try (Checkpoint in = Checkpoint.open(src); Checkpoint ed = Checkpoint.open(out)) {
            ModelConfig c = in.config();
            assertEquals(in.tensors().keySet(), ed.tensors().keySet(), "same tensor names");
            int hd = c.headDim();
            TreeSet<String> edited = new TreeSet<>();
            boolean representable = true;
            for (TensorData t : in.tensors().values()) {
                TensorData u = ed.tensors().get(t.name());
                assertEquals(t.dtype(), u.dtype(), t.name());
                assertArrayEquals(t.shape(), u.shape(), t.name());
                assertEquals(t.file().getFileName(), u.file().getFileName(), t.name() + " stays in its shard");
                float[] scale = expectedScales(t.name(), c, a);
                if (scale == null) {
                    assertEquals(-1, t.data().mismatch(u.data()), t.name() + " must be byte-identical");
                    continue;
                }
                edited.add(t.name());
                boolean columns = t.name().endsWith("o_proj.weight");
                int cols = t.cols();
                for (long i = 0; i < t.elementCount(); i++) {
                    int unit = (int) ((columns ? i % cols : t.shape().length == 1 ? i : i / cols) / hd);
                    float s = scale[unit];
                    if (s == 1f) {
                        assertEquals(Float.floatToRawIntBits(t.get(i)), Float.floatToRawIntBits(u.get(i)), t.name() + "[" + i + "] unedited");
                    } else {
                        float want = roundTo(t.dtype(), t.get(i) * s);
                        assertEquals(want, u.get(i), t.name() + "[" + i + "] scaled by " + s);
                        representable &= want == t.get(i) * s;
                    }
                }
            }
            assertFalse(edited.isEmpty(), "something was edited");
            return representable;
        }
    }

    /** The per-slice scales the test expects for a tensor (independently of WeightSurgery), or null if unedited. */
    static float[] expectedScales(String name, ModelConfig c, Ablation a) {
        int group = c.numHeads() / c.numKvHeads();
        float[] s = null;
        for (Map.Entry<HeadId, Ablation.Spec> e : a.heads().entrySet()) {
            String p = "model.layers." + e.getKey().layer() + ".self_attn.";
            int h = e.getKey().head();
            AblationMode m = e.getValue().mode();
            boolean q = m == AblationMode.UNDIFF_Q && (name.equals(p + "q_proj.weight") || name.equals(p + "q_proj.bias"));
            boolean k = m == AblationMode.UNDIFF_K && (name.equals(p + "k_proj.weight") || name.equals(p + "k_proj.bias"));
            boolean o = m == AblationMode.SCALE_V && name.equals(p + "o_proj.weight");
            if (!q && !k && !o) continue;
            if (s == null) {
                s = new float[k ? c.numKvHeads() : c.numHeads()];
                java.util.Arrays.fill(s, 1f);
            }
            if (k) s[h / group] = Math.min(s[h / group], e.getValue().epsilon());   // a KV head is scaled once
            else s[h] *= e.getValue().epsilon();
        }
        return s;
    }

    /** v rounded to the dtype, round to nearest even (BF16 by comparing the two neighbours, independently of WeightSurgery). */
    static float roundTo(DType d, float v) {
        return switch (d) {
            case F32 -> v;
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(v));
            case BF16 -> {
                int bits = Float.floatToRawIntBits(v);
                float lo = Float.intBitsToFloat(bits & 0xffff0000), hi = Float.intBitsToFloat((bits & 0xffff0000) + 0x10000);
                double dl = Math.abs((double) v - lo), dh = Math.abs((double) hi - v);
                yield dl < dh ? lo : dh < dl ? hi : ((bits >>> 16) & 1) == 0 ? lo : hi;
            }
        };
    }

    static void checkFiles(Path src, Path out, String heads, String mode, float epsilon) throws IOException {
        for (String f : List.of("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors.index.json")) {
            if (Files.exists(src.resolve(f))) assertEquals(-1, Files.mismatch(src.resolve(f), out.resolve(f)), f + " copied unchanged");
        }
        try (var s = Files.list(src); var o = Files.list(out)) {
            assertEquals(s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".safetensors")).sorted().toList(),
                    o.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".safetensors")).sorted().toList(), "the same weight files");
        }
        JsonNode rec = Json.readObject(out.resolve(SurgeryCommand.RECORD));
        assertEquals(mode, rec.get("mode").asText());
        assertEquals(epsilon, (float) rec.get("epsilon").asDouble());
        assertEquals(EngineVersion.version(), rec.get("engine_version").asText());
        assertEquals(src.toString(), rec.get("source_model").asText());
        List<String> labels = new ArrayList<>();
        rec.get("heads").forEach(h -> labels.add(h.get("head").asText()));
        assertEquals(new TreeSet<>(HeadId.parseList(heads)).stream().map(HeadId::label).toList(), labels);
    }

    /** Through the front door: `logits --token-ids` prints the same JSON for the surgered model as for runtime ablation. */
    @Test
    void logitsCommandAgrees() {
        for (String model : List.of("llama-mha-f32-tied", "mistral-sharded-f32")) {
            String src = TestModels.tiny(model).toString(), out = tmp.resolve("cli-" + model).toString();
            assertEquals(0, CliTestSupport.run("surgery", "--model", src, "--ablate", "L1H1,0-2", "--ablation", "undiff-k", "--epsilon", "0.125",
                    "--allow-grouped-kv", "--out", out).exitCode());
            CliTestSupport runtime = CliTestSupport.run("logits", "--model", src, "--token-ids", "1,403,407,261,378", "--ablate", "L1H1,0-2",
                    "--ablation", "undiff-k", "--epsilon", "0.125", "--allow-grouped-kv");
            CliTestSupport surgered = CliTestSupport.run("logits", "--model", out, "--token-ids", "1,403,407,261,378");
            assertEquals(0, runtime.exitCode(), runtime.err());
            assertEquals(0, surgered.exitCode(), surgered.err());
            assertEquals(runtime.out(), surgered.out(), model);
            assertFalse(surgered.out().equals(CliTestSupport.run("logits", "--model", src, "--token-ids", "1,403,407,261,378").out()));
        }
    }

    @Test
    void f16UnderflowsToZeroAtDefaultEpsilon() {
        Path out = tmp.resolve("f16");
        CliTestSupport r = CliTestSupport.run("surgery", "--model", TestModels.tiny("llama3-rope-f16").toString(), "--ablate", "L0H1", "--out", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.err().contains("rounded to 0"), "says the F16 values underflowed: " + r.err());
        try (Checkpoint ck = Checkpoint.open(out)) {
            TensorData q = ck.tensors().get("model.layers.0.self_attn.q_proj.weight");
            int hd = ck.config().headDim();
            for (long i = (long) hd * q.cols(); i < 2L * hd * q.cols(); i++) assertEquals(0f, Math.abs(q.get(i)), "row element " + i);
        }
        JsonNode rec = Json.readObject(out.resolve(SurgeryCommand.RECORD));
        assertTrue(rec.at("/edited_tensors/model.layers.0.self_attn.q_proj.weight/nonzero_values_rounded_to_zero").asLong() > 0);
    }

    // ---- bad input: exit 2, one line, nothing written ----

    static String error(String... args) { return CliTestSupport.usageError(args); }

    @Test
    void meanModesCannotBeBaked() {
        for (String mode : List.of("mean-q", "mean-k", "mean-v")) {
            Path out = tmp.resolve("mean-" + mode);
            String line = error("surgery", "--model", TestModels.tiny("llama-mha-f32-tied").toString(), "--ablate", "L0H1", "--ablation", mode, "--out", out.toString());
            assertTrue(line.contains(mode) && line.contains("cannot be baked into the weights"), line);
            assertFalse(Files.exists(out));
        }
    }

    @Test
    void groupedKvNeedsTheFlag() {
        Path out = tmp.resolve("gqa");
        String line = error("surgery", "--model", TestModels.tiny("llama-gqa-bf16").toString(), "--ablate", "L1H2", "--ablation", "undiff-k", "--out", out.toString());
        assertTrue(line.contains("--allow-grouped-kv") && line.contains("GQA"), line);
        assertFalse(Files.exists(out));
    }

    @Test
    void existingOutputNeedsForce() throws IOException {
        Path out = tmp.resolve("existing");
        Files.createDirectories(out);
        Files.writeString(out.resolve("keep.txt"), "x");
        Files.writeString(out.resolve("model-00001-of-00009.safetensors"), "stale");
        String m = TestModels.tiny("llama-mha-f32-tied").toString();
        String line = error("surgery", "--model", m, "--ablate", "L0H1", "--out", out.toString());
        assertTrue(line.contains("not empty") && line.contains("--force") && line.contains("existing"), line);
        assertFalse(Files.exists(out.resolve("model.safetensors")));

        CliTestSupport r = CliTestSupport.run("surgery", "--model", m, "--ablate", "L0H1", "--out", out.toString(), "--force");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(Files.exists(out.resolve("model.safetensors")));
        assertTrue(Files.exists(out.resolve("keep.txt")), "other files are left alone");
        assertFalse(Files.exists(out.resolve("model-00001-of-00009.safetensors")), "stale weight files are removed");
        // an empty existing folder is fine without --force
        Path empty = tmp.resolve("empty");
        Files.createDirectories(empty);
        assertEquals(0, CliTestSupport.run("surgery", "--model", m, "--ablate", "L0H1", "--out", empty.toString()).exitCode());
    }

    @Test
    void otherBadInput() throws IOException {
        Path copy = tmp.resolve("copy");
        Files.createDirectories(copy);
        try (var s = Files.list(TestModels.tiny("llama-mha-f32-tied"))) {
            for (Path f : s.toList()) if (Files.isRegularFile(f)) Files.copy(f, copy.resolve(f.getFileName()));
        }
        String line = error("surgery", "--model", copy.toString(), "--ablate", "L0H1", "--out", copy.toString(), "--force");
        assertTrue(line.contains("input model folder"), line);
        line = error("surgery", "--model", copy.toString(), "--out", tmp.resolve("x").toString());
        assertTrue(line.contains("needs --ablate"), line);
        line = error("surgery", "--model", copy.toString(), "--ablate", "L5H0", "--out", tmp.resolve("x").toString());
        assertTrue(line.contains("does not exist"), line);
        line = error("surgery", "--model", copy.toString(), "--ablate", "L0H0");
        assertTrue(line.contains("--out"), line);
        assertFalse(Files.exists(tmp.resolve("x")));
    }
}
