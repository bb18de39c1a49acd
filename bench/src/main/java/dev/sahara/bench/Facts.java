package dev.sahara.bench;

import dev.sahara.ablate.Ablation;
import dev.sahara.attribution.CandidateRunner;
import dev.sahara.attribution.PrincipalAngles;
import dev.sahara.llama.Forward;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.TokenBatch;
import dev.sahara.model.LlamaTensor;
import dev.sahara.model.ModelConfig;
import dev.sahara.model.TensorData;

import java.util.Locale;

/**
 * Facts the report needs besides timings, printed as one JSON object: the synthetic model's size and the weight
 * bytes one decoded token reads, and the Sahara scores of SaharaBench's 12 candidates computed with and without
 * prefix reuse (they must be identical, bit for bit).
 */
public final class Facts {
    private Facts() {}

    public static void main(String[] args) {
        try (BenchModels.Opened o = BenchModels.open(BenchModels.SYNTHETIC, BenchModels.threads())) {
            LlamaModel m = o.model();
            ModelConfig c = m.config();
            long params = 0, fileBytes = 0, tokenBytes = 0;
            for (TensorData t : m.checkpoint().tensors().values()) {
                long bytes = t.elementCount() * t.dtype().bytes;
                params += t.elementCount();
                fileBytes += bytes;
                // a decoded token reads every weight once, except the embedding table: one row of it (but all of it
                // again as the LM head when the embeddings are tied)
                if (t.name().equals(LlamaTensor.EMBED_TOKENS.name(0))) tokenBytes += (long) c.hiddenSize() * t.dtype().bytes + (c.tieWordEmbeddings() ? bytes : 0);
                else tokenBytes += bytes;
            }
            TokenBatch batch = TokenBatch.pack(BenchModels.prompts(SaharaBench.PROMPTS, SaharaBench.LENGTH, c.vocabSize(), 3));
            CandidateRunner reuse = new CandidateRunner(m, batch, true), full = new CandidateRunner(m, batch, false);
            SaharaBench probe = new SaharaBench();
            probe.opened = o;
            probe.baseVectors = PrincipalAngles.leadingLeftSingularVectors(full.run(Ablation.none(), Forward.Outputs.FINAL_NORM_LAST).finalNormLast(), 1);
            StringBuilder a = new StringBuilder(), b = new StringBuilder();
            boolean identical = true;
            for (int l = 0; l < c.numLayers(); l++) {
                double x = probe.score(full, l), y = probe.score(reuse, l);
                identical &= Double.doubleToRawLongBits(x) == Double.doubleToRawLongBits(y);
                a.append(l == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.17g", x));
                b.append(l == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.17g", y));
            }
            System.out.printf(Locale.ROOT, "{\"lanes\":%d,\"model\":\"%s\",\"parameters\":%d,\"file_bytes\":%d,\"decode_weight_bytes_per_token\":%d,"
                            + "\"layers\":%d,\"heads\":%d,\"dim\":%d,\"hidden\":%d,\"vocab\":%d,\"dtype\":\"%s\","
                            + "\"scores_full\":[%s],\"scores_reuse\":[%s],\"scores_identical\":%b}%n",
                    jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length(), BenchModels.SYNTHETIC, params, fileBytes, tokenBytes, c.numLayers(), c.numHeads(), c.hiddenSize(), c.intermediateSize(),
                    c.vocabSize(), SyntheticLlama.LLAMA_110M.dtype(), a, b, identical);
        }
    }
}
