package dev.sahara.bench;

import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.AblationMode;
import dev.sahara.ablate.HeadId;
import dev.sahara.backend.AttentionLayout;
import dev.sahara.llama.Forward;
import dev.sahara.llama.KvCache;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.LogitsReader;
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
 * Decoding one sequence with the KV cache on the synthetic 110M model (bf16, 221 MB of weights: ~7× the 32 MiB
 * L3), with three heads ablated (undiff-q, ε = 1e-10, the evaluation setting) or none. One op = one step: one
 * token through every layer and the LM head, attending to 32..287 cached positions (the position cycles so the
 * cache never overflows), then the top-1 of the logits as greedy generation takes it. Tokens/s = 1 / time.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx3g"})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@State(Scope.Benchmark)
public class DecodeBench {
    static final int PROMPT = 32, MAX_NEW = 256;

    @Param({"L2H5+L6H1+L9H11", "none"})
    public String ablated;

    BenchModels.Opened opened;
    KvCache cache;
    Ablation ablation;
    int position, token = 7;

    @Setup(Level.Trial)
    public void setup() {
        opened = BenchModels.open(BenchModels.SYNTHETIC, BenchModels.threads());
        LlamaModel m = opened.model();
        ablation = ablated.equals("none") ? Ablation.none() : Ablation.of(HeadId.parseList(ablated.replace('+', ',')), new Ablation.Spec(AblationMode.UNDIFF_Q, 1e-10f));
        cache = KvCache.perLayer(m.backend(), m.config().numLayers(), PROMPT + MAX_NEW, m.config().kvDim());
        TokenBatch prompt = TokenBatch.pack(BenchModels.prompts(1, PROMPT, m.config().vocabSize(), 5));
        m.forward(Forward.of(prompt, ablation).into(cache));
        position = PROMPT;
    }

    @TearDown(Level.Trial)
    public void tearDown() { opened.close(); }

    /** The step's top-1 id and logit, as greedy generation (Generator) asks for them. */
    final int[] topId = new int[1];
    final float[] topLogit = new float[1];
    final LogitsReader top1 = LogitsReader.topK(1, topId, topLogit);

    @Benchmark
    public int decodeStep() {
        if (position == PROMPT + MAX_NEW) position = PROMPT;
        TokenBatch one = new TokenBatch(new int[] {token}, new AttentionLayout(new int[] {0}, new int[] {1}, new int[] {position}, new int[] {0}));
        opened.model().forward(Forward.of(one, ablation).into(cache).reading(top1));
        position++;
        token = 3 + (token * 31 + 17) % 1000;
        return topId[0];
    }
}
