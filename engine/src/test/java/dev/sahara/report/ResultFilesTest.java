package dev.sahara.report;

import dev.sahara.SaharaException;
import dev.sahara.ablate.HeadId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every result file, PNGs included, is written to a temporary file and renamed: a write that fails (here: a full
 * disk, {@code /dev/full} standing in for it behind the temporary name) leaves the earlier file whole, no temporary
 * file, and one message with the file system's own words.
 */
class ResultFilesTest {
    static final Path FULL_DISK = Path.of("/dev/full");   // every write to it fails with ENOSPC

    @TempDir
    Path dir;

    /** Makes the next write of {@code file} hit a full disk: its temporary name points at /dev/full. */
    private static void diskFullFor(Path file) throws IOException {
        assumeTrue(Files.exists(FULL_DISK), "needs Linux's /dev/full");
        Files.createSymbolicLink(file.resolveSibling(file.getFileName() + ".tmp"), FULL_DISK);
    }

    private static void assertFailsWithCauseAndKeeps(Path file, byte[] earlier, Runnable write) throws IOException {
        SaharaException e = assertThrows(SaharaException.class, write::run);
        assertTrue(e.getMessage().startsWith(file + ": cannot write: "), e.getMessage());
        assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
        assertFalse(e.getMessage().contains("Exception"), "no Java class names: " + e.getMessage());
        assertArrayEquals(earlier, Files.readAllBytes(file), "the earlier file is untouched");
        assertFalse(Files.exists(file.resolveSibling(file.getFileName() + ".tmp"), java.nio.file.LinkOption.NOFOLLOW_LINKS), "no temporary file left");
    }

    @Test
    void heatmapOnAFullDiskKeepsTheEarlierFileAndSaysWhy() throws IOException {
        Path png = dir.resolve("heatmap_step1.png");
        double[][] scores = {{1, 2}, {3, 4}};
        Heatmap.write(png, "earlier run", scores, Set.of());
        byte[] earlier = Files.readAllBytes(png);
        diskFullFor(png);
        assertFailsWithCauseAndKeeps(png, earlier, () -> Heatmap.write(png, "this run", scores, Set.of(new HeadId(0, 1))));
    }

    @Test
    void scatterOnAFullDiskKeepsTheEarlierFileAndSaysWhy() throws IOException {
        Path png = dir.resolve("scatter.png");
        double[][] a = {{1, 2}, {3, 4}}, b = {{4, 3}, {2, 1}};
        ScatterPlot.write(png, "earlier", "x", "y", a, b, Set.of());
        byte[] earlier = Files.readAllBytes(png);
        diskFullFor(png);
        assertFailsWithCauseAndKeeps(png, earlier, () -> ScatterPlot.write(png, "this run", "x", "y", b, a, Set.of()));
    }

    @Test
    void textOnAFullDiskKeepsTheEarlierFileAndSaysWhy() throws IOException {
        Path json = dir.resolve("sweep.json");
        ResultFiles.writeString(json, "{\"earlier\": true}\n");
        diskFullFor(json);
        assertFailsWithCauseAndKeeps(json, "{\"earlier\": true}\n".getBytes(), () -> ResultFiles.writeString(json, "{}\n"));
    }

    @Test
    void aPngReplacesTheEarlierOneByRename() throws IOException {
        Path png = dir.resolve("heatmap.png");
        Heatmap.write(png, "one", new double[][] {{1}}, Set.of());
        Object inode = Files.getAttribute(png, "unix:ino");
        Heatmap.write(png, "two", new double[][] {{2}}, Set.of());
        assertFalse(inode.equals(Files.getAttribute(png, "unix:ino")), "a new file renamed over the old one, not the old one rewritten in place");
        assertTrue(Files.size(png) > 0);
    }
}
