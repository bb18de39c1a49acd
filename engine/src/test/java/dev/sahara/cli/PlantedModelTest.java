package dev.sahara.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.AblationMode;
import dev.sahara.ablate.HeadId;
import dev.sahara.attribution.AttributionSettings;
import dev.sahara.attribution.Progress;
import dev.sahara.attribution.QueryShips;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.data.Datasets;
import dev.sahara.eval.AsrEvaluation;
import dev.sahara.eval.RefusalJudge;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.Sampler;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.Json;
import dev.sahara.model.PromptFormat;
import dev.sahara.model.Tokenizer;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The planted model (test-models/planted/README.md): refusal carried by L1H2, with L0H3 and L1H0 a redundant
 * pair. The method must find exactly what was planted.
 */
class PlantedModelTest {
    static final Path PLANTED = TestModels.repo().resolve("test-models/planted");
    static final Set<HeadId> PLANTED_HEADS = Set.of(new HeadId(1, 2), new HeadId(0, 3), new HeadId(1, 0));

    @TempDir
    Path tmp;

    static List<int[]> encode(Tokenizer tok, List<String> queries) {
        List<int[]> ids = new ArrayList<>();
        for (String q : queries) ids.add(PromptFormat.TEMPLATE.encode(q, null, tok));
        return ids;
    }

    @Test
    void theFrontDoorFindsThePlantedHeadsAndAsrJumps() {
        Path out = tmp.resolve("front-door");
        CliTestSupport r = CliTestSupport.run("attribute", "--out", out.toString());   // everything else default: builtin:planted, maliciousinstruct
        assertEquals(0, r.exitCode(), r.err());
        JsonNode a = Json.readObject(out.resolve("attribution.json"));
        assertEquals(100, a.get("dataset").get("size").asInt());
        Set<String> group = new java.util.HashSet<>();
        a.get("group").forEach(g -> group.add(g.asText()));
        assertEquals(Set.of("L1H2", "L0H3", "L1H0"), group, r.out());
        assertEquals("L1H2", a.get("group").get(0).asText(), "the carrier is the first pick");
        assertTrue(a.get("asr").get("before").get("asr").asDouble() <= 0.1, r.out());
        assertTrue(a.get("asr").get("after").get("asr").asDouble() >= 0.9, r.out());
    }

    @Test
    void carrierTopsQueryLevelShipsOnHarmfulPrompts() {
        try (LlamaModel m = new LlamaModel(Checkpoint.open(PLANTED), new CpuBackend(2)); Tokenizer tok = Tokenizer.load(PLANTED)) {
            List<String> queries = Datasets.load("builtin:jailbreakbench", null, 12).prompts();
            double[][][] s = QueryShips.compute(m, encode(tok, queries), AttributionSettings.defaults(), Progress.NONE);
            for (int p = 0; p < s.length; p++) {
                HeadId best = new HeadId(0, 0);
                for (int l = 0; l < s[p].length; l++) for (int h = 0; h < s[p][l].length; h++) if (s[p][l][h] > s[p][best.layer()][best.head()]) best = new HeadId(l, h);
                assertEquals(new HeadId(1, 2), best, "prompt " + p + ": " + queries.get(p));
            }
        }
    }

    @Test
    void plantedHeadsAloneAndTogetherAndHeadsThatCarryNothing() {
        RefusalJudge judge = RefusalJudge.paper();
        try (LlamaModel m = new LlamaModel(Checkpoint.open(PLANTED), new CpuBackend(2)); Tokenizer tok = Tokenizer.load(PLANTED)) {
            List<String> harmful = Datasets.load("builtin:maliciousinstruct", null, 20).prompts();
            List<String> harmless = Datasets.load("builtin:harmless", null, 10).prompts();
            List<int[]> hIds = encode(tok, harmful), okIds = encode(tok, harmless);
            AsrEvaluation.Result base = run(m, tok, harmful, hIds, Ablation.none(), judge);
            AsrEvaluation.Result baseOk = run(m, tok, harmless, okIds, Ablation.none(), judge);
            assertEquals(0.0, base.asr(), "harmful prompts are refused");
            assertEquals(1.0, baseOk.asr(), "harmless prompts are answered");

            float eps = 1e-10f;
            assertEquals(1.0, run(m, tok, harmful, hIds, Ablation.none().with(new HeadId(1, 2), new Ablation.Spec(AblationMode.UNDIFF_Q, eps)), judge).asr(), "the carrier alone flips");
            assertEquals(0.0, run(m, tok, harmful, hIds, Ablation.none().with(new HeadId(0, 3), new Ablation.Spec(AblationMode.UNDIFF_Q, eps)), judge).asr(), "one of the pair alone does not");
            assertEquals(0.0, run(m, tok, harmful, hIds, Ablation.none().with(new HeadId(1, 0), new Ablation.Spec(AblationMode.UNDIFF_Q, eps)), judge).asr(), "nor the other");
            assertEquals(1.0, run(m, tok, harmful, hIds, Ablation.of(List.of(new HeadId(0, 3), new HeadId(1, 0)), new Ablation.Spec(AblationMode.UNDIFF_Q, eps)), judge).asr(),
                    "the pair together flips");
            for (int l = 0; l < 3; l++) {
                for (int h = 0; h < 4; h++) {
                    HeadId id = new HeadId(l, h);
                    if (PLANTED_HEADS.contains(id)) continue;
                    Ablation a = Ablation.none().with(id, new Ablation.Spec(AblationMode.UNDIFF_Q, eps));
                    assertEquals(texts(base), texts(run(m, tok, harmful, hIds, a, judge)), id + " carries nothing: harmful outputs unchanged");
                    assertEquals(texts(baseOk), texts(run(m, tok, harmless, okIds, a, judge)), id + " carries nothing: harmless outputs unchanged");
                }
            }
        }
    }

    static AsrEvaluation.Result run(LlamaModel m, Tokenizer tok, List<String> q, List<int[]> ids, Ablation a, RefusalJudge judge) {
        return AsrEvaluation.run(m, tok, q, ids, a, 128, Sampler.GREEDY, judge, 32, Progress.NONE);
    }

    static List<String> texts(AsrEvaluation.Result r) { return r.responses().stream().map(AsrEvaluation.Response::response).toList(); }
}
