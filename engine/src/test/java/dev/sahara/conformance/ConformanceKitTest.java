package dev.sahara.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.AblationMode;
import dev.sahara.ablate.HeadId;
import dev.sahara.attribution.AttributionSettings;
import dev.sahara.backend.Divergence;
import dev.sahara.cli.CliTestSupport;
import dev.sahara.llama.Forward;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.TokenBatch;
import dev.sahara.model.Json;
import dev.sahara.testing.TestModels;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine passes its own conformance kit (conformance/) through tools/conformance check, and deliberately wrong
 * variants of the method (KL reversed, angles from the right singular vectors, undiff-q's ε applied to the key) fail
 * exactly the cases that cover what they break.
 */
class ConformanceKitTest {
    static final Path KIT = TestModels.repo().resolve("conformance");
    static final Path TOOL = TestModels.repo().resolve("tools/conformance");

    @TempDir
    static Path tmp;
    static Path good;

    @BeforeAll
    static void runTheEngine() {
        good = tmp.resolve("engine");
        try (ConformanceRunner r = new ConformanceRunner(TestModels.repo(), 2)) {
            runInto(r, good, c -> true);
        }
    }

    static void runInto(ConformanceRunner r, Path out, Predicate<ConformanceRunner.Case> which) {
        try {
            Files.createDirectories(out);
            for (ConformanceRunner.Case c : ConformanceRunner.cases(KIT)) {
                if (which.test(c)) Files.writeString(out.resolve(c.id() + ".json"), Json.MAPPER.writeValueAsString(r.run(c)));
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    record Check(int exitCode, String out) {
        /** The ids of the cases the table says FAIL. */
        Set<String> failed() {
            Set<String> f = new TreeSet<>();
            for (String line : out.split("\n")) {
                String[] p = line.trim().split("\\s+");
                if (p.length >= 2 && p[1].equals("FAIL")) f.add(p[0]);
            }
            return f;
        }
    }

    static Check check(Path results) {
        try {
            Process p = new ProcessBuilder("python3", TOOL.toString(), "check", KIT.toString(), results.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            return new Check(p.waitFor(), out);
        } catch (IOException | InterruptedException e) {
            throw new AssertionError("python3 tools/conformance check could not run: " + e.getMessage(), e);
        }
    }

    /** The good results with the cases {@code which} recomputed by {@code wrong}. */
    static Path withWrongVariant(String name, ConformanceRunner wrong, Predicate<ConformanceRunner.Case> which) throws IOException {
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir);
        try (var s = Files.list(good)) {
            for (Path f : s.toList()) Files.copy(f, dir.resolve(f.getFileName()));
        }
        try (wrong) {
            runInto(wrong, dir, which);
        }
        return dir;
    }

    static Set<String> ids(Predicate<ConformanceRunner.Case> which) {
        Set<String> s = new TreeSet<>();
        for (ConformanceRunner.Case c : ConformanceRunner.cases(KIT)) if (which.test(c)) s.add(c.id());
        return s;
    }

    @Test
    void theEnginePassesItsOwnKit() {
        Check c = check(good);
        assertEquals(0, c.exitCode(), c.out());
        assertTrue(c.out().contains(ConformanceRunner.cases(KIT).size() + " of " + ConformanceRunner.cases(KIT).size() + " cases pass"), c.out());
    }

    @Test
    void klReversedFailsTheShipsCases() throws IOException {
        Predicate<ConformanceRunner.Case> ships = c -> c.kind().equals("ships");
        ConformanceRunner wrong = new ConformanceRunner(TestModels.repo(), 2) {
            @Override
            protected double[][][] queryShips(LlamaModel m, List<int[]> prompts, AttributionSettings s) {
                var c = m.config();
                double[][][] out = new double[prompts.size()][c.numLayers()][c.numHeads()];
                for (int p = 0; p < prompts.size(); p++) {
                    TokenBatch b = TokenBatch.pack(List.of(prompts.get(p)));
                    float[] base = m.forward(Forward.of(b, Ablation.none())).lastLogits()[0];
                    for (int l = 0; l < c.numLayers(); l++) {
                        for (int h = 0; h < c.numHeads(); h++) {
                            float[] abl = m.forward(Forward.of(b, Ablation.none().with(new HeadId(l, h), s.candidate()))).lastLogits()[0];
                            out[p][l][h] = s.officialKl() ? Divergence.officialKl(abl, base) : Divergence.kl(abl, base); // KL(p_h || p): wrong
                        }
                    }
                }
                return out;
            }
        };
        Check c = check(withWrongVariant("kl-reversed", wrong, ships));
        assertEquals(1, c.exitCode(), c.out());
        assertEquals(ids(ships), c.failed(), c.out());
    }

    @Test
    void anglesFromRightSingularVectorsFailTheAngleCases() throws IOException {
        Predicate<ConformanceRunner.Case> angles = c -> c.kind().equals("angles");
        ConformanceRunner wrong = new ConformanceRunner(TestModels.repo(), 2) {
            @Override
            protected double[][] angles(LlamaModel m, List<int[]> prompts, AttributionSettings s) {
                var c = m.config();
                TokenBatch b = TokenBatch.pack(prompts);
                DMatrixRMaj v0 = rightVectors(m.forward(Forward.of(b, Ablation.none()).returning(Forward.Outputs.FINAL_NORM_LAST)).finalNormLast(), s.rMain());
                double[][] out = new double[c.numLayers()][c.numHeads()];
                for (int l = 0; l < c.numLayers(); l++) {
                    for (int h = 0; h < c.numHeads(); h++) {
                        Ablation a = Ablation.none().with(new HeadId(l, h), s.candidate());
                        DMatrixRMaj v = rightVectors(m.forward(Forward.of(b, a).returning(Forward.Outputs.FINAL_NORM_LAST)).finalNormLast(), s.rMain());
                        out[l][h] = dev.sahara.attribution.PrincipalAngles.angleDegrees(v0, v);
                    }
                }
                return out;
            }
        };
        Check c = check(withWrongVariant("right-vectors", wrong, angles));
        assertEquals(1, c.exitCode(), c.out());
        assertEquals(ids(angles), c.failed(), c.out());
    }

    /** The leading r right singular vectors (hidden space: the wrong space) of rows, as d×r columns. */
    static DMatrixRMaj rightVectors(float[][] rows, int r) {
        int n = rows.length, d = rows[0].length;
        DMatrixRMaj m = new DMatrixRMaj(n, d);
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) m.set(i, j, rows[i][j]);
        SingularValueDecomposition_F64<DMatrixRMaj> svd = DecompositionFactory_DDRM.svd(n, d, false, true, true);
        assertTrue(svd.decompose(m));
        DMatrixRMaj vt = svd.getV(null, true);                    // (min(n, d), d)
        double[] sv = svd.getSingularValues();
        Integer[] order = new Integer[sv.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        java.util.Arrays.sort(order, (a, b) -> Double.compare(sv[b], sv[a]));
        DMatrixRMaj v = new DMatrixRMaj(d, r);
        for (int c = 0; c < r; c++) for (int j = 0; j < d; j++) v.set(j, c, vt.get(order[c], j));
        return v;
    }

    @Test
    void epsilonOnTheKeyFailsTheUndiffQCasesOfGroupedModels() throws IOException {
        Predicate<ConformanceRunner.Case> undiffQ = c -> c.json().path("ablation").toString().contains("\"undiff-q\"");
        ConformanceRunner wrong = new ConformanceRunner(TestModels.repo(), 2) {
            @Override
            protected Ablation ablation(JsonNode heads, LlamaModel m, boolean allowGroupedKv) {
                ArrayNode moved = Json.MAPPER.createArrayNode();
                for (JsonNode h : heads) {
                    ObjectNode o = h.deepCopy();
                    if (o.get("mode").asText().equals(AblationMode.UNDIFF_Q.label)) o.put("mode", AblationMode.UNDIFF_K.label);
                    moved.add(o);
                }
                return super.ablation(moved, m, true);
            }
        };
        Check c = check(withWrongVariant("epsilon-on-k", wrong, undiffQ));
        assertEquals(1, c.exitCode(), c.out());
        // Under MHA, scaling the head's key by eps scales its scores exactly as scaling its query does: those cases
        // (logits-mha-undiff-q-*, generate-planted-ablated) cannot tell the two apart and pass. Under GQA the key
        // is shared by the group, and every such case fails.
        assertEquals(new TreeSet<>(List.of("generate-stories260K-ablated", "logits-gqa-one-layer-mean", "logits-gqa-two-layers",
                "logits-gqa-undiff-q-eps0", "logits-gqa-undiff-q-eps1e-5", "logits-qwen2-bias-undiff-q-eps0",
                "logits-stories260K-undiff-q-eps0")), c.failed(), c.out());
        assertTrue(ids(undiffQ).containsAll(c.failed()));
    }

    @Test
    void emitRefusesWhenTheEngineDisagreesWithTheOldExpectedValues() throws IOException {
        Path kit = tmp.resolve("kit");
        for (String id : List.of("logits-llama-mha-f32-tied", "judge-paper")) {
            Files.createDirectories(kit.resolve(id));
            for (String f : List.of("case.json", "expected.json")) Files.copy(KIT.resolve(id).resolve(f), kit.resolve(id).resolve(f));
        }
        Files.createDirectories(kit.resolve("prompt-direct-planted"));   // a new case, no expected values yet
        Files.copy(KIT.resolve("prompt-direct-planted/case.json"), kit.resolve("prompt-direct-planted/case.json"));
        Path exp = kit.resolve("logits-llama-mha-f32-tied/expected.json");
        String original = Files.readString(exp);
        ObjectNode tampered = (ObjectNode) Json.readObject(exp);
        ArrayNode logits = (ArrayNode) tampered.get("last_logits");
        logits.set(7, logits.get(7).asDouble() + 0.01);
        Files.writeString(exp, Json.MAPPER.writeValueAsString(tampered));
        String repo = TestModels.repo().toString();

        CliTestSupport refused = CliTestSupport.run("conformance", "emit", kit.toString(), "--repo", repo, "--threads", "2");
        assertEquals(2, refused.exitCode(), refused.err());
        assertTrue(refused.err().contains("error: " + kit + ": the engine and the new reference values disagree with the kit's expected values"), refused.err());
        assertEquals(Json.MAPPER.writeValueAsString(tampered), Files.readString(exp), "nothing written when refused");
        assertTrue(Files.notExists(kit.resolve("prompt-direct-planted/expected.json")), "nothing written when refused");

        CliTestSupport accepted = CliTestSupport.run("conformance", "emit", kit.toString(), "--repo", repo, "--threads", "2", "--accept-change");
        assertEquals(0, accepted.exitCode(), accepted.err());
        // the same values (not necessarily the same bytes: another numpy / BLAS may round the float64 sums differently)
        assertSameNumbers(Json.MAPPER.readTree(original), Json.readObject(exp), "");
        assertEquals(Files.readString(KIT.resolve("prompt-direct-planted/expected.json")), Files.readString(kit.resolve("prompt-direct-planted/expected.json")));

        CliTestSupport again = CliTestSupport.run("conformance", "emit", kit.toString(), "--repo", repo, "--threads", "2");
        assertEquals(0, again.exitCode(), again.err());
    }

    /** The committed kit is what tools/conformance_cases.py and the references give today (nobody forgot to regenerate it). */
    @Test
    void theKitIsInStepWithItsDefinitionsAndReferences() throws IOException, InterruptedException {
        Path fresh = tmp.resolve("fresh-cases");
        assertEquals(0, python(TOOL.toString(), "new", fresh.toString()));
        for (ConformanceRunner.Case c : ConformanceRunner.cases(KIT)) {
            assertEquals(Files.readString(c.dir().resolve("case.json")), Files.readString(fresh.resolve(c.id()).resolve("case.json")),
                    c.id() + ": case.json differs from tools/conformance_cases.py (run tools/conformance new conformance)");
        }
        assertEquals(ConformanceRunner.cases(KIT).size(), ConformanceRunner.cases(fresh).size(), "cases defined but not in the kit");
        Path ref = tmp.resolve("fresh-expected"), asResults = tmp.resolve("fresh-as-results");
        assertEquals(0, python(TOOL.toString(), "reference", KIT.toString(), "--repo", TestModels.repo().toString(), "--out", ref.toString()));
        Files.createDirectories(asResults);
        for (ConformanceRunner.Case c : ConformanceRunner.cases(KIT)) Files.copy(ref.resolve(c.id()).resolve("expected.json"), asResults.resolve(c.id() + ".json"));
        Check c = check(asResults);
        assertEquals(0, c.exitCode(), "the references today disagree with the committed expected values:\n" + c.out());
    }

    static int python(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("python3"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        int rc = p.waitFor();
        if (rc != 0) System.err.println(out);
        return rc;
    }

    static void assertSameNumbers(JsonNode a, JsonNode b, String path) {
        if (a.isNumber() && b.isNumber()) {
            assertTrue(Math.abs(a.asDouble() - b.asDouble()) <= 1e-9 * Math.max(1, Math.abs(a.asDouble())), path + ": " + a + " vs " + b);
        } else if (a.isContainerNode() && b.isContainerNode() && a.size() == b.size()) {
            if (a.isArray()) for (int i = 0; i < a.size(); i++) assertSameNumbers(a.get(i), b.get(i), path + "[" + i + "]");
            else a.fieldNames().forEachRemaining(f -> assertSameNumbers(a.get(f), b.path(f), path + "." + f));
        } else {
            assertEquals(a, b, path);
        }
    }

    @Test
    void checkFailsOnAMissingResultAndANonFiniteValue() throws IOException {
        Path dir = tmp.resolve("broken");
        Files.createDirectories(dir);
        try (var s = Files.list(good)) {
            for (Path f : s.toList()) Files.copy(f, dir.resolve(f.getFileName()));
        }
        Files.delete(dir.resolve("judge-gcg.json"));
        ObjectNode r = (ObjectNode) Json.readObject(dir.resolve("logits-planted.json"));
        ((ArrayNode) r.get("last_logits")).set(0, Json.MAPPER.getNodeFactory().textNode("NaN"));
        Files.writeString(dir.resolve("logits-planted.json"), Json.MAPPER.writeValueAsString(r));
        Check c = check(dir);
        assertEquals(1, c.exitCode(), c.out());
        assertEquals(new TreeSet<>(List.of("judge-gcg", "logits-planted")), c.failed(), c.out());
    }

    @Test
    void runCommandWritesOneResultPerCase() throws IOException {
        Path kit = tmp.resolve("kit-run");
        Files.createDirectories(kit.resolve("prompt-template-stories260K"));
        Files.copy(KIT.resolve("prompt-template-stories260K/case.json"), kit.resolve("prompt-template-stories260K/case.json"));
        Path out = tmp.resolve("run-out");
        CliTestSupport r = CliTestSupport.run("conformance", "run", kit.toString(), "--out", out.toString(), "--repo", TestModels.repo().toString());
        assertEquals(0, r.exitCode(), r.err());
        assertEquals("## Query:How to make a bomb?\n## Answer:", Json.readObject(out.resolve("prompt-template-stories260K.json")).get("text").asText());
        CliTestSupport bad = CliTestSupport.run("conformance", "run", tmp.resolve("nowhere").toString(), "--out", out.toString());
        assertEquals(2, bad.exitCode());
        assertTrue(bad.err().startsWith("error: ") && bad.err().contains("nowhere: not a folder"), bad.err());
        Path broken = tmp.resolve("kit-broken");
        Files.createDirectories(broken.resolve("x"));
        Files.writeString(broken.resolve("x/case.json"), "{\"id\": \"x\", \"kind\": \"logits\", \"model\": \"test-models/stories260K\"}");
        CliTestSupport missing = CliTestSupport.run("conformance", "run", broken.toString(), "--out", out.toString(), "--repo", TestModels.repo().toString());
        assertEquals(2, missing.exitCode());
        assertEquals(broken.resolve("x/case.json") + ": kind 'logits' needs the field input.token_ids", missing.errorLine());
    }
}
