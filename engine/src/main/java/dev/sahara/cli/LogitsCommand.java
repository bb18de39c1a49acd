package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.cli.options.AblationOptions;
import dev.sahara.cli.options.ModelOptions;
import dev.sahara.cli.options.PromptOptions;
import dev.sahara.llama.ContextLimit;
import dev.sahara.llama.Forward;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.TokenBatch;
import dev.sahara.model.Json;
import dev.sahara.model.PromptFormat;
import dev.sahara.model.Tokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.util.List;
import java.util.concurrent.Callable;

/** {@code logits}: one JSON object {"token_ids": [...], "logits": [...]} — the full-vocabulary logits at the last position. */
@Command(name = "logits", description = "Print {\"token_ids\": [...], \"logits\": [...]}: the logits at the last position, as JSON on stdout.")
public final class LogitsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    ModelOptions model;
    @Mixin
    PromptOptions prompt;
    @Mixin
    AblationOptions ablation;

    @ArgGroup(multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--prompt", paramLabel = "TEXT", description = "The query (tokenized with the model's tokenizer and --format).")
        String text;

        @Option(names = "--token-ids", paramLabel = "IDS", split = ",", description = "Token ids, e.g. 1,403,407 (no tokenizer involved).")
        int[] ids;
    }

    @Override
    public Integer call() throws Exception {
        try (LlamaModel m = model.load()) {
            int[] ids;
            if (input.ids != null) {
                ids = input.ids;
                for (int id : ids) {
                    if (id < 0 || id >= m.config().vocabSize()) throw new SaharaException("--token-ids: id " + id + " is outside the vocabulary 0.." + (m.config().vocabSize() - 1));
                }
            } else {
                try (Tokenizer tok = model.tokenizer()) {
                    ids = prompt.encode(PromptFormat.DIRECT, input.text, tok);
                }
            }
            if (ids.length == 0) throw new SaharaException("no tokens to run");
            ContextLimit.checkPrompt(m.config(), input.ids != null ? "--token-ids" : "--prompt", 0, ids.length);
            float[] logits = m.forward(Forward.of(TokenBatch.pack(List.of(ids)), ablation.ablation(m.config()))).lastLogits()[0];
            ObjectNode o = Json.MAPPER.createObjectNode();
            ArrayNode t = o.putArray("token_ids");
            for (int id : ids) t.add(id);
            ArrayNode l = o.putArray("logits");
            for (float f : logits) l.add(f);
            spec.commandLine().getOut().println(Json.MAPPER.writeValueAsString(o));
        }
        return 0;
    }
}
