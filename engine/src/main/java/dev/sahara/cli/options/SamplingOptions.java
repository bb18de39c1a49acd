package dev.sahara.cli.options;

import dev.sahara.SaharaException;
import dev.sahara.llama.Sampler;
import picocli.CommandLine.Option;

import java.util.List;

/** --decoding greedy|top-k, --top-k, --temperature, --seed. */
public final class SamplingOptions {
    @Option(names = "--decoding", paramLabel = "KIND", description = "greedy | top-k (| both, on ships-asr and course-correction). Default: greedy, "
            + "or top-k when --top-k is given; ships-asr and course-correction run both (greedy and top-5) unless told.")
    String decoding;

    @Option(names = "--top-k", paramLabel = "K", description = "Sample among the K most likely tokens (paper: 5).")
    Integer topK;

    @Option(names = "--temperature", paramLabel = "T", description = "Sampling temperature of top-k decoding. Default: 1.0.")
    Float temperatureOption;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Sampling seed. Default: ${DEFAULT-VALUE}.")
    long seed;

    /** --temperature, 1.0 when not given. */
    float temperature() { return temperatureOption == null ? 1.0f : temperatureOption; }

    /** Refuses settings that would be silently ignored: a temperature or a top-k of 0 with greedy decoding. */
    void check(boolean greedyOnly) {
        if (topK != null && topK < 1) throw new SaharaException("--top-k must be >= 1, got " + topK + " (greedy decoding is --decoding greedy)");
        if (temperatureOption != null && !(temperatureOption > 0) || temperatureOption != null && temperatureOption.isInfinite()) {
            throw new SaharaException("--temperature must be a finite number > 0, got " + temperatureOption);
        }
        if (greedyOnly && temperatureOption != null) {
            throw new SaharaException("--temperature needs top-k decoding (--top-k K or --decoding top-k): greedy decoding has no temperature");
        }
    }

    /**
     * The decodings to run: {@code --decoding greedy} or {@code top-k} gives one; no --decoding (and no --top-k),
     * or {@code --decoding both}, gives greedy and top-k (k = --top-k or 5, --temperature, --seed), as the paper reports both.
     */
    public List<Sampler> samplers() {
        boolean both = (decoding == null && topK == null) || "both".equals(decoding);
        if (!both) return List.of(sampler());
        check(false);
        return List.of(Sampler.GREEDY, new Sampler(topK == null ? 5 : topK, temperature(), seed));
    }

    public Sampler sampler() {
        String kind = decoding != null ? decoding : topK != null ? "top-k" : "greedy";
        check(kind.equals("greedy"));
        return switch (kind) {
            case "greedy" -> {
                if (topK != null) throw new SaharaException("--top-k needs --decoding top-k");
                yield Sampler.GREEDY;
            }
            case "top-k" -> new Sampler(topK == null ? 5 : topK, temperature(), seed);
            default -> throw new SaharaException("--decoding must be greedy or top-k, got " + kind);
        };
    }
}
