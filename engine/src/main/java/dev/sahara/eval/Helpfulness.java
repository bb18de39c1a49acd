package dev.sahara.eval;

import dev.sahara.SaharaException;
import dev.sahara.ablate.Ablation;
import dev.sahara.attribution.Progress;
import dev.sahara.llama.Forward;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.TokenBatch;
import dev.sahara.model.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Zero-shot multiple-choice scoring by log-likelihood, as lm-evaluation-harness's Hugging Face model ({@code HFLM})
 * scores {@code loglikelihood} requests. For each (context, continuation) pair:
 * <ul>
 * <li>an empty context ({@code ""} exactly) gives context ids = [prefix token] and continuation ids =
 *     encode(continuation) without special tokens; the prefix token is the tokenizer's bos_token when it names one,
 *     else its eos_token (lm-eval's {@code prefix_token_id});</li>
 * <li>otherwise trailing whitespace of the context moves to the front of the continuation; context ids =
 *     encode(context), whole = encode(context + continuation), and the continuation's ids are
 *     whole[len(context ids):]. Where the context ids come out empty (a whitespace-only context encoded
 *     without BOS), the prefix token stands in as the context; lm-eval's HFLM stops on an assertion there;</li>
 * <li>the sequence (context ids + continuation ids) is cut from the left to its last max_length + 1 ids, where
 *     max_length is the checkpoint's {@link dev.sahara.model.ModelConfig#maxPositionEmbeddings()}, and the
 *     model reads it without its last id, so the continuation is always scored and the read is never longer than
 *     max_length. A continuation longer than max_length is refused, as lm-eval refuses it;</li>
 * <li>a choice's score is the sum over its continuation ids of the log-softmax of the logits at the position
 *     before each;</li>
 * <li>acc: the highest sum is the prediction; acc_norm: the highest sum / {@link #normLength} (code points of the
 *     continuation without one leading space, lm-eval's {@code len(choice)}); ties go to the first choice (numpy
 *     argmax).</li>
 * </ul>
 * Special tokens: none by default (lm-eval's HF model with add_bos_token=False, its default before lm-eval PR
 * #3347 made it follow the tokenizer); {@code addSpecialTokens} encodes as the tokenizer config says (e.g. with
 * BOS). A continuation after an empty context is encoded without them either way, so no BOS is scored as part
 * of the answer (older lm-eval with add_bos_token=True did score one, issue #3333).
 */
public final class Helpfulness {
    /** One item's outcome. */
    public record ItemResult(String id, double[] logLikelihoods, int[] continuationTokens, int prediction, int predictionNorm, int gold) {
        public boolean correct() { return prediction == gold; }

        public boolean correctNorm() { return predictionNorm == gold; }
    }

    /** @param leftTruncatedRequests (context, choice) sequences longer than max_length + 1 ids, cut from the left */
    public record Result(double acc, double accStderr, double accNorm, double accNormStderr, int leftTruncatedRequests, List<ItemResult> items) {}

    /**
     * What one (context, continuation) request feeds the model: {@code input} ends with all but the last of the
     * {@code continuation} ids, so its last continuation.length positions predict the continuation.
     */
    record Request(int[] input, int[] continuation, boolean leftTruncated) {}

    private Helpfulness() {}

    /**
     * lm-eval's {@code prefix_token_id}: Hugging Face's {@code tokenizer.bos_token_id} if set, else
     * {@code eos_token_id}. Both come from tokenizer_config.json; generation_config.json's ids do not count,
     * as they do not for a Hugging Face tokenizer (Qwen2 names no bos_token there, so it gets its eos_token).
     */
    static int prefixTokenId(Tokenizer tok) {
        if (tok.bosToken() != null) return tok.bosId();
        if (tok.eosTokenId() >= 0) return tok.eosTokenId();
        throw SaharaException.inFile(tok.configFile(), "names neither bos_token nor eos_token, so an empty context has no token to be scored after");
    }

    /** @param maxLength the most ids the model reads at once (the checkpoint's max_position_embeddings) */
    static Request encode(Tokenizer tok, String context, String continuation, boolean addSpecialTokens, int maxLength) {
        int[] ctx, cont;
        if (context.isEmpty()) {
            ctx = new int[] {prefixTokenId(tok)};
            cont = tok.encode(continuation, false);
        } else {
            int spaces = context.length() - context.stripTrailing().length();
            if (spaces > 0) {
                continuation = context.substring(context.length() - spaces) + continuation;
                context = context.substring(0, context.length() - spaces);
            }
            int[] whole = tok.encode(context + continuation, addSpecialTokens);
            int n = tok.encode(context, addSpecialTokens).length;
            ctx = n == 0 ? new int[] {prefixTokenId(tok)} : Arrays.copyOf(whole, n);
            cont = Arrays.copyOfRange(whole, n, whole.length);
        }
        if (cont.length == 0) throw new SaharaException("a continuation encodes to no tokens (context: '" + context + "')");
        if (cont.length > maxLength) {
            throw new SaharaException("a continuation of " + cont.length + " tokens is longer than the model's max_position_embeddings "
                    + maxLength + ", so it cannot be scored (context: '" + context + "')");
        }
        int[] all = Arrays.copyOf(ctx, ctx.length + cont.length);
        System.arraycopy(cont, 0, all, ctx.length, cont.length);
        // lm-eval keeps the last max_length + 1 ids: the context loses its start, the continuation stays whole
        int from = Math.max(0, all.length - (maxLength + 1));
        return new Request(Arrays.copyOfRange(all, from, all.length - 1), cont, from > 0);
    }

    /**
     * acc_norm's denominator, as lm-eval computes it: the character length of the choice itself, i.e. the
     * continuation without the one leading space that is the target delimiter (at least 1).
     */
    static int normLength(String continuation) {
        String choice = continuation.startsWith(" ") ? continuation.substring(1) : continuation;
        return Math.max(1, choice.codePointCount(0, choice.length()));
    }

    /** @param batchSize (context, choice) sequences per forward */
    public static Result run(LlamaModel model, Tokenizer tok, HelpfulnessTask task, Ablation ablation, boolean addSpecialTokens, int batchSize,
                             Progress progress) {
        int maxLength = model.config().maxPositionEmbeddings();
        List<Request> reqs = new ArrayList<>();
        List<Integer> lengths = new ArrayList<>();
        for (HelpfulnessTask.Item it : task.items()) {
            for (int c = 0; c < it.choices(); c++) {
                Request r = encode(tok, it.contexts().get(c), it.continuations().get(c), addSpecialTokens, maxLength);
                reqs.add(r);
                lengths.add(normLength(it.continuations().get(c)));
            }
        }
        double[] ll = new double[reqs.size()];
        for (int from = 0; from < reqs.size(); from += batchSize) {
            int to = Math.min(reqs.size(), from + batchSize);
            List<int[]> inputs = reqs.subList(from, to).stream().map(Request::input).toList();
            TokenBatch batch = TokenBatch.pack(inputs);
            float[][] logits = model.forward(Forward.of(batch, ablation).returning(Forward.Outputs.ALL_LOGITS)).allLogits();
            int[] rowStart = batch.layout().rowStart();
            for (int s = 0; s < inputs.size(); s++) {
                Request r = reqs.get(from + s);
                int first = rowStart[s] + r.input().length - r.continuation().length;  // the row that predicts the first continuation token
                double sum = 0;
                for (int j = 0; j < r.continuation().length; j++) sum += logSoftmax(logits[first + j], r.continuation()[j]);
                ll[from + s] = sum;
            }
            progress.update(to, reqs.size(), "scored");
        }
        List<ItemResult> out = new ArrayList<>();
        int k = 0, right = 0, rightNorm = 0;
        for (HelpfulnessTask.Item it : task.items()) {
            double[] l = Arrays.copyOfRange(ll, k, k + it.choices());
            int[] ntok = new int[it.choices()];
            int best = 0, bestNorm = 0;
            for (int c = 0; c < it.choices(); c++) {
                ntok[c] = reqs.get(k + c).continuation().length;
                if (l[c] > l[best]) best = c;
                if (l[c] / lengths.get(k + c) > l[bestNorm] / lengths.get(k + bestNorm)) bestNorm = c;
            }
            ItemResult r = new ItemResult(it.id(), l, ntok, best, bestNorm, it.gold());
            if (r.correct()) right++;
            if (r.correctNorm()) rightNorm++;
            out.add(r);
            k += it.choices();
        }
        int n = out.size();
        double acc = (double) right / n, accNorm = (double) rightNorm / n;
        int truncated = (int) reqs.stream().filter(Request::leftTruncated).count();
        return new Result(acc, stderr(acc, n), accNorm, stderr(accNorm, n), truncated, out);
    }

    /** lm-eval's mean_stderr for a 0/1 metric: sample standard deviation / sqrt(n). */
    static double stderr(double p, int n) {
        if (n < 2) return Double.NaN;
        return Math.sqrt(p * (1 - p) * n / (n - 1) / n);
    }

    static double logSoftmax(float[] logits, int token) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) max = Math.max(max, v);
        double sum = 0;
        for (float v : logits) sum += Math.exp(v - max);
        return logits[token] - max - Math.log(sum);
    }
}
