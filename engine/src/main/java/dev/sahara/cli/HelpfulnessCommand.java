package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.ablate.Ablation;
import dev.sahara.data.Dataset;
import dev.sahara.eval.Helpfulness;
import dev.sahara.eval.HelpfulnessTask;
import dev.sahara.model.Json;
import dev.sahara.model.PromptFormat;
import dev.sahara.report.ResultFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code helpfulness} (paper §5.3): zero-shot multiple-choice accuracy by log-likelihood, before and after ablating a group. */
@Command(name = "helpfulness", description = "Zero-shot multiple-choice accuracy (acc, acc_norm) by log-likelihood as lm-eval scores it, before and after ablating heads.")
public final class HelpfulnessCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    ModelOptions model;
    @Mixin
    AblationOptions ablation;

    @Option(names = "--task", paramLabel = "FILE", defaultValue = "builtin:synthetic", description = "Task file (JSONL), or builtin:synthetic. Default: ${DEFAULT-VALUE}.")
    String task;

    @Option(names = "--task-format", paramLabel = "FORMAT", defaultValue = "jsonl",
            description = "jsonl (the engine's form) | boolq | rte | winogrande | arc | openbookqa (the HF datasets' JSONL exports). Default: ${DEFAULT-VALUE}.")
    String taskFormat;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "0", description = "Use only the first N items (0 = all).")
    int limit;

    @Option(names = "--add-bos", description = "Encode with the tokenizer's special tokens (e.g. BOS). lm-eval's default is without.")
    boolean addBos;

    @Option(names = "--batch-size", paramLabel = "B", defaultValue = "16", description = "(context, choice) sequences per forward. Results do not depend on it. Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "runs/helpfulness", description = "Output folder (helpfulness.json, items_{before|after}.jsonl, task.jsonl). Default: ${DEFAULT-VALUE}.")
    Path out;

    @Mixin
    ForceOption force;

    @Option(names = "--json", description = "Print helpfulness.json to stdout instead of the summary.")
    boolean json;

    @Override
    public Integer call() {
        if (batchSize < 1) throw new SaharaException("--batch-size must be >= 1, got " + batchSize);
        if (limit < 0) throw new SaharaException("--limit must be >= 0, got " + limit);
        HelpfulnessTask t = HelpfulnessTask.load(task, taskFormat, limit);
        DatasetOptions ids = new DatasetOptions() {
            @Override
            public Dataset load() { return new Dataset(t.name(), t.source(), t.items().stream().map(HelpfulnessTask.Item::id).toList()); }
        };
        PrintWriter err = spec.commandLine().getErr();
        Path out = OutputFolder.claim(spec, "helpfulness", this.out, null, force.force);
        try (Workload w = Workload.load(model, ids, new PromptOptions(), PromptFormat.DIRECT)) {
            Ablation a = ablation.ablation(w.model().config(), AblationOptions.EVAL_EPSILON);
            long t0 = System.nanoTime();
            ObjectNode o = w.metadata("helpfulness");
            o.remove("system_prompt");
            o.put("prompt_format", "task contexts as given (no template)");
            ObjectNode ho = o.putObject("scoring");
            ho.put("method", "zero-shot log-likelihood of each choice's continuation, lm-evaluation-harness loglikelihood requests");
            int maxLength = w.model().config().maxPositionEmbeddings();
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
            o.put("task_format", taskFormat);
            AblationOptions.describe(o, a);
            ObjectNode results = o.putObject("results");
            StringBuilder summary = new StringBuilder();
            List<Ablation> variants = a.isEmpty() ? List.of(Ablation.none()) : List.of(Ablation.none(), a);
            for (Ablation v : variants) {
                String name = v.isEmpty() ? "before" : "after";
                Helpfulness.Result r = Helpfulness.run(w.model(), w.tokenizer(), t, v, addBos, batchSize, new StderrProgress(err, name));
                String file = "items_" + name + ".jsonl";
                writeItems(out.resolve(file), r);
                ObjectNode ro = results.putObject(name);
                ro.put("ablation", v.toString());
                ro.put("acc", r.acc());
                ro.put("acc_stderr", r.accStderr());
                ro.put("acc_norm", r.accNorm());
                ro.put("acc_norm_stderr", r.accNormStderr());
                ro.put("n", r.items().size());
                ro.put("left_truncated_requests", r.leftTruncatedRequests());
                ro.put("items", file);
                summary.append(String.format(Locale.ROOT, "%-6s (%s): acc %.3f  acc_norm %.3f  (n=%d)%n", name, v, r.acc(), r.accNorm(), r.items().size()));
            }
            ResultFiles.writeString(out.resolve("task.jsonl"), t.toJsonl());
            o.put("task_file", "task.jsonl");
            ResultFiles.writeJson(out.resolve("helpfulness.json"), o);
            ResultFiles.writeJson(out.resolve("timings.json"), RunRecord.simpleTimings("helpfulness", w, (System.nanoTime() - t0) / 1e9));
            PrintWriter pw = spec.commandLine().getOut();
            if (json) pw.println(o);
            else pw.print("task " + t.name() + "\n" + summary + "results: " + out.toAbsolutePath() + "\n");
            pw.flush();
        }
        return 0;
    }

    private static void writeItems(Path file, Helpfulness.Result r) {
        StringBuilder sb = new StringBuilder();
        try {
            for (Helpfulness.ItemResult x : r.items()) {
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
                sb.append(Json.MAPPER.writeValueAsString(o)).append('\n');
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ResultFiles.writeString(file, sb.toString());
    }
}
