package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.cli.options.ModelOptions;
import dev.sahara.cli.options.PromptOptions;
import dev.sahara.model.Json;
import dev.sahara.model.PromptFormat;
import dev.sahara.model.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/**
 * {@code prompt}: the exact text and token ids a query becomes in a prompt format, without loading the weights, so a
 * user can compare them with their own pipeline ({@code apply_chat_template(..., tokenize=False)} and the tokenizer).
 */
@Command(name = "prompt", description = "Print the exact prompt text a query becomes (--format template by default, as the method's commands use; "
        + "chat = the model's chat template, as apply_chat_template(..., tokenize=False) renders it) and its token ids.")
public final class PromptCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    ModelOptions model;
    @Mixin
    PromptOptions prompt;

    @Option(names = "--prompt", paramLabel = "TEXT", required = true, description = "The query.")
    String text;

    @Option(names = "--json", description = "Print one JSON object {format, system_prompt, chat_date, text, token_ids}.")
    boolean json;

    @Override
    public Integer call() {
        try (Tokenizer tok = model.tokenizer()) {
            String rendered = prompt.render(PromptFormat.TEMPLATE, text, tok);
            int[] ids = prompt.encode(PromptFormat.TEMPLATE, text, tok);
            PrintWriter out = spec.commandLine().getOut();
            PromptFormat f = prompt.format(PromptFormat.TEMPLATE);
            if (json) {
                ObjectNode o = Json.MAPPER.createObjectNode();
                o.put("format", f.label());
                o.put("system_prompt", prompt.system);
                if (f == PromptFormat.CHAT && tok.chatTemplateUsesDate()) o.put("chat_date", prompt.day().toString());
                o.put("text", rendered);
                ArrayNode a = o.putArray("token_ids");
                for (int id : ids) a.add(id);
                out.println(o);
            } else {
                out.print(rendered);
                out.println();
                out.println("---");
                StringBuilder sb = new StringBuilder();
                for (int i = 0; i < ids.length; i++) sb.append(i == 0 ? "" : ", ").append(ids[i]);
                out.println("token ids (" + ids.length + "): " + sb);
            }
            out.flush();
        }
        return 0;
    }
}
