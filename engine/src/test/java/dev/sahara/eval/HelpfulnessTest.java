package dev.sahara.eval;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.ablate.Ablation;
import dev.sahara.attribution.Progress;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.llama.Forward;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.TokenBatch;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.Json;
import dev.sahara.model.Tokenizer;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** lm-eval's loglikelihood request on stories260K (a Llama SentencePiece tokenizer): tokenization and the score. */
class HelpfulnessTest {
    static final int STORIES_MAX_LENGTH = 512;   // stories260K's max_position_embeddings

    @Test
    void tokenizationAndScoreFollowLmEval() {
        try (Tokenizer tok = Tokenizer.load(TestModels.stories260K());
             LlamaModel m = new LlamaModel(Checkpoint.open(TestModels.stories260K()), new CpuBackend(2))) {
            String ctx = "Once upon a time, there was a little", cont = " girl named Lily";
            Helpfulness.Request r = Helpfulness.encode(tok, ctx, cont, false, STORIES_MAX_LENGTH);
            int[] whole = tok.encode(ctx + cont, false), c = tok.encode(ctx, false);
            assertArrayEquals(Arrays.copyOfRange(whole, c.length, whole.length), r.continuation());
            assertArrayEquals(Arrays.copyOf(whole, whole.length - 1), r.input());
            assertFalse(r.leftTruncated());
            // trailing whitespace of the context moves to the continuation
            Helpfulness.Request moved = Helpfulness.encode(tok, ctx + " ", "girl named Lily", false, STORIES_MAX_LENGTH);
            assertArrayEquals(r.input(), moved.input());
            assertArrayEquals(r.continuation(), moved.continuation());

            // the score is the sum of log-softmax of the continuation tokens, read off a plain forward of the whole text
            double want = sumLogSoftmax(m, whole, r.continuation().length);
            HelpfulnessTask t = new HelpfulnessTask("t", "t", List.of(new HelpfulnessTask.Item("0", List.of(ctx, ctx), List.of(cont, " dog"), 0)));
            Helpfulness.Result res = Helpfulness.run(m, tok, t, Ablation.none(), false, 2, Progress.NONE);
            assertEquals(want, res.items().getFirst().logLikelihoods()[0], 1e-4);
            assertEquals(0, res.leftTruncatedRequests());
            double[] ll = res.items().getFirst().logLikelihoods();
            assertEquals(ll[0] > ll[1] ? 0 : 1, res.items().getFirst().prediction());
            // acc_norm divides by the choice's character length without the leading delimiter space (lm-eval's len(choice))
            int norm = ll[0] / cont.strip().length() >= ll[1] / "dog".length() ? 0 : 1;
            assertEquals(norm, res.items().getFirst().predictionNorm());
        }
    }

    /**
     * lm-eval keeps the last max_length + 1 ids of context + continuation: an item longer than the tiny model's
     * max_position_embeddings (64) scores exactly as a forward of that left-cut sequence, not of the whole text.
     */
    @Test
    void overLongRequestsAreCutFromTheLeftToMaxLengthPlusOne() {
        Path dir = TestModels.tiny("llama-mha-f32-tied");
        try (Tokenizer tok = Tokenizer.load(dir); LlamaModel m = new LlamaModel(Checkpoint.open(dir), new CpuBackend(2))) {
            int maxLength = m.config().maxPositionEmbeddings();
            assertEquals(64, maxLength);
            String ctx = "Once upon a time, there was a little girl named Lily. She liked to play in the park with her dog. ".repeat(4)
                    + "One day, Lily saw a big", cont = " red ball in the tree";
            int[] whole = tok.encode(ctx + cont, false);
            int contLength = whole.length - tok.encode(ctx, false).length;
            assertTrue(whole.length > maxLength + 1 + 20, "the item must be well over the limit, got " + whole.length + " ids");
            int[] kept = Arrays.copyOfRange(whole, whole.length - (maxLength + 1), whole.length);

            Helpfulness.Request r = Helpfulness.encode(tok, ctx, cont, false, maxLength);
            assertTrue(r.leftTruncated());
            assertArrayEquals(Arrays.copyOf(kept, maxLength), r.input(), "the last max_length + 1 ids without the last one");
            assertArrayEquals(Arrays.copyOfRange(whole, whole.length - contLength, whole.length), r.continuation());

            double want = sumLogSoftmax(m, kept, contLength);
            HelpfulnessTask t = new HelpfulnessTask("t", "t", List.of(new HelpfulnessTask.Item("0", List.of(ctx, ctx), List.of(cont, " blue kite"), 0)));
            Helpfulness.Result res = Helpfulness.run(m, tok, t, Ablation.none(), false, 2, Progress.NONE);
            assertEquals(want, res.items().getFirst().logLikelihoods()[0], 1e-4);
            assertEquals(2, res.leftTruncatedRequests());
            // the cut matters: the whole text read past max_length scores differently
            assertTrue(Math.abs(sumLogSoftmax(m, whole, contLength) - want) > 1e-3);

            // a continuation that alone is longer than max_length cannot be scored (lm-eval asserts the same)
            String longContinuation = " and they played all day".repeat(20);
            assertTrue(tok.encode(longContinuation, false).length > maxLength);
            SaharaException e = assertThrows(SaharaException.class, () -> Helpfulness.encode(tok, "Lily", longContinuation, false, maxLength));
            assertTrue(e.getMessage().contains("max_position_embeddings 64"), e.getMessage());
        }
    }

