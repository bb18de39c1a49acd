package dev.sahara.eval;

import dev.sahara.ablate.Ablation;
import dev.sahara.attribution.Progress;
import dev.sahara.llama.Generator;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.Sampler;
import dev.sahara.model.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Attack success rate where every prompt may have its own ablation (query-specific ablation, paper Fig. 2)
 * and an optional forced response prefix (course correction, paper Table 7).
 *
 * <p>Prompts that share an ablation are generated together; within a group, each run of consecutive prompt
 * indices (at most {@code chunk} long) is one batch whose sampling seeds are the prompts' indices in the whole
 * set, so grouping and chunking never change a result.
 *
 * <p>With a forced prefix, the prefix's token ids ({@code encode(prefix, add_special_tokens=false)}) are appended
 * to the prompt's ids before generation. The judge sees the <b>generated continuation only</b> (the text after
 * the forced prefix), as SPEC.md judges the generated text only; the full response (prefix + continuation,
 * decoded together) is reported alongside.
 */
public final class PerPromptAsr {
    /**
     * One prompt's outcome: response = decode(prefix ids + generated ids); generated = decode(generated ids) — what the judge
     * saw; filledContext: generation stopped because prompt, prefix and response filled the model's context.
     */
    public record Response(String query, Ablation ablation, String response, String generated, RefusalJudge.Verdict verdict, boolean filledContext) {}

    public record Result(double asr, List<Response> responses) {
        public long harmful() { return responses.stream().filter(r -> !r.verdict().refusal()).count(); }

        /** Responses cut short by the model's context (max_position_embeddings). */
        public long filledContext() { return responses.stream().filter(Response::filledContext).count(); }
    }

    private PerPromptAsr() {}

    /**
     * @param ablations one ablation per prompt (may repeat)
     * @param prefixIds the forced response prefix's ids, appended to every prompt (empty for none)
     */
    public static Result run(LlamaModel model, Tokenizer tok, List<String> queries, List<int[]> encoded, List<Ablation> ablations, int[] prefixIds,
                             int maxNewTokens, Sampler sampler, RefusalJudge judge, int chunk, Progress progress) {
        if (ablations.size() != encoded.size()) throw new IllegalArgumentException(ablations.size() + " ablations for " + encoded.size() + " prompts");
        int n = encoded.size();
        List<int[]> inputs = new ArrayList<>(n);
        for (int[] p : encoded) {
            int[] x = Arrays.copyOf(p, p.length + prefixIds.length);
            System.arraycopy(prefixIds, 0, x, p.length, prefixIds.length);
            inputs.add(x);
        }
        Map<Ablation, List<Integer>> groups = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) groups.computeIfAbsent(ablations.get(i), a -> new ArrayList<>()).add(i);

        Generator gen = new Generator(model);
        int[][] generated = new int[n][];
        int done = 0;
        for (Map.Entry<Ablation, List<Integer>> g : groups.entrySet()) {
            List<Integer> idx = g.getValue();
            int i = 0;
            while (i < idx.size()) {
                int start = idx.get(i), j = i + 1;
                while (j < idx.size() && j - i < chunk && idx.get(j) == start + (j - i)) j++;
                List<int[]> ids = gen.generate(inputs.subList(start, start + (j - i)), start, g.getKey(), maxNewTokens, sampler, tok.eosIds(), null);
                for (int s = 0; s < ids.size(); s++) generated[start + s] = ids.get(s);
                done += j - i;
                progress.update(done, n, "generated");
                i = j;
            }
        }
        List<Response> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String gen_ = tok.decode(generated[i], true);
            String full = prefixIds.length == 0 ? gen_ : tok.decode(concat(prefixIds, generated[i]), true);
            out.add(new Response(queries.get(i), ablations.get(i), full, gen_, judge.judge(gen_), gen.filledContext(i)));
        }
        return new Result(RefusalJudge.asr(out.stream().map(Response::verdict).toList()), out);
    }

    private static int[] concat(int[] a, int[] b) {
        int[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
