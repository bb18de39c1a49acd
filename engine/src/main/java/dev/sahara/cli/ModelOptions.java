package dev.sahara.cli;

import dev.sahara.SaharaException;
import dev.sahara.backend.Backend;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.llama.LlamaModel;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.Tokenizer;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** --model, --backend, --threads: which checkpoint, where it runs. */
public final class ModelOptions {
    @Option(names = "--model", paramLabel = "DIR",
            description = "Hugging Face model folder (config.json + safetensors + tokenizer.json), or builtin:planted / builtin:stories260K. Default: ${DEFAULT-VALUE}.",
            defaultValue = "builtin:planted")
    public String model;

    @Option(names = "--backend", paramLabel = "NAME", description = "cpu (a CUDA backend is planned; see the README). Default: ${DEFAULT-VALUE}.", defaultValue = "cpu")
    public String backend;

    @Option(names = "--threads", paramLabel = "N", description = "CPU threads (default: all cores). Results do not depend on it.")
    public Integer threads;

    @Option(names = "--attention-from", paramLabel = "DIR",
            description = "Weight transplant: take every layer's attention projections (q/k/v/o_proj) from this checkpoint (same shapes), everything else from --model.")
    public String attentionFrom;


    private Path resolved;

    /** The model folder (a builtin model is unpacked once per run). */
    public Path modelDir() {
        if (resolved == null) resolved = BuiltinModels.resolve(model);
        return resolved;
    }

    public int threadCount() {
        int n = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        if (n < 1) throw new SaharaException("--threads must be >= 1, got " + n);
        return n;
    }

    public LlamaModel load() {
        Backend b = switch (backend) {
            case "cpu", "auto" -> new CpuBackend(threadCount());
            default -> throw new SaharaException("--backend " + backend + " is not available (this build has: cpu)");
        };
        Checkpoint ck = Checkpoint.open(modelDir());
        Checkpoint at = null;
        try {
            if (attentionFrom != null) at = Checkpoint.open(BuiltinModels.resolve(attentionFrom));
            return new LlamaModel(ck, at, b);
        } catch (RuntimeException e) {
            ck.close();
            if (at != null) at.close();
            b.close();
            throw e;
        }
    }

    public Tokenizer tokenizer() { return Tokenizer.load(modelDir()); }
}
