package dev.sahara.cli.options;

import dev.sahara.SaharaException;
import dev.sahara.backend.Backend;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.backend.cuda.CudaBackend;
import dev.sahara.backend.cuda.NativeLibraries;
import dev.sahara.llama.LlamaModel;
import dev.sahara.model.BuiltinModels;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.SyntheticModels;
import dev.sahara.model.Tokenizer;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;

/** --model, --backend, --threads: which checkpoint, where it runs. */
public final class ModelOptions {
    @Option(names = "--model", paramLabel = "DIR",
            description = "Hugging Face model folder (config.json + safetensors + tokenizer.json), builtin:planted / builtin:stories260K, "
                    + "or synthetic:llama-2-7b / synthetic:llama-3-8b / synthetic:tiny[:f32|f16|bf16] (random weights, no tokenizer). Default: ${DEFAULT-VALUE}.",
            defaultValue = "builtin:planted")
    public String model;

    @Option(names = "--backend", paramLabel = "NAME",
            description = "cpu, cuda (NVIDIA GPU through the CUDA driver; docs/CUDA.md) or auto (cuda when usable, else cpu with one line on stderr). Default: ${DEFAULT-VALUE}.",
            defaultValue = "cpu")
    public String backend;

    @Option(names = "--precision", paramLabel = "P",
            description = "f32 (float32 activations and FP32 GEMMs, the CPU backend's numbers) or bf16 (--backend cuda only: matmul inputs rounded to "
                    + "the weights' 16-bit type, tensor-core GEMMs; faster, not bit-comparable; docs/CUDA.md). Default: ${DEFAULT-VALUE}.",
            defaultValue = "f32")
    public String precision = "f32";

    @Option(names = "--threads", paramLabel = "N", description = "CPU threads (default: all cores). Results do not depend on it.")
    public Integer threads;

    @Option(names = "--attention-from", paramLabel = "DIR",
            description = "Weight transplant: take every layer's attention projections (q/k/v/o_proj) from this checkpoint (same shapes), everything else from --model.")
    public String attentionFrom;

    @Option(names = "--verbose",
            description = "Say on stderr which backend was opened and, for CUDA, the device, the kernels and every CUDA library file loaded (docs/CUDA.md).")
    public boolean verbose;

    private Path resolved;
    private boolean threadsNoted;

    /** The command this mixin is part of: for notes and progress on its stderr. */
    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    /** Where notes and progress go: the command's stderr (System.err when used outside a command line). */
    PrintWriter err() {
        return mixee != null && mixee.commandLine() != null ? mixee.commandLine().getErr() : new PrintWriter(System.err, true);
    }

    /** The model folder (a builtin model is unpacked once per run). */
    public Path modelDir() {
        if (model.startsWith(SyntheticModels.PREFIX)) throw new SaharaException("--model " + model + ": random weights without a tokenizer, for timing: "
                + "only inspect and logits --token-ids can use it; give a model folder");
        if (resolved == null) resolved = BuiltinModels.resolve(model);
        return resolved;
    }

    /** The checkpoint: a model folder, a builtin one, or a synthetic one built in memory. */
    public Checkpoint checkpoint() {
        return model.startsWith(SyntheticModels.PREFIX) ? SyntheticModels.open(model) : Checkpoint.open(modelDir());
    }

    /**
     * --threads, at most the cores available: more threads than cores only wait on each other (1000 on 2 cores ran 10×
     * slower), and results do not depend on the count. Capping says so once.
     */
    public int threadCount() {
        int cores = Runtime.getRuntime().availableProcessors();
        int n = threads == null ? cores : threads;
        if (n < 1) throw new SaharaException("--threads must be >= 1, got " + n);
        if (n > cores) {
            if (!threadsNoted) err().println("note: --threads " + n + " is more than the " + cores + " cores available: using " + cores);
            threadsNoted = true;
            return cores;
        }
        return n;
    }

    public LlamaModel load() {
        Backend b = backend();
        Checkpoint ck;
        try {
            ck = checkpoint();
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
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

    /** The backend --backend names; auto falls back to the CPU with one line on stderr saying why. --verbose says which opened. */
    public Backend backend() {
        Backend b = openBackend();
        if (verbose) {
            if (b instanceof CudaBackend cuda) {
                System.err.println("sahara: backend cuda: " + cuda.description());
                for (String f : NativeLibraries.loaded()) System.err.println("sahara: loaded " + f);
            } else {
                System.err.println("sahara: backend " + b.name() + " (" + threadCount() + " threads)");
            }
        }
        return b;
    }

    private Backend openBackend() {
        CudaBackend.Precision p = CudaBackend.Precision.parse(precision);
        boolean f32 = p == CudaBackend.Precision.F32;
        return switch (backend) {
            case "cpu" -> {
                if (!f32) throw new SaharaException("--precision " + precision + " is only implemented on the CUDA backend (--backend cuda); "
                        + "the CPU backend computes in float32 (--precision f32)");
                yield new CpuBackend(threadCount());
            }
            case "cuda" -> CudaBackend.open(p);
            case "auto" -> {
                try {
                    yield CudaBackend.open(p);
                } catch (SaharaException e) {
                    if (!f32) throw new SaharaException("--precision " + precision + " needs the CUDA backend, and --backend auto found none: " + e.getMessage());
                    System.err.println("sahara: --backend auto: using the CPU: " + e.getMessage());
                    yield new CpuBackend(threadCount());
                }
            }
            default -> throw new SaharaException("--backend must be auto, cpu or cuda, got '" + backend + "'");
        };
    }

    /** What --precision means, in words (for result files). */
    public String precisionDescription() { return CudaBackend.Precision.parse(precision).description; }

    public Tokenizer tokenizer() { return Tokenizer.load(modelDir()); }
}
