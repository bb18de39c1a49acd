package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.ablate.Ablation;
import dev.sahara.cli.options.AblationOptions;
import dev.sahara.cli.options.DatasetOptions;
import dev.sahara.cli.options.ModelOptions;
import dev.sahara.cli.options.OutputOptions;
import dev.sahara.cli.options.PromptOptions;
import dev.sahara.cli.options.Workload;
import dev.sahara.data.Dataset;
import dev.sahara.eval.Helpfulness;
import dev.sahara.eval.HelpfulnessTask;
import dev.sahara.model.PromptFormat;
import dev.sahara.report.ResultHeader;
import dev.sahara.report.HelpfulnessReport;
import dev.sahara.report.ResultFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.List;
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

    @Mixin
    OutputOptions output = new OutputOptions("helpfulness.json, items_{before|after}.jsonl, task.jsonl", "Print helpfulness.json to stdout instead of the summary.");

    @Override
    public Integer call() {
        if (batchSize < 1) throw new SaharaException("--batch-size must be >= 1, got " + batchSize);
        if (limit < 0) throw new SaharaException("--limit must be >= 0, got " + limit);
        HelpfulnessTask t = HelpfulnessTask.load(task, taskFormat, limit);
        DatasetOptions ids = new DatasetOptions() {
            @Override
            public Dataset load() { return new Dataset(t.name(), t.source(), t.items().stream().map(HelpfulnessTask.Item::id).toList()); }
        };
        Path out = output.claim();
        try (Workload w = Workload.load(model, ids, new PromptOptions(), PromptFormat.DIRECT)) {
            Ablation a = ablation.ablation(w.model().config());
            long t0 = System.nanoTime();
            ObjectNode o = w.header().json("helpfulness");
            o.remove("system_prompt");
            o.put("prompt_format", "task contexts as given (no template)");
            o.set("scoring", HelpfulnessReport.scoring(w.model().config().maxPositionEmbeddings(), addBos));
            o.put("task_format", taskFormat);
            ResultHeader.putAblation(o, a);
            ObjectNode results = o.putObject("results");
            StringBuilder summary = new StringBuilder("task " + t.name() + "\n");
            List<Ablation> variants = a.isEmpty() ? List.of(Ablation.none()) : List.of(Ablation.none(), a);
            for (Ablation v : variants) {
                String name = v.isEmpty() ? "before" : "after";
                Helpfulness.Result r = Helpfulness.run(w.model(), w.tokenizer(), t, v, addBos, batchSize, StderrProgress.of(spec, name));
                results.set(name, HelpfulnessReport.write(out, name, v, r));
                summary.append(HelpfulnessReport.summary(name, v, r));
            }
            ResultFiles.writeString(out.resolve("task.jsonl"), t.toJsonl());
            o.put("task_file", "task.jsonl");
            ResultFiles.writeJson(out.resolve("helpfulness.json"), o);
            ResultFiles.writeJson(out.resolve("timings.json"), RunRecord.simpleTimings("helpfulness", w, (System.nanoTime() - t0) / 1e9));
            output.print(o, summary.toString());
        }
        return 0;
    }
}
