package dev.sahara.eval;

import dev.sahara.ablate.Ablation;
import dev.sahara.attribution.Progress;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.TokenBatch;
import dev.sahara.model.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Zero-shot multiple-choice scoring by log-likelihood, as lm-evaluation-harness does it (loglikelihood requests):
 * <ul>
 * <li>trailing whitespace of the context moves to the front of the continuation;</li>
 * <li>context ids = encode(context), whole = encode(context + continuation); the continuation's ids are
 *     whole[len(context ids):] (an empty context scores against [EOS]);</li>
 * <li>the model reads (context ids + continuation ids) without the last token; a choice's score is the sum of the
 *     log-softmax of its continuation tokens;</li>
 * <li>acc: the highest sum is the prediction; acc_norm: the highest sum / UTF-8 byte length of the continuation
 *     string; ties go to the first choice (numpy argmax).</li>
 * </ul>
 * Special tokens: none by default (lm-eval's HF model has add_bos_token=False); {@code addSpecialTokens} encodes
 * as the tokenizer config says (e.g. with BOS).
 */
public final class Helpfulness {
    /** One item's outcome. */
    public record ItemResult(String id, double[] logLikelihoods, int[] continuationTokens, int prediction, int predictionNorm, int gold) {
        public boolean correct() { return prediction == gold; }

        public boolean correctNorm() { return predictionNorm == gold; }
    }

    public record Result(double acc, double accStderr, double accNorm, double accNormStderr, List<ItemResult> items) {}

    /** The ids one (context, continuation) request feeds the model, and how many of them are the continuation. */
    record Request(int[] input, int[] continuation) {}

    private Helpfulness() {}

    static Request encode(Tokenizer tok, String context, String continuation, boolean addSpecialTokens) {
        int spaces = context.length() - context.stripTrailing().length();
        if (spaces > 0) {
            continuation = context.substring(context.length() - spaces) + continuation;
            context = context.substring(0, context.length() - spaces);
        }
        int[] ctx, cont;
        if (context.isEmpty()) {
            ctx = new int[] {tok.eosIds()[0]};
            cont = tok.encode(continuation, addSpecialTokens);
        } else {
            int[] whole = tok.encode(context + continuation, addSpecialTokens);
            int n = tok.encode(context, addSpecialTokens).length;
            ctx = Arrays.copyOf(whole, n);
            cont = Arrays.copyOfRange(whole, n, whole.length);
        }
        if (cont.length == 0) throw new dev.sahara.SaharaException("a continuation encodes to no tokens (context: '" + context + "')");
        int[] all = Arrays.copyOf(ctx, ctx.length + cont.length);
        System.arraycopy(cont, 0, all, ctx.length, cont.length);
        return new Request(Arrays.copyOf(all, all.length - 1), cont);
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
        List<Request> reqs = new ArrayList<>();
        List<Integer> lengths = new ArrayList<>();
        for (HelpfulnessTask.Item it : task.items()) {
            for (int c = 0; c < it.choices(); c++) {
                Request r = encode(tok, it.contexts().get(c), it.continuations().get(c), addSpecialTokens);
                reqs.add(r);
                lengths.add(normLength(it.continuations().get(c)));
            }
        }
        double[] ll = new double[reqs.size()];
        for (int from = 0; from < reqs.size(); from += batchSize) {
            int to = Math.min(reqs.size(), from + batchSize);
            List<int[]> inputs = reqs.subList(from, to).stream().map(Request::input).toList();
            TokenBatch batch = TokenBatch.pack(inputs);
            float[][] logits = model.forward(batch, ablation, new LlamaModel.Outputs(false, true, false)).allLogits();
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
        return new Result(acc, stderr(acc, n), accNorm, stderr(accNorm, n), out);
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
