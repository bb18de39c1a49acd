package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.ablate.HeadId;
import dev.sahara.cli.options.DatasetOptions;
import dev.sahara.cli.options.ModelOptions;
import dev.sahara.cli.options.OutputOptions;
import dev.sahara.cli.options.PlotOptions;
import dev.sahara.cli.options.PromptOptions;
import dev.sahara.cli.options.Workload;
import dev.sahara.data.Dataset;
import dev.sahara.data.Datasets;
import dev.sahara.direction.DirectionCandidate;
import dev.sahara.direction.DirectionSearch;
import dev.sahara.direction.DirectionSplit;
import dev.sahara.direction.PostInstructionPositions;
import dev.sahara.direction.RefusalTokens;
import dev.sahara.llama.ContextLimit;
import dev.sahara.model.Json;
import dev.sahara.model.PromptFormat;
import dev.sahara.report.Heatmap;
import dev.sahara.report.ResultFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * {@code direction}: the refusal direction of Arditi et al. (NeurIPS 2024) — the difference of mean residuals between
 * harmful and harmless prompts at every layer and post-instruction position, the candidate chosen by its scores on
 * held-out prompts (docs/ANALYSES.md, "The refusal direction").
 */
@Command(name = "direction", description = "The refusal direction (Arditi et al. 2024): difference of mean residuals, harmful − harmless, "
        + "at every layer and post-instruction position; one candidate chosen by directional ablation and activation addition on held-out prompts.")
