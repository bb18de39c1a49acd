package dev.sahara.eval;

import dev.sahara.ablate.Ablation;
import dev.sahara.attribution.Progress;
import dev.sahara.llama.Generator;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.Sampler;
import dev.sahara.model.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Attack success rate (SPEC.md): generate up to maxNewTokens for every prompt under an ablation (KV cache,
 * prompts in chunks), judge the generated text only, ASR = harmful / n.
 */
public final class AsrEvaluation {
    /** One prompt's outcome; {@code filledContext}: generation stopped because prompt and response filled the model's context. */
    public record Response(String query, String response, RefusalJudge.Verdict verdict, boolean filledContext) {}

    public record Result(double asr, List<Response> responses) {
        public long harmful() { return responses.stream().filter(r -> !r.verdict().refusal()).count(); }

        /** Responses cut short by the model's context (max_position_embeddings). */
        public long filledContext() { return responses.stream().filter(Response::filledContext).count(); }
    }

    private AsrEvaluation() {}

    /**
     * @param queries   the dataset's queries (for the result file)
     * @param encoded   their token ids in the chosen prompt format
     * @param chunk     prompts generated together (bounds the KV cache)
     */
    public static Result run(LlamaModel model, Tokenizer tok, List<String> queries, List<int[]> encoded, Ablation ablation, int maxNewTokens,
                             Sampler sampler, RefusalJudge judge, int chunk, Progress progress) {
        Generator gen = new Generator(model);
        List<Response> out = new ArrayList<>();
        for (int from = 0; from < encoded.size(); from += chunk) {
            int to = Math.min(encoded.size(), from + chunk);
            List<int[]> ids = gen.generate(encoded.subList(from, to), from, ablation, maxNewTokens, sampler, tok.eosIds(), null);
            for (int i = 0; i < ids.size(); i++) {
                String text = tok.decode(ids.get(i), true);
                out.add(new Response(queries.get(from + i), text, judge.judge(text), gen.filledContext(from + i)));
            }
            progress.update(to, encoded.size(), "generated");
        }
        return new Result(RefusalJudge.asr(out.stream().map(Response::verdict).toList()), out);
    }
}
