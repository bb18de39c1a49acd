package dev.sahara.backend.cpu;

import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.AblationMode;
import dev.sahara.ablate.HeadId;
import dev.sahara.llama.Forward;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.TokenBatch;
import dev.sahara.model.Checkpoint;
import dev.sahara.testing.TestModels;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU backend gives the same bits whatever the SIMD width: the whole forward (prefill and ablation) of every
 * tiny model and stories260K is hashed in child JVMs limited to 512-, 256- and 128-bit vectors
 * ({@code -XX:MaxVectorSize}), and the hashes must agree. Also: {@code dot}'s vector paths equal its scalar definition.
 */
class VectorWidthTest {
    @Test
    void dotEqualsItsScalarDefinitionBitForBit() {
        SplittableRandom r = new SplittableRandom(5);
        for (int n : new int[] {1, 3, 8, 15, 16, 17, 31, 32, 48, 64, 72, 80, 96, 128, 130, 256}) {
            float[] a = new float[n + 7], b = new float[n + 11];
            for (int trial = 0; trial < 50; trial++) {
                for (int i = 0; i < a.length; i++) a[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(-3, 4)));
                for (int i = 0; i < b.length; i++) b[i] = (float) r.nextGaussian();
                int ao = r.nextInt(8), bo = r.nextInt(12);
                assertEquals(Float.floatToIntBits(CpuBackend.dotByChains(a, ao, b, bo, n)), Float.floatToIntBits(CpuBackend.dot(a, ao, b, bo, n)), "n " + n);
            }
        }
    }

    /** Run in a child JVM: prints "lanes hash". */
    public static void main(String[] args) {
        long hash = 1125899906842597L;
        List<Path> models = new ArrayList<>();
        for (String m : TestModels.TINY) models.add(TestModels.tiny(m));
        models.add(TestModels.stories260K());
        for (Path dir : models) {
            try (LlamaModel m = new LlamaModel(Checkpoint.open(dir), new CpuBackend(2))) {
                var c = m.config();
                SplittableRandom r = new SplittableRandom(9);
                List<int[]> prompts = new ArrayList<>();
                for (int s = 0; s < 3; s++) prompts.add(r.ints(5 + 7 * s, 3, c.vocabSize()).toArray());
                TokenBatch batch = TokenBatch.pack(prompts);
                Ablation ablated = Ablation.of(List.of(new HeadId(0, 0), new HeadId(c.numLayers() - 1, c.numHeads() - 1)), new Ablation.Spec(AblationMode.UNDIFF_Q, 1e-5f));
                for (Ablation a : List.of(Ablation.none(), ablated)) {
                    for (float[] row : m.forward(Forward.of(batch, a).returning(Forward.Outputs.ALL_LOGITS)).allLogits()) {
                        for (float v : row) hash = 31 * hash + Float.floatToIntBits(v);
                    }
                }
            }
        }
        System.out.println(FloatVector.SPECIES_PREFERRED.length() + " " + Long.toHexString(hash));
    }

    @Test
    void sameBitsOnEveryVectorWidth() throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Map<Integer, String> hashByLanes = new TreeMap<>();
        for (int bytes : new int[] {64, 32, 16}) {
            Process p = new ProcessBuilder(java, "-XX:MaxVectorSize=" + bytes, "--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                    "-Dsahara.repo=" + TestModels.repo(), "-cp", System.getProperty("java.class.path"), VectorWidthTest.class.getName())
                    .redirectErrorStream(false).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.waitFor(), "child JVM with MaxVectorSize=" + bytes + " failed: " + err);
            String[] last = out.lines().reduce((x, y) -> y).orElse("").split(" ");
            hashByLanes.put(Integer.parseInt(last[0]), last[1]);
        }
        assertTrue(hashByLanes.size() >= 2, "the JVM ran only one vector width: " + hashByLanes);
        assertEquals(1, hashByLanes.values().stream().distinct().count(), "forward bits differ by vector width (lanes → hash): " + hashByLanes);
    }
}
