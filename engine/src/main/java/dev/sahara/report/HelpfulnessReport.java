package dev.sahara.report;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.ablate.Ablation;
import dev.sahara.eval.Helpfulness;
import dev.sahara.model.Json;

import java.nio.file.Path;
import java.util.Locale;

/** helpfulness' result files: how the choices are scored, each variant's accuracies, and its items_{variant}.jsonl. */
public final class HelpfulnessReport {
    private HelpfulnessReport() {}

    /** How the choices are scored, as lm-evaluation-harness does; {@code maxLength}: the model's context. */
    public static ObjectNode scoring(int maxLength, boolean addBos) {
        ObjectNode ho = Json.MAPPER.createObjectNode();
        ho.put("method", "zero-shot log-likelihood of each choice's continuation, lm-evaluation-harness loglikelihood requests");
        ho.put("tokenization", "context ids = encode(context); continuation ids = encode(context + continuation)[len(context ids):]; "
                + "trailing context whitespace moved to the continuation; an empty context is [prefix token] with the continuation "
                + "encoded alone, without special tokens");
        ho.put("prefix_token", "bos_token of the tokenizer config, else its eos_token (lm-eval prefix_token_id)");
        ho.put("truncation", "context ids + continuation ids keep their last max_length + 1 ids (cut from the left), the model reads all "
                + "but the last; a continuation longer than max_length is refused");
        ho.put("max_length", maxLength);
        ho.put("special_tokens", addBos ? "as the tokenizer config says (--add-bos)" : "none (lm-eval add_bos_token=False)");
        ho.put("acc", "argmax of the summed log-likelihood; ties to the first choice");
        ho.put("acc_norm", "argmax of the summed log-likelihood / code-point length of the continuation without one leading space "
                + "(lm-eval len(choice)); ties to the first choice");
        ho.put("stderr", "sample standard deviation / sqrt(n)");
        return ho;
    }

    /** Writes items_{variant}.jsonl into {@code out}; returns the variant's row of the results. */
    public static ObjectNode write(Path out, String variant, Ablation ablation, Helpfulness.Result r) {
        String file = "items_" + variant + ".jsonl";
        ResultFiles.writeJsonl(out.resolve(file), r.items().stream().map(x -> {
            ObjectNode o = Json.MAPPER.createObjectNode();
            o.put("id", x.id());
            ArrayNode ll = o.putArray("loglikelihoods");
            for (double d : x.logLikelihoods()) ll.add(d);
            ArrayNode nt = o.putArray("continuation_tokens");
            for (int n : x.continuationTokens()) nt.add(n);
            o.put("prediction", x.prediction());
            o.put("prediction_norm", x.predictionNorm());
            o.put("gold", x.gold());
            o.put("correct", x.correct());
            o.put("correct_norm", x.correctNorm());
            return o;
        }).toList());
        ObjectNode ro = Json.MAPPER.createObjectNode();
        ro.put("ablation", ablation.toString());
        ro.put("acc", r.acc());
        ro.put("acc_stderr", r.accStderr());
        ro.put("acc_norm", r.accNorm());
        ro.put("acc_norm_stderr", r.accNormStderr());
        ro.put("n", r.items().size());
        ro.put("left_truncated_requests", r.leftTruncatedRequests());
        ro.put("items", file);
        return ro;
    }

    /** The variant's line of the summary helpfulness prints. */
    public static String summary(String variant, Ablation ablation, Helpfulness.Result r) {
        return String.format(Locale.ROOT, "%-6s (%s): acc %.3f  acc_norm %.3f  (n=%d)%n", variant, ablation, r.acc(), r.accNorm(), r.items().size());
    }
}
