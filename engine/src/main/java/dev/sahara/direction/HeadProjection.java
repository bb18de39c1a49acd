package dev.sahara.direction;

import dev.sahara.ablate.Ablation;
import dev.sahara.backend.Backend;
import dev.sahara.backend.Tensor;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.TokenBatch;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.ModelConfig;
import dev.sahara.model.TensorData;

import java.util.List;

/**
 * Heads through the refusal direction, with forward passes only. A head's output at a position is its slice of
 * o_proj applied to its attention output z_h (softmax·V): W_o[:, h·hd:(h+1)·hd] · z_h, the o_proj bias (shared by all
 * heads) left out. Its projection on the unit direction u is z_h · (W_o,hᵀ u).
 *
 * <p>z comes from the captured q, k, v of an unablated forward, through the backend's own attention op at each
 * prompt's last row — the op and the rows the forward's last layer runs — so no capture is added to the forward.
 */
public final class HeadProjection {
    /** Prompts per forward: q, k and v of every layer are kept, about 3× the residuals. */
    static final int CHUNK = 4;

    private HeadProjection() {}

    /**
     * [layer][head]: each head's output at the last prompt position projected on {@code unit}, averaged over the
     * prompts. {@code attention}: the checkpoint the model's o_proj comes from (the attention donor under --attention-from).
     */
    public static double[][] perHead(LlamaModel m, Checkpoint attention, List<int[]> prompts, float[] unit) {
        ModelConfig c = m.config();
        Backend b = m.backend();
        int layers = c.numLayers(), heads = c.numHeads(), hd = c.headDim();
        double[][] sum = new double[layers][heads];
        double[][][] readers = new double[layers][][];
        for (int l = 0; l < layers; l++) readers[l] = outputReaders(attention.tensor("model.layers." + l + ".self_attn.o_proj.weight", c.hiddenSize(), c.qDim()), unit, heads, hd);
        for (TokenBatch batch : TokenBatch.packInBatches(prompts, CHUNK)) {
            LlamaModel.Residuals r = m.captureResiduals(batch, Ablation.none(), true);
            int[] lastRows = batch.layout().lastRows();
            Tensor q = b.allocate(lastRows.length, c.qDim()), z = b.allocate(lastRows.length, c.qDim());
            for (int l = 0; l < layers; l++) {
                Tensor[] qkv = r.qkv()[l];
                b.gatherRows(q, qkv[0], lastRows);
                b.attention(z, q, qkv[1], qkv[2], batch.layout().lastRowsOnly(), heads, c.numKvHeads(), hd);
                float[] zs = b.download(z);
                for (int s = 0; s < lastRows.length; s++)
                    for (int h = 0; h < heads; h++) {
                        double dot = 0;
                        for (int e = 0; e < hd; e++) dot += zs[s * c.qDim() + h * hd + e] * readers[l][h][e];
                        sum[l][h] += dot;
                    }
            }
        }
        for (double[] layer : sum) for (int h = 0; h < heads; h++) layer[h] /= prompts.size();
        return sum;
    }

    /** W_o,hᵀ u for every head h: [head][hd]; o_proj.weight is (hidden, n_heads·hd), row-major. */
    static double[][] outputReaders(TensorData wo, float[] unit, int heads, int hd) {
        int cols = heads * hd;
        double[][] r = new double[heads][hd];
        for (int i = 0; i < unit.length; i++) {
            if (unit[i] == 0) continue;
            for (int col = 0; col < cols; col++) r[col / hd][col % hd] += (double) wo.get((long) i * cols + col) * unit[i];
        }
        return r;
    }

    /**
     * The residual entering each of {@code layers} at each prompt's last position projected on {@code unit}, averaged
     * over the prompts, under {@code a}: one capture per batch serves every layer asked for.
     */
    public static double[] residualProjections(LlamaModel m, List<int[]> prompts, Ablation a, float[] unit, List<Integer> layers) {
        int dim = m.config().hiddenSize();
        double[] sum = new double[layers.size()];
        for (TokenBatch batch : TokenBatch.packInBatches(prompts, DirectionSearch.CHUNK)) {
            LlamaModel.Residuals r = m.captureResiduals(batch, a, false);
            for (int k = 0; k < layers.size(); k++) {
                float[] x = m.backend().download(r.residIn()[layers.get(k)]);
                for (int last : batch.layout().lastRows()) for (int i = 0; i < dim; i++) sum[k] += (double) x[last * dim + i] * unit[i];
            }
        }
        for (int k = 0; k < sum.length; k++) sum[k] /= prompts.size();
        return sum;
    }
}
