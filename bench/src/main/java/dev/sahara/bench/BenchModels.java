package dev.sahara.bench;

import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.llama.LlamaModel;
import dev.sahara.model.Checkpoint;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Opens the benchmark models: the synthetic ~110M Llama (written at setup) or a checked-in test model. */
final class BenchModels {
    static final String SYNTHETIC = "synthetic-110M";
    static final long SEED = 20250101L;

    private BenchModels() {}

    /** A model and the temp folder to delete afterwards (null for checked-in models). */
    record Opened(LlamaModel model, Path tempDir) implements AutoCloseable {
        @Override
        public void close() {
            model.close();
            SyntheticLlama.delete(tempDir);
        }
    }

    static Opened open(String name, int threads) {
        Path dir, temp = null;
        if (name.equals(SYNTHETIC)) {
            dir = temp = SyntheticLlama.LLAMA_110M.write(SEED);
        } else {
            dir = repo().resolve("test-models").resolve(name);
            if (!Files.isDirectory(dir)) throw new IllegalStateException("no test model at " + dir + " (run from the repository root or set -Dsahara.repo)");
        }
        return new Opened(new LlamaModel(Checkpoint.open(dir), new CpuBackend(threads)), temp);
    }

    static Path repo() { return Path.of(System.getProperty("sahara.repo", ".")).toAbsolutePath().normalize(); }

    /** n prompts of len tokens each: BOS then seeded random ids (≥ 3, so no special tokens). */
    static List<int[]> prompts(int n, int len, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<int[]> out = new ArrayList<>();
        for (int s = 0; s < n; s++) {
            int[] p = new int[len];
            p[0] = 1;
            for (int i = 1; i < len; i++) p[i] = 3 + r.nextInt(vocab - 3);
            out.add(p);
        }
        return out;
    }

    /** Threads for the engine: -Dsahara.threads, default 2 (the report's machine). */
    static int threads() { return Integer.getInteger("sahara.threads", 2); }
}
