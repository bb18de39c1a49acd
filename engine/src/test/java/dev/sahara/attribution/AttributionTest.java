package dev.sahara.attribution;

import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.AblationMode;
import dev.sahara.backend.Divergence;
import dev.sahara.ablate.HeadId;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.backend.reference.ReferenceBackend;
import dev.sahara.llama.Forward;
import dev.sahara.llama.LlamaModel;
import dev.sahara.model.Checkpoint;
import dev.sahara.testing.TestModels;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Ships, principal angles and Sahara on random tiny models, CPU against the double reference backend. */
class AttributionTest {
    /** Eight prompts of different lengths (3..17 tokens), BOS first. */
    static List<int[]> prompts() {
        Random r = new Random(7);
        List<int[]> out = new ArrayList<>();
        for (int p = 0; p < 8; p++) {
            int[] ids = r.ints(3 + 2 * p, 3, 512).toArray();
            ids[0] = 1;
            out.add(ids);
        }
        return out;
    }

    static LlamaModel cpu(String name) { return new LlamaModel(Checkpoint.open(TestModels.tiny(name)), new CpuBackend(2)); }

    static LlamaModel reference(String name) { return new LlamaModel(Checkpoint.open(TestModels.tiny(name)), new ReferenceBackend()); }

    @Test
    void klIsZeroForEqualAndMatchesDefinition() {
        float[] p = {1f, 2f, -1f, 0.5f}, q = {0.3f, 2.5f, -2f, 1f};
        assertEquals(0.0, Divergence.kl(p, p), 1e-15);
        double[] lp = Divergence.logSoftmax(p), lq = Divergence.logSoftmax(q);
        double expected = 0;
        for (int i = 0; i < 4; i++) expected += Math.exp(lp[i]) * Math.log(Math.exp(lp[i]) / Math.exp(lq[i]));
        assertEquals(expected, Divergence.kl(p, q), 1e-14);
        assertEquals(expected, Divergence.officialKl(p, q), 1e-10, "the +1e-12 variant differs only at the 1e-12 level here");
    }

    @Test
    void principalAngleMatchesDirectSvdOfTheActivations() {
        Random r = new Random(3);
        float[][] a = new float[9][13], b = new float[9][13];
        for (int i = 0; i < 9; i++) for (int j = 0; j < 13; j++) {
            a[i][j] = (float) r.nextGaussian() + (j == 0 ? 3 : 0);
            b[i][j] = a[i][j] + (float) (0.7 * r.nextGaussian());
        }
        for (int rank = 1; rank <= 3; rank++) {
            DMatrixRMaj ua = directLeftSingular(a, rank), ub = directLeftSingular(b, rank);
            double expected = PrincipalAngles.angleDegrees(ua, ub);
            assertEquals(expected, PrincipalAngles.angleDegrees(a, b, rank), 1e-6, "rank " + rank);
            if (rank == 1) {
                double dot = 0;
                for (int i = 0; i < 9; i++) dot += ua.get(i, 0) * ub.get(i, 0);
                assertEquals(Math.toDegrees(Math.acos(Math.min(1, Math.abs(dot)))), expected, 1e-6);
            }
        }
        assertEquals(0.0, PrincipalAngles.angleDegrees(a, a, 2), 1e-4, "a space has no angle to itself");
    }

