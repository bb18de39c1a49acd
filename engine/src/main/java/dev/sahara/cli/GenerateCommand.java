package dev.sahara.cli;

import dev.sahara.SaharaException;
import dev.sahara.cli.options.AblationOptions;
import dev.sahara.cli.options.ModelOptions;
import dev.sahara.cli.options.PromptOptions;
import dev.sahara.cli.options.SamplingOptions;
import dev.sahara.llama.ContextLimit;
import dev.sahara.llama.Generator;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.Sampler;
import dev.sahara.model.PromptFormat;
import dev.sahara.model.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code generate}: the prompt followed by the model's continuation, streamed to stdout (as llama2.c prints it). */
@Command(name = "generate", description = "Generate text (greedy, or top-k sampling) with optional head ablation; prints the prompt and the continuation.")
public final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    ModelOptions model;
    @Mixin
    PromptOptions prompt;
    @Mixin
    AblationOptions ablation;
    @Mixin
    SamplingOptions sampling;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "The query.")
    String text;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "128", description = "New tokens at most. Default: ${DEFAULT-VALUE}.")
    int maxTokens;

    @Override
    public Integer call() {
        if (maxTokens < 0) throw new SaharaException("--max-tokens must be >= 0, got " + maxTokens);
        Sampler sampler = sampling.sampler();   // sampling options are checked before anything is printed
        try (LlamaModel m = model.load(); Tokenizer tok = model.tokenizer()) {
            int[] ids = prompt.encode(PromptFormat.DIRECT, text, tok);
            if (spec.commandLine().getParseResult().hasMatchedOption("--max-tokens")) ContextLimit.checkMaxTokens(m.config(), maxTokens);   // the default is only capped
            ContextLimit.checkPrompt(m.config(), "--prompt", 0, ids.length);
            PrintWriter out = spec.commandLine().getOut();
            Tokenizer.IncrementalDecoder decoder = tok.newDecoder(true);
            for (int id : ids) out.print(decoder.append(id));
            Generator generator = new Generator(m);
            generator.generate(List.of(ids), ablation.ablation(m.config()), maxTokens, sampler,
                    tok.eosIds(), (seq, token) -> {
                        out.print(decoder.append(token));
                        out.flush();
                    });
            out.println(decoder.flush());
            out.flush();
            if (generator.filledContext(0)) {
                spec.commandLine().getErr().println("note: stopped at the model's context of " + m.config().maxPositionEmbeddings() + " tokens (max_position_embeddings)");
            }
        }
        return 0;
    }
}
