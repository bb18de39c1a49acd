package dev.sahara.bench;

import dev.sahara.ablate.Ablation;
import dev.sahara.llama.Forward;
import dev.sahara.llama.TokenBatch;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * A packed prefill of 4 prompts (64 tokens each on the synthetic model; 32 on the test models, whose
 * max_position_embeddings can be 64), last-position logits out, unablated. Tokens/s = 4·len / time.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx3g"})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@State(Scope.Benchmark)
public class PrefillBench {
    public static final int PROMPTS = 4;

    @Param({BenchModels.SYNTHETIC, "stories260K", "tiny/llama-gqa-bf16", "tiny/llama-mha-f32-tied", "tiny/llama3-rope-f16",
            "tiny/mistral-sharded-f32", "tiny/qwen2-bias-bf16"})
    public String model;

    BenchModels.Opened opened;
    TokenBatch batch;

    public static int promptLength(String model) { return model.equals(BenchModels.SYNTHETIC) ? 64 : 32; }

    @Setup(Level.Trial)
    public void setup() {
        opened = BenchModels.open(model, BenchModels.threads());
        batch = TokenBatch.pack(BenchModels.prompts(PROMPTS, promptLength(model), opened.model().config().vocabSize(), 11));
    }

    @TearDown(Level.Trial)
    public void tearDown() { opened.close(); }

    @Benchmark
    public float[][] prefill() {
        return opened.model().forward(Forward.of(batch, Ablation.none())).lastLogits();
    }
}