    /** U from EJML's SVD of M itself, an independent path to the Gram-matrix eigenvectors. */
    static DMatrixRMaj directLeftSingular(float[][] m, int r) {
        DMatrixRMaj mm = new DMatrixRMaj(m.length, m[0].length);
        for (int i = 0; i < m.length; i++) for (int j = 0; j < m[0].length; j++) mm.set(i, j, m[i][j]);
        SingularValueDecomposition_F64<DMatrixRMaj> svd = DecompositionFactory_DDRM.svd(mm.numRows, mm.numCols, true, false, false);
        assertTrue(svd.decompose(mm));
        DMatrixRMaj u = svd.getU(null, false);
        double[] sv = svd.getSingularValues();
        Integer[] order = new Integer[sv.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        java.util.Arrays.sort(order, (x, y) -> Double.compare(sv[y], sv[x]));
        DMatrixRMaj out = new DMatrixRMaj(m.length, r);
        for (int c = 0; c < r; c++) for (int i = 0; i < m.length; i++) out.set(i, c, u.get(i, order[c]));
        return out;
    }

    @Test
    void queryShipsOnCpuMatchesReferenceBackend() {
        AttributionSettings s = AttributionSettings.defaults();
        try (LlamaModel c = cpu("llama-gqa-bf16"); LlamaModel r = reference("llama-gqa-bf16")) {
            double[][][] a = QueryShips.compute(c, prompts(), s, Progress.NONE), b = QueryShips.compute(r, prompts(), s, Progress.NONE);
            double maxKl = 0;
            for (int p = 0; p < a.length; p++) for (int l = 0; l < a[p].length; l++) for (int h = 0; h < a[p][l].length; h++) {
                assertEquals(b[p][l][h], a[p][l][h], 1e-5 + 1e-3 * b[p][l][h], "prompt " + p + " " + new HeadId(l, h));
                maxKl = Math.max(maxKl, b[p][l][h]);
            }
            assertTrue(maxKl > 1e-3, "ablating a head of a random model moves the distribution measurably: " + maxKl);
        }
    }

    /** The KL computed where the logits are (Backend.klDivergence) equals Divergence on the downloaded rows, bit for bit. */
    @Test
    void queryShipsEqualsKlOfTheDownloadedLogits() {
        try (LlamaModel m = cpu("qwen2-bias-bf16")) {
            var c = m.config();
            dev.sahara.llama.TokenBatch batch = dev.sahara.llama.TokenBatch.pack(prompts());
            float[][] base = m.forward(Forward.of(batch, Ablation.none())).lastLogits();
            for (boolean official : new boolean[] {false, true}) {
                for (boolean reuse : new boolean[] {false, true}) {
                    AttributionSettings s = new AttributionSettings(AblationMode.UNDIFF_Q, 1e-5f, 1, official, reuse);
                    double[][][] got = QueryShips.compute(m, prompts(), s, Progress.NONE);
                    for (int l = 0; l < c.numLayers(); l++) for (int h = 0; h < c.numHeads(); h++) {
                        float[][] ablated = m.forward(Forward.of(batch, Ablation.of(List.of(new HeadId(l, h)), new Ablation.Spec(AblationMode.UNDIFF_Q, 1e-5f)))).lastLogits();
                        for (int p = 0; p < base.length; p++) {
                            double expected = official ? Divergence.officialKl(base[p], ablated[p]) : Divergence.kl(base[p], ablated[p]);
                            assertEquals(expected, got[p][l][h], 0.0, "official " + official + ", reuse " + reuse + ", prompt " + p + " " + new HeadId(l, h));
                        }
                    }
                }
            }
        }
    }

    @Test
    void datasetShipsOnCpuMatchesReferenceBackend() {
        AttributionSettings s = new AttributionSettings(AblationMode.UNDIFF_Q, 1e-5f, 2, false, true);
        try (LlamaModel c = cpu("llama-mha-f32-tied"); LlamaModel r = reference("llama-mha-f32-tied")) {
            double[][] a = new GreedyGroupSearch(c, prompts(), s).scoreAll(List.of(), Progress.NONE);
            double[][] b = new GreedyGroupSearch(r, prompts(), s).scoreAll(List.of(), Progress.NONE);
            for (int l = 0; l < a.length; l++) for (int h = 0; h < a[l].length; h++) {
                assertEquals(b[l][h], a[l][h], 0.05, "angle of " + new HeadId(l, h) + " in degrees");
            }
        }
    }

    @Test
    void saharaWithPrefixReuseEqualsFullRecompute() {
        AttributionSettings reuse = AttributionSettings.defaults();
        AttributionSettings full = new AttributionSettings(reuse.mode(), reuse.epsilon(), reuse.rMain(), false, false);
        try (LlamaModel m = cpu("llama-gqa-bf16")) {
            GreedyGroupSearch.Result a = new GreedyGroupSearch(m, prompts(), reuse).run(3, Progress.NONE);
            GreedyGroupSearch.Result b = new GreedyGroupSearch(m, prompts(), full).run(3, Progress.NONE);
            assertEquals(b.group(), a.group());
            for (int s = 0; s < 3; s++) {
                for (int l = 0; l < a.steps().get(s).scores().length; l++) {
                    assertArrayEquals(b.steps().get(s).scores()[l], a.steps().get(s).scores()[l], 0.0, "step " + s + " layer " + l);
                }
            }
            assertEquals(3, a.group().stream().distinct().count(), "a group never repeats a head");
        }
    }
}
