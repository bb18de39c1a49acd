package dev.sahara.backend.cuda;

import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs without a GPU: the kernel families the host loads are exactly kernels/*.cu, each has its PTX in the jar's
 * resources (compute_80, committed), and the PTX exports exactly the entry points {@link KernelNames} launches.
 */
class KernelSourcesTest {
    static final Pattern ENTRY = Pattern.compile("\\.visible \\.entry (\\w+)\\(");

    @Test
    void familiesAreTheKernelSources() throws IOException {
        List<String> sources = new ArrayList<>();
        try (Stream<Path> files = Files.list(TestModels.repo().resolve("kernels"))) {
            files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cu")).forEach(n -> sources.add(n.substring(0, n.length() - 3)));
        }
        assertEquals(new TreeSet<>(sources), new TreeSet<>(CudaDevice.FAMILIES), "kernels/*.cu vs CudaDevice.FAMILIES");
    }

    @Test
    void committedPtxExportsEveryLaunchedKernel() {
        for (String family : CudaDevice.FAMILIES) {
            byte[] ptx = CudaDevice.resource("/kernels/" + family + ".ptx");
            assertNotNull(ptx, "engine.jar resource kernels/" + family + ".ptx (run tools/build-kernels.sh where nvcc exists)");
            String text = new String(ptx, StandardCharsets.US_ASCII);
            assertTrue(text.contains(".target sm_80"), family + ".ptx targets compute_80");
            TreeSet<String> entries = new TreeSet<>();
            Matcher m = ENTRY.matcher(text);
            while (m.find()) entries.add(m.group(1));
            assertEquals(new TreeSet<>(KernelNames.of(family)), entries, family + ".ptx entry points");
        }
    }

    @Test
    void attentionTileMatchesTheKernel() throws IOException {
        String cu = Files.readString(TestModels.repo().resolve("kernels/attention.cu"));
        assertTrue(cu.contains("#define TILE " + CudaBackend.ATTENTION_TILE + "\n"), "TILE in attention.cu equals CudaBackend.ATTENTION_TILE");
        assertTrue(cu.contains("#define MAX_PER_THREAD " + CudaBackend.ATTENTION_MAX_PER_THREAD + "\n"), "MAX_PER_THREAD in attention.cu");
    }
}
