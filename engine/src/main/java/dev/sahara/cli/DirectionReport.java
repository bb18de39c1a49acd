package dev.sahara.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.direction.DirectionCandidate;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** report.md of the direction command: the settings, the chosen candidate, every candidate's scores. */
final class DirectionReport {
    private DirectionReport() {}

    static String markdown(ObjectNode o, List<DirectionCandidate> candidates, DirectionCandidate.Filters filters, Optional<DirectionCandidate> chosen) {
        JsonNode s = o.get("search");
        StringBuilder md = new StringBuilder("# Refusal direction\n\n");
        md.append(String.format(Locale.ROOT, "Model `%s` (%d layers); harmful `%s`, harmless `%s`; prompt format `%s`.%n%n", o.at("/model/path").asText(),
                o.at("/model/layers").asInt(), o.at("/dataset/source").asText(), o.at("/harmless_dataset/source").asText(), o.get("prompt_format").asText()));
        md.append(String.format(Locale.ROOT, "- split (seed %d): harmful %d train / %d val, harmless %d train / %d val%n", s.at("/split/seed").asLong(),
                s.at("/split/harmful/train").asInt(), s.at("/split/harmful/val").asInt(), s.at("/split/harmless/train").asInt(), s.at("/split/harmless/val").asInt()));
        md.append("- positions: ").append(s.get("positions")).append(" (post-instruction text ").append(s.get("post_instruction_text")).append(")\n");
        md.append("- refusal tokens: ids ").append(s.at("/refusal_tokens/ids")).append(", strings ").append(s.at("/refusal_tokens/strings")).append('\n');
        md.append(String.format(Locale.ROOT, "- filters: induce > 0, KL <= %s, layer < %.4g (= %s · L)%n", s.at("/filters/kl_max").asText(),
                filters.layerBound(), s.at("/filters/max_layer_fraction").asText()));
        md.append(String.format(Locale.ROOT, "- baseline refusal score (validation): harmful %.4f, harmless %.4f%n%n", s.at("/baseline/harmful_val_refusal").asDouble(),
                s.at("/baseline/harmless_val_refusal").asDouble()));
        md.append(chosen.map(c -> String.format(Locale.ROOT, "**Chosen: layer %d, position %d** (norm %.4g; bypass %.4f, induce %.4f, KL %.4g).%n%n",
                c.layer(), c.position(), c.norm(), c.bypass(), c.induce(), c.kl())).orElse("**No candidate passed the filters.**\n\n"));
        md.append("| layer | position | norm | bypass | induce | KL | failed |\n|---|---|---|---|---|---|---|\n");
        for (DirectionCandidate c : candidates) {
            md.append(String.format(Locale.ROOT, "| %d | %d | %.4g | %s | %s | %s | %s |%n", c.layer(), c.position(), c.norm(), cell("%.4f", c.bypass()),
                    cell("%.4f", c.induce()), cell("%.4g", c.kl()), String.join(", ", c.failed(filters))));
        }
        return md.toString();
    }

    /** A score, or — when the candidate was not scored. */
    private static String cell(String format, double v) { return Double.isNaN(v) ? "—" : String.format(Locale.ROOT, format, v); }
}