public final class DirectionCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    ModelOptions model;
    @Mixin
    PromptOptions prompt;

    @Option(names = "--harmful", paramLabel = "D", defaultValue = "builtin:maliciousinstruct", description = "Harmful prompts (a dataset as --dataset takes). Default: ${DEFAULT-VALUE}.")
    String harmful;

    @Option(names = "--harmless", paramLabel = "D", defaultValue = "builtin:harmless", description = "Harmless prompts. Default: ${DEFAULT-VALUE}.")
    String harmless;

    @Option(names = "--train", paramLabel = "N", description = "Prompts of each set the means are taken over. Default: min(128, size − val).")
    Integer train;

    @Option(names = "--val", paramLabel = "N", description = "Held-out prompts of each set the candidates are scored on. Default: min(32, size/5), at least 1.")
    Integer val;

    @Option(names = "--split-seed", paramLabel = "S", defaultValue = "0", description = "Seed of the shuffle that splits each set. Default: ${DEFAULT-VALUE}.")
    long splitSeed;

    @Option(names = "--kl-max", paramLabel = "X", defaultValue = "0.1", description = "Largest KL(base ‖ ablated) on harmless prompts a candidate may cause. Default: ${DEFAULT-VALUE}.")
    double klMax;

    @Option(names = "--max-layer-fraction", paramLabel = "F", defaultValue = "0.8", description = "Only layers l < F·L are candidates. Default: ${DEFAULT-VALUE}.")
    double maxLayerFraction;

    @Option(names = "--refusal-tokens", paramLabel = "LIST", description = "Refusal tokens: words (each gives its first token) or token ids, comma-separated. Default: I,As.")
    String refusalTokens;

    @Mixin
    PlotOptions plot;

    @Mixin
    OutputOptions output = new OutputOptions("direction.json, candidates.csv, heatmap.png, report.md", "Print direction.json to stdout instead of the summary.");

    @Override
    public Integer call() {
        if (!(klMax >= 0)) throw new SaharaException("--kl-max must be a number >= 0, got " + klMax);
        if (!(maxLayerFraction > 0 && maxLayerFraction <= 1)) throw new SaharaException("--max-layer-fraction must be in (0, 1], got " + maxLayerFraction);
        Path out = output.claim();
        Dataset harmlessData = Datasets.load(harmless, null, 0);   // before the model loads: a bad set fails fast
        DirectionSplit harmlessSplit = DirectionSplit.of("--harmless " + harmless, harmlessData.size(), train, val, splitSeed);
        DatasetOptions harmfulSet = new DatasetOptions();
        harmfulSet.dataset = harmful;
        try (Workload w = Workload.load(model, harmfulSet, prompt, PromptFormat.TEMPLATE)) {
            long t0 = System.nanoTime();
            List<int[]> harmlessIds = new ArrayList<>();
            for (String q : harmlessData.prompts()) {
                harmlessIds.add(prompt.encode(PromptFormat.TEMPLATE, q, w.tokenizer()));
                ContextLimit.checkPrompt(w.model().config(), harmlessData.name(), harmlessIds.size() - 1, harmlessIds.getLast().length);
            }
            DirectionSplit harmfulSplit = DirectionSplit.of("--harmful " + harmful, w.encoded().size(), train, val, splitSeed);
            DirectionSearch.Prompts p = new DirectionSearch.Prompts(DirectionSplit.pick(w.encoded(), harmfulSplit.train()),
                    DirectionSplit.pick(harmlessIds, harmlessSplit.train()), DirectionSplit.pick(w.encoded(), harmfulSplit.validation()),
                    DirectionSplit.pick(harmlessIds, harmlessSplit.validation()));
            List<int[]> all = new ArrayList<>(w.encoded());
            all.addAll(harmlessIds);
            int positions = PostInstructionPositions.count(w.format(), w.system(), w.tokenizer(), all);
            RefusalTokens tokens = RefusalTokens.of(refusalTokens, w.tokenizer());
            DirectionCandidate.Filters filters = new DirectionCandidate.Filters(klMax, maxLayerFraction, w.model().config().numLayers());

            float[][][] diffs = DirectionSearch.meanDifferences(w.model(), p.harmfulTrain(), p.harmlessTrain(), positions);
            DirectionSearch.Scores scores = DirectionSearch.score(w.model(), diffs, p, tokens, StderrProgress.of(spec, "direction"));
            DirectionSearch.Baseline baseline = scores.baseline();
            List<DirectionCandidate> candidates = scores.candidates();
            Optional<DirectionCandidate> chosen = DirectionCandidate.choose(candidates, filters);

            ObjectNode o = w.header().json("direction");
            ObjectNode hl = o.putObject("harmless_dataset");
            hl.put("name", harmlessData.name());
            hl.put("source", harmlessData.source());
            hl.put("size", harmlessData.size());
            o.set("search", describe(w, harmfulSplit, harmlessSplit, positions, tokens, filters, baseline));
            ArrayNode cs = o.putArray("candidates");
            for (DirectionCandidate c : candidates) {
                ObjectNode n = cs.addObject();
                n.put("layer", c.layer());
                n.put("position", c.position());
                n.put("norm", c.norm());
                putScores(n, c);
                ArrayNode failed = n.putArray("failed");
                c.failed(filters).forEach(failed::add);
            }
            chosen.ifPresentOrElse(c -> {
                ObjectNode d = o.putObject("direction");
                d.put("layer", c.layer());
                d.put("position", c.position());
                ArrayNode v = d.putArray("vector");
                for (float f : c.vector()) v.add(f);
                d.put("norm", c.norm());
                putScores(d, c);
            }, () -> o.putNull("direction"));

            ResultFiles.writeJson(out.resolve("timings.json"), RunRecord.simpleTimings("direction", w, (System.nanoTime() - t0) / 1e9));
            ResultFiles.writeString(out.resolve("candidates.csv"), csv(candidates, filters));
            Heatmap.write(out.resolve("heatmap.png"), "Refusal-score drop, candidate ablated; columns: positions −" + positions + "…−1",
                    drops(candidates, baseline, positions, filters.layers()),
                    chosen.map(c -> Set.of(new HeadId(c.layer(), c.position() + positions))).orElse(Set.of()));
            ResultFiles.writeString(out.resolve("report.md"), DirectionReport.markdown(o, candidates, filters, chosen));
            ResultFiles.writeJson(out.resolve("direction.json"), o);
            long passed = candidates.stream().filter(c -> c.failed(filters).isEmpty()).count();
            if (chosen.isEmpty()) {
                throw new SaharaException(String.format(Locale.ROOT, "no candidate passed the filters (induce > 0, KL <= %s, layer < %.4g) among %d; "
                        + "every candidate's scores are in %s", klMax, filters.layerBound(), candidates.size(), out.resolve("direction.json")));
            }
            DirectionCandidate c = chosen.get();
            output.print(o, String.format(Locale.ROOT, "direction: layer %d, position %d (bypass %.4g, induce %.4g, KL %.4g; %d of %d candidates passed)%n",
                    c.layer(), c.position(), c.bypass(), c.induce(), c.kl(), passed, candidates.size()));
        }
        return 0;
    }

    private ObjectNode describe(Workload w, DirectionSplit harmfulSplit, DirectionSplit harmlessSplit, int positions, RefusalTokens tokens,
                                DirectionCandidate.Filters filters, DirectionSearch.Baseline baseline) {
        ObjectNode s = Json.MAPPER.createObjectNode();
        ObjectNode split = s.putObject("split");
        split.put("rule", "Collections.shuffle(0..n-1, new java.util.Random(seed)): the first val are validation, the next train, each in dataset order");
        split.put("seed", splitSeed);
        splitOf(split.putObject("harmful"), harmfulSplit);
        splitOf(split.putObject("harmless"), harmlessSplit);
        ArrayNode pos = s.putArray("positions");
        for (int j = -positions; j < 0; j++) pos.add(j);
        s.put("post_instruction_text", PostInstructionPositions.text(w.format(), w.system(), w.tokenizer()));
        ObjectNode rt = s.putObject("refusal_tokens");
        ArrayNode ids = rt.putArray("ids"), strings = rt.putArray("strings"), skipped = rt.putArray("skipped");
        tokens.ids().forEach(ids::add);
        tokens.strings().forEach(strings::add);
        tokens.skipped().forEach(skipped::add);
        rt.put("from", refusalTokens == null ? "default: the first token of each of I, As" : "--refusal-tokens " + refusalTokens);
        s.put("refusal_score", "log p - log(1 - p) at the last prompt position, p = the refusal tokens' total probability");
        s.put("bypass", "mean refusal score of the harmful validation prompts, the candidate's unit direction projected out of every residual write");
        s.put("induce", "mean refusal score of the harmless validation prompts, the raw candidate (coefficient 1) added at its layer's input, every position");
        s.put("kl", "mean KL(p_base || p_ablated) at the last position of the harmless validation prompts, natural log");
        ObjectNode f = s.putObject("filters");
        f.put("induce_above", 0.0);
        f.put("kl_max", klMax);
        f.put("max_layer_fraction", maxLayerFraction);
        f.put("layer_below", filters.layerBound());
        s.put("selection", "the lowest bypass among the candidates passing every filter; ties: the lower layer, then the later position");
        ObjectNode b = s.putObject("baseline");
        b.put("harmful_val_refusal", baseline.harmfulRefusal());
        b.put("harmless_val_refusal", baseline.harmlessRefusal());
        return s;
    }

    private static void splitOf(ObjectNode o, DirectionSplit s) {
        o.put("train", s.train().size());
        o.put("val", s.validation().size());
        ArrayNode v = o.putArray("val_indices"), t = o.putArray("train_indices");
        s.validation().forEach(v::add);
        s.train().forEach(t::add);
    }

    /** bypass, induce, kl; null for a candidate that could not be scored (a zero difference of means). */
    static void putScores(ObjectNode n, DirectionCandidate c) {
        for (var e : List.of(java.util.Map.entry("bypass", c.bypass()), java.util.Map.entry("induce", c.induce()), java.util.Map.entry("kl", c.kl()))) {
            if (Double.isNaN(e.getValue())) n.putNull(e.getKey());
            else n.put(e.getKey(), e.getValue());
        }
    }

    private static String csv(List<DirectionCandidate> candidates, DirectionCandidate.Filters filters) {
        StringBuilder sb = new StringBuilder("layer,position,norm,bypass,induce,kl,failed\n");
        for (DirectionCandidate c : candidates) {
            sb.append(String.format(Locale.ROOT, "%d,%d,%.9g,%s,%s,%s,%s%n", c.layer(), c.position(), c.norm(), num(c.bypass()), num(c.induce()), num(c.kl()),
                    String.join(";", c.failed(filters))));
        }
        return sb.toString();
    }

    private static String num(double d) { return Double.isNaN(d) ? "" : String.format(Locale.ROOT, "%.9g", d); }

    /** [layer][column]: baseline − bypass (how much ablating the candidate lowers refusal), column j = position j − positions. */
    private static double[][] drops(List<DirectionCandidate> candidates, DirectionSearch.Baseline baseline, int positions, int layers) {
        double[][] t = new double[layers][positions];
        for (DirectionCandidate c : candidates) t[c.layer()][c.position() + positions] = baseline.harmfulRefusal() - c.bypass();
        return t;
    }
}
