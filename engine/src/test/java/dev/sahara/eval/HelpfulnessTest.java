package dev.sahara.eval;

import dev.sahara.ablate.Ablation;
import dev.sahara.attribution.Progress;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.TokenBatch;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.Tokenizer;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** lm-eval's loglikelihood request on stories260K (a Llama SentencePiece tokenizer): tokenization and the score. */
class HelpfulnessTest {
    @Test
    void tokenizationAndScoreFollowLmEval() {
        try (Tokenizer tok = Tokenizer.load(TestModels.stories260K());
             LlamaModel m = new LlamaModel(Checkpoint.open(TestModels.stories260K()), new CpuBackend(2))) {
            String ctx = "Once upon a time, there was a little", cont = " girl named Lily";
            Helpfulness.Request r = Helpfulness.encode(tok, ctx, cont, false);
            int[] whole = tok.encode(ctx + cont, false), c = tok.encode(ctx, false);
            assertArrayEquals(Arrays.copyOfRange(whole, c.length, whole.length), r.continuation());
            assertArrayEquals(Arrays.copyOf(whole, whole.length - 1), r.input());
            // trailing whitespace of the context moves to the continuation
            Helpfulness.Request moved = Helpfulness.encode(tok, ctx + " ", "girl named Lily", false);
            assertArrayEquals(r.input(), moved.input());
            assertArrayEquals(r.continuation(), moved.continuation());

            // the score is the sum of log-softmax of the continuation tokens, read off a plain forward of the whole text
            float[][] logits = m.forward(TokenBatch.pack(List.of(whole)), Ablation.none(), new LlamaModel.Outputs(false, true, false)).allLogits();
            double want = 0;
            for (int j = c.length; j < whole.length; j++) want += Helpfulness.logSoftmax(logits[j - 1], whole[j]);
            HelpfulnessTask t = new HelpfulnessTask("t", "t", List.of(new HelpfulnessTask.Item("0", List.of(ctx, ctx), List.of(cont, " dog"), 0)));
            Helpfulness.Result res = Helpfulness.run(m, tok, t, Ablation.none(), false, 2, Progress.NONE);
            assertEquals(want, res.items().getFirst().logLikelihoods()[0], 1e-4);
            double[] ll = res.items().getFirst().logLikelihoods();
            assertEquals(ll[0] > ll[1] ? 0 : 1, res.items().getFirst().prediction());
            // acc_norm divides by the choice's character length without the leading delimiter space (lm-eval's len(choice))
            int norm = ll[0] / cont.strip().length() >= ll[1] / "dog".length() ? 0 : 1;
            assertEquals(norm, res.items().getFirst().predictionNorm());
        }
    }
}
