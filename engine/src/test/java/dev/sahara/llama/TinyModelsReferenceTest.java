package dev.sahara.llama;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.AblationMode;
import dev.sahara.ablate.HeadId;
import dev.sahara.backend.Backend;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.backend.reference.ReferenceBackend;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.Json;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every tiny random checkpoint (MHA/GQA, F32/F16/BF16, tied/untied, llama3 and linear RoPE scaling, Qwen2
 * biases, sharded, explicit head_dim) against the independent numpy float64 forward in
 * tools/reference_forward.py (golden/reference.json): logits at every position, the final-norm state, and
 * 14 ablation cases covering all six modes. Tolerance 1e-4 absolute for the CPU backend (float32 compute;
 * logits have std ~1.5), 1e-6 for the double reference backend (its results are rounded to float32 and ε is a float).
 */
class TinyModelsReferenceTest {
    static Stream<Arguments> cases() {
        return TestModels.TINY.stream().flatMap(m -> Stream.of(Arguments.of(m, "cpu"), Arguments.of(m, "reference")));
    }

    static Backend backend(String name) { return name.equals("cpu") ? new CpuBackend(2) : new ReferenceBackend(); }

    static double tolerance(String backend) { return backend.equals("cpu") ? 1e-4 : 1e-6; }

    static float[] floats(JsonNode arr) {
        float[] f = new float[arr.size()];
        for (int i = 0; i < f.length; i++) f[i] = (float) arr.get(i).asDouble();
        return f;
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void unablatedForwardMatchesNumpy(String model, String backendName) {
        JsonNode ref = Json.readObject(TestModels.tiny(model).resolve("golden/reference.json"));
        int[] ids = new int[ref.get("token_ids").size()];
        for (int i = 0; i < ids.length; i++) ids[i] = ref.get("token_ids").get(i).asInt();
        try (LlamaModel m = new LlamaModel(Checkpoint.open(TestModels.tiny(model)), backend(backendName))) {
            LlamaModel.Result r = m.forward(Forward.of(TokenBatch.pack(List.of(ids)), Ablation.none()).returning(new Forward.Outputs(true, true, true)));
            double tol = tolerance(backendName);
            for (int t = 0; t < ids.length; t++) {
                double d = TestModels.maxAbsDiff(r.allLogits()[t], floats(ref.get("all_logits").get(t)));
                assertTrue(d < tol, model + " on " + backendName + ": logits at position " + t + " differ by " + d);
            }
            double dn = TestModels.maxAbsDiff(r.finalNormLast()[0], floats(ref.get("final_norm_last")));
            assertTrue(dn < tol, model + " on " + backendName + ": final-norm state differs by " + dn);
        }
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void ablatedForwardMatchesNumpy(String model, String backendName) {
        JsonNode ref = Json.readObject(TestModels.tiny(model).resolve("golden/reference.json"));
        int[] ids = new int[ref.get("token_ids").size()];
        for (int i = 0; i < ids.length; i++) ids[i] = ref.get("token_ids").get(i).asInt();
        try (LlamaModel m = new LlamaModel(Checkpoint.open(TestModels.tiny(model)), backend(backendName))) {
            TokenBatch batch = TokenBatch.pack(List.of(ids));
            for (JsonNode c : ref.get("ablated")) {
                Ablation a = Ablation.none();
                for (JsonNode h : c.get("heads")) {
                    a = a.with(new HeadId(h.get("layer").asInt(), h.get("head").asInt()), new Ablation.Spec(AblationMode.parse(h.get("mode").asText()), (float) h.get("epsilon").asDouble()));
                }
                a.checkIn(m.config(), true);
                LlamaModel.Result r = m.forward(Forward.of(batch, a).returning(new Forward.Outputs(true, false, true)));
                double d = TestModels.maxAbsDiff(r.lastLogits()[0], floats(c.get("last_logits")));
                double dn = TestModels.maxAbsDiff(r.finalNormLast()[0], floats(c.get("final_norm_last")));
                assertTrue(d < tolerance(backendName), model + " on " + backendName + " with " + a + ": logits differ by " + d);
                assertTrue(dn < tolerance(backendName), model + " on " + backendName + " with " + a + ": final-norm state differs by " + dn);
            }
        }
    }
}
