package dev.sahara.cli;

import dev.sahara.SaharaException;
import dev.sahara.llama.Sampler;
import picocli.CommandLine.Option;

/** --decoding greedy|top-k, --top-k, --temperature, --seed. */
public final class SamplingOptions {
    @Option(names = "--decoding", paramLabel = "KIND", description = "greedy | top-k. Default: greedy, or top-k when --top-k is given.")
    String decoding;

    @Option(names = "--top-k", paramLabel = "K", description = "Sample among the K most likely tokens (paper: 5).")
    Integer topK;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "1.0", description = "Sampling temperature. Default: ${DEFAULT-VALUE}.")
    float temperature;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Sampling seed. Default: ${DEFAULT-VALUE}.")
    long seed;

    public Sampler sampler() {
        String kind = decoding != null ? decoding : topK != null ? "top-k" : "greedy";
        return switch (kind) {
            case "greedy" -> {
                if (topK != null) throw new SaharaException("--top-k needs --decoding top-k");
                yield Sampler.GREEDY;
            }
            case "top-k" -> new Sampler(topK == null ? 5 : topK, temperature, seed);
            default -> throw new SaharaException("--decoding must be greedy or top-k, got " + kind);
        };
    }
}