    /** An empty context is lm-eval's [prefix_token_id]: BOS here, and the continuation is scored after it. */
    @Test
    void emptyContextIsScoredAfterBos() {
        try (Tokenizer tok = Tokenizer.load(TestModels.stories260K());
             LlamaModel m = new LlamaModel(Checkpoint.open(TestModels.stories260K()), new CpuBackend(2))) {
            String cont = "Lily saw a big dog";
            int[] contIds = tok.encode(cont, false);
            int[] bosThenCont = new int[contIds.length + 1];
            bosThenCont[0] = tok.bosId();
            System.arraycopy(contIds, 0, bosThenCont, 1, contIds.length);
            assertEquals(1, tok.bosId());

            Helpfulness.Request r = Helpfulness.encode(tok, "", cont, false, STORIES_MAX_LENGTH);
            assertArrayEquals(contIds, r.continuation());
            assertArrayEquals(Arrays.copyOf(bosThenCont, bosThenCont.length - 1), r.input());
            // with special tokens the continuation still does not start with a BOS of its own
            Helpfulness.Request special = Helpfulness.encode(tok, "", cont, true, STORIES_MAX_LENGTH);
            assertArrayEquals(r.input(), special.input());
            assertArrayEquals(r.continuation(), special.continuation());
            // a whitespace-only context encodes to no ids; the prefix token stands in for it
            Helpfulness.Request blank = Helpfulness.encode(tok, " ", cont, false, STORIES_MAX_LENGTH);
            assertEquals(tok.bosId(), blank.input()[0]);
            assertArrayEquals(tok.encode(" " + cont, false), blank.continuation());

            double want = sumLogSoftmax(m, bosThenCont, contIds.length);
            HelpfulnessTask t = new HelpfulnessTask("t", "t", List.of(new HelpfulnessTask.Item("0", List.of("", ""), List.of(cont, "Tom ran home"), 0)));
            Helpfulness.Result res = Helpfulness.run(m, tok, t, Ablation.none(), false, 2, Progress.NONE);
            assertEquals(want, res.items().getFirst().logLikelihoods()[0], 1e-4);
        }
    }

    /**
     * Without a bos_token in tokenizer_config.json the prefix is its eos_token, as for Hugging Face's
     * {@code bos_token_id} generation_config.json's bos_token_id does not count; with neither there is no prefix.
     */
    @Test
    void emptyContextFallsBackToEosWithoutBos(@TempDir Path dir) throws IOException {
        for (String f : List.of("tokenizer.json", "generation_config.json")) Files.copy(TestModels.stories260K().resolve(f), dir.resolve(f));
        ObjectNode cfg = (ObjectNode) Json.MAPPER.readTree(TestModels.stories260K().resolve("tokenizer_config.json").toFile());
        cfg.remove("bos_token");
        cfg.put("add_bos_token", false);
        Files.writeString(dir.resolve("tokenizer_config.json"), cfg.toString());
        try (Tokenizer tok = Tokenizer.load(dir)) {
            assertEquals(1, tok.bosId(), "generation_config.json still says bos_token_id 1");
            assertEquals(2, Helpfulness.prefixTokenId(tok));
            assertEquals(2, Helpfulness.encode(tok, "", " Lily", false, STORIES_MAX_LENGTH).input()[0]);
        }
        cfg.remove("eos_token");
        Files.writeString(dir.resolve("tokenizer_config.json"), cfg.toString());
        try (Tokenizer tok = Tokenizer.load(dir)) {
            assertThrows(SaharaException.class, () -> Helpfulness.encode(tok, "", " Lily", false, STORIES_MAX_LENGTH));
            int[] whole = tok.encode("Once Lily", false);
            assertArrayEquals(Arrays.copyOf(whole, whole.length - 1), Helpfulness.encode(tok, "Once", " Lily", false, STORIES_MAX_LENGTH).input(),
                    "a context needs no prefix");
        }
    }

    /** The sum of log-softmax of the last {@code scored} ids of {@code ids}, from one forward of all but the last id. */
    static double sumLogSoftmax(LlamaModel m, int[] ids, int scored) {
        float[][] logits = m.forward(Forward.of(TokenBatch.pack(List.of(Arrays.copyOf(ids, ids.length - 1))), Ablation.none()).returning(Forward.Outputs.ALL_LOGITS)).allLogits();
        double sum = 0;
        for (int j = ids.length - scored; j < ids.length; j++) sum += Helpfulness.logSoftmax(logits[j - 1], ids[j]);
        return sum;
    }
}
