package dev.sahara;

import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code tools/sahara} run from a user's own folder: relative --model and --out are that folder's, not the repository's. */
class ToolsSaharaTest {
    @TempDir
    Path tmp;

    @Test
    void relativePathsResolveAgainstTheCallersFolder() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("my work"));
        Files.createSymbolicLink(work.resolve("model"), TestModels.stories260K().toAbsolutePath());
        ProcessBuilder pb = new ProcessBuilder("bash", TestModels.repo().resolve("tools/sahara").toAbsolutePath().toString(),
                "ships", "--model", "model", "--prompt", "Once upon a time", "--out", "results")
                .directory(work.toFile()).redirectErrorStream(true);
        pb.environment().put("SAHARA_JAR", LauncherTest.launcherJar(tmp).toString());   // this build's classes, no mvn inside the test
        pb.environment().put("SAHARA_JAVA_HOME", System.getProperty("java.home"));
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), output);
        assertTrue(Files.isRegularFile(work.resolve("results/ships.json")), "--out results is in the caller's folder:\n" + output);
        assertTrue(output.contains("results: " + work.toRealPath().resolve("results")) || output.contains("results: " + work.resolve("results")), output);
    }
}
