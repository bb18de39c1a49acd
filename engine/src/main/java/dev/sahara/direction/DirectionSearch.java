package dev.sahara.direction;

import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.ResidualDirection;
import dev.sahara.attribution.Progress;
import dev.sahara.backend.Divergence;
import dev.sahara.llama.Forward;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.TokenBatch;

import java.util.ArrayList;
import java.util.List;

/**
 * The refusal direction's search (Arditi et al., NeurIPS 2024, §2.3 and App. C): candidates r[l][p] = mean harmful −
 * mean harmless residual at the input of layer l, post-instruction position p, over the train prompts; each scored on
 * the validation prompts ({@link DirectionCandidate}). Forwards run {@link #CHUNK} prompts at a time.
 */
public final class DirectionSearch {
    /** Prompts per forward: bounds the captured residuals (layers × tokens × hidden floats) and the logits kept. */
    static final int CHUNK = 16;

    private DirectionSearch() {}

    /** The four prompt lists of a search, each already in the chosen prompt format. */
    public record Prompts(List<int[]> harmfulTrain, List<int[]> harmlessTrain, List<int[]> harmfulVal, List<int[]> harmlessVal) {}

    /** The scores without any edit, what the candidates' scores are read against. */
    public record Baseline(double harmfulRefusal, double harmlessRefusal) {}

    /**
     * mean(harmful) − mean(harmless) of the residual entering every layer, at the last {@code positions} tokens:
     * [layer][j][hidden], j = 0 the earliest (position −positions), j = positions − 1 the last (position −1).
     */
    public static float[][][] meanDifferences(LlamaModel m, List<int[]> harmful, List<int[]> harmless, int positions) {
        double[][][] a = meanResiduals(m, harmful, positions), b = meanResiduals(m, harmless, positions);
        float[][][] d = new float[a.length][positions][a[0][0].length];
        for (int l = 0; l < a.length; l++)
            for (int j = 0; j < positions; j++)
                for (int i = 0; i < d[l][j].length; i++) d[l][j][i] = (float) (a[l][j][i] - b[l][j][i]);
        return d;
    }

    /** The mean residual (summed in double) entering every layer at the last {@code positions} tokens of each prompt. */
    static double[][][] meanResiduals(LlamaModel m, List<int[]> prompts, int positions) {
        int layers = m.config().numLayers(), dim = m.config().hiddenSize();
        double[][][] sum = new double[layers][positions][dim];
        for (TokenBatch batch : TokenBatch.packInBatches(prompts, CHUNK)) {
            LlamaModel.Residuals r = m.captureResiduals(batch, Ablation.none(), false);
            int[] lastRows = batch.layout().lastRows();
            for (int l = 0; l < layers; l++) {
                float[] x = m.backend().download(r.residIn()[l]);
                for (int last : lastRows)
                    for (int j = 0; j < positions; j++) {
                        int row = last - (positions - 1 - j);
                        for (int i = 0; i < dim; i++) sum[l][j][i] += x[row * dim + i];
                    }
            }
        }
        for (double[][] layer : sum) for (double[] v : layer) for (int i = 0; i < dim; i++) v[i] /= prompts.size();
        return sum;
    }

    /** Each prompt's logits at its last position under {@code a}. */
    public static List<float[]> lastLogits(LlamaModel m, List<int[]> prompts, Ablation a) {
        List<float[]> out = new ArrayList<>(prompts.size());
        for (TokenBatch batch : TokenBatch.packInBatches(prompts, CHUNK)) out.addAll(List.of(m.forward(Forward.of(batch, a)).lastLogits()));
        return out;
    }

    /** The mean refusal score of these distributions. */
    public static double meanRefusal(List<float[]> logits, RefusalTokens t) {
        return logits.stream().mapToDouble(t::score).average().orElseThrow();
    }

    /** Every candidate's scores (layer-major, earliest position first) and the unedited model's, from the same forwards. */
    public record Scores(Baseline baseline, List<DirectionCandidate> candidates) {}

    public static Scores score(LlamaModel m, float[][][] diffs, Prompts p, RefusalTokens t, Progress progress) {
        List<float[]> harmlessBase = lastLogits(m, p.harmlessVal(), Ablation.none());
        Baseline baseline = new Baseline(meanRefusal(lastLogits(m, p.harmfulVal(), Ablation.none()), t), meanRefusal(harmlessBase, t));
        int positions = diffs[0].length, total = diffs.length * positions, done = 0;
        List<DirectionCandidate> out = new ArrayList<>(total);
        for (int l = 0; l < diffs.length; l++) {
            for (int j = 0; j < positions; j++) {
                out.add(scoreOne(m, l, j - positions, diffs[l][j], harmlessBase, p, t));
                progress.update(++done, total, "candidates scored");
            }
        }
        return new Scores(baseline, out);
    }

    static DirectionCandidate scoreOne(LlamaModel m, int layer, int position, float[] vector, List<float[]> harmlessBase, Prompts p, RefusalTokens t) {
        if (isZero(vector)) return new DirectionCandidate(layer, position, vector, Double.NaN, Double.NaN, Double.NaN);
        ResidualDirection r = new ResidualDirection(layer, position, vector, "candidate L" + layer + " position " + position);
        Ablation ablated = Ablation.none().withDirectionAblated(r), added = Ablation.none().withDirectionAdded(r, 1f);
        double bypass = meanRefusal(lastLogits(m, p.harmfulVal(), ablated), t);
        double induce = meanRefusal(lastLogits(m, p.harmlessVal(), added), t);
        List<float[]> harmlessAblated = lastLogits(m, p.harmlessVal(), ablated);
        double kl = 0;
        for (int i = 0; i < harmlessBase.size(); i++) kl += Divergence.kl(harmlessBase.get(i), harmlessAblated.get(i));
        return new DirectionCandidate(layer, position, vector, bypass, induce, kl / harmlessBase.size());
    }

    private static boolean isZero(float[] v) {
        for (float f : v) if (f != 0) return false;
        return true;
    }
}
