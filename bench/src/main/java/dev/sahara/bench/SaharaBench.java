package dev.sahara.bench;

import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.AblationMode;
import dev.sahara.ablate.HeadId;
import dev.sahara.attribution.CandidateRunner;
import dev.sahara.attribution.PrincipalAngles;
import dev.sahara.llama.Forward;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.TokenBatch;
import org.ejml.data.DMatrixRMaj;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The Sahara inner loop on the synthetic 110M model (12 layers × 12 heads): one candidate evaluation = the
 * dataset's forward with the candidate head ablated (undiff-q, ε = 1e-5) + the principal angle against the
 * unablated baseline. The dataset is 8 prompts × 16 tokens. A candidate's cost with prefix reuse depends only on
 * its layer, so one measured batch is {@link #LAYERS} calls, one candidate in each layer (head = layer mod 12):
 * time / 12 is the mean cost of a candidate over a full Sahara sweep. {@code capture} is the one-off forward
 * that caches every layer's input for a base group (once per Sahara step, i.e. once per 144 candidates); one op
 * is one capture. Three warm-up iterations: with one, the prefix-reuse path was measured before C2 had compiled it.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx3g"})
@Warmup(iterations = 3, batchSize = SaharaBench.LAYERS)
@Measurement(iterations = 5, batchSize = SaharaBench.LAYERS)
@State(Scope.Benchmark)
public class SaharaBench {
    public static final int LAYERS = 12, PROMPTS = 8, LENGTH = 16;
    /** How each candidate is ablated: undiff-q at the attribution ε. */
    static final Ablation.Spec CANDIDATE = new Ablation.Spec(AblationMode.UNDIFF_Q, 1e-5f);

    BenchModels.Opened opened;
    CandidateRunner reuse, full;
    DMatrixRMaj baseVectors;
    TokenBatch batch;
    int next;

    @Setup(Level.Trial)
    public void setup() {
        opened = BenchModels.open(BenchModels.SYNTHETIC, BenchModels.threads());
        LlamaModel m = opened.model();
        if (m.config().numLayers() != LAYERS) throw new IllegalStateException("expected " + LAYERS + " layers");
        batch = TokenBatch.pack(BenchModels.prompts(PROMPTS, LENGTH, m.config().vocabSize(), 3));
        reuse = new CandidateRunner(m, batch, true);
        full = new CandidateRunner(m, batch, false);
        baseVectors = PrincipalAngles.leadingLeftSingularVectors(full.run(Ablation.none(), Forward.Outputs.FINAL_NORM_LAST).finalNormLast(), 1);
        score(reuse, 0);   // captures the residuals of the base group (∅) once, as the first candidate of a step does
    }

    @Setup(Level.Iteration)
    public void startSweep() { next = 0; }

    @TearDown(Level.Trial)
    public void tearDown() { opened.close(); }

    /** The score of the candidate in {@code layer} (head = layer mod heads), base group ∅. */
    double score(CandidateRunner runner, int layer) {
        HeadId head = new HeadId(layer, layer % opened.model().config().numHeads());
        float[][] states = runner.runCandidate(Ablation.none(), head, CANDIDATE, Forward.Outputs.FINAL_NORM_LAST).finalNormLast();
        return PrincipalAngles.angleDegrees(baseVectors, PrincipalAngles.leadingLeftSingularVectors(states, 1));
    }

    @Benchmark
    public double candidateFullRecompute() { return score(full, next++ % LAYERS); }

    @Benchmark
    public double candidatePrefixReuse() { return score(reuse, next++ % LAYERS); }

    /** One capture per op (it happens once per Sahara step, not once per candidate). */
    @Benchmark
    @Warmup(iterations = 3, batchSize = 1)
    @Measurement(iterations = 5, batchSize = 1)
    public LlamaModel.Residuals capture() { return opened.model().captureResiduals(batch, Ablation.none(), true); }
}
