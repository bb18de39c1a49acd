package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.AblationMode;
import dev.sahara.ablate.Epsilon;
import dev.sahara.ablate.HeadId;
import dev.sahara.attribution.AttributionSettings;
import dev.sahara.attribution.QueryShips;
import dev.sahara.cli.options.NoDirectionOptions;
import dev.sahara.cli.options.AblationOptions;
import dev.sahara.cli.options.AsrOptions;
import dev.sahara.cli.options.CandidateOptions;
import dev.sahara.cli.options.NumberLists;
import dev.sahara.cli.options.OutputOptions;
import dev.sahara.cli.options.ResponsePrefix;
import dev.sahara.cli.options.Workload;
import dev.sahara.cli.options.WorkloadOptions;
import dev.sahara.eval.PerPromptAsr;
import dev.sahara.llama.Sampler;
import dev.sahara.report.AsrReport;
import dev.sahara.report.ResultFiles;
import dev.sahara.report.ScoreTables;
import dev.sahara.report.ShipsReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code ships-asr}: query-specific ablation (paper Fig. 2, Table 3 bottom). For each prompt, query-level Ships
 * ranks every head; the prompt's own top-k heads are ablated while generating its response; ASR for each k.
 */
@Command(name = "ships-asr", description = "Query-specific ablation: for each prompt ablate its own top-k query-level Ships heads, generate, judge; ASR for each k.")
public final class ShipsAsrCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    WorkloadOptions workload;
    @Mixin
    NoDirectionOptions noDirection;
    @Mixin
    AsrOptions asr;

    @Option(names = "--k", paramLabel = "LIST", defaultValue = "0-5",
            description = "Numbers of top heads to ablate per prompt (0 = no ablation, the baseline). Default: ${DEFAULT-VALUE}.")
    String ks;

    // Its own ablation options, not CandidateOptions and AblationOptions: picocli cannot rename a mixin's options, and
    // scripts use --ships-ablation/--ships-epsilon; the evaluation side has no --ablate (each prompt's own top-k heads
    // are ablated) and its mode defaults to the scoring mode. The checks and defaults are the mixins'.
    @Option(names = "--ships-ablation", paramLabel = "MODE", defaultValue = "undiff-q", description = "Ablation used to score heads (Ships). Default: ${DEFAULT-VALUE}.")
    String shipsMode;

    @Option(names = "--ships-epsilon", paramLabel = "E", defaultValue = Epsilon.CANDIDATE_TEXT, description = "ε when scoring heads. Default: ${DEFAULT-VALUE}.")
    float shipsEpsilon;

    @Option(names = "--official-kl", description = "KL as the official code computes it (+1e-12, no renormalisation).")
    boolean officialKl;

    @Option(names = "--ablation", paramLabel = "MODE", description = "Ablation applied while generating. Default: the --ships-ablation mode.")
    String evalMode;

    @Option(names = "--epsilon", paramLabel = "E", defaultValue = Epsilon.EVALUATION_TEXT, description = "ε while generating. Default: ${DEFAULT-VALUE}.")
    float evalEpsilon;

    @Option(names = "--allow-grouped-kv", description = "Allow undiff-k / mean-k under GQA.")
    boolean allowGroupedKv;

    @Option(names = "--response-prefix", paramLabel = "TEXT", description = "Force the response to start with TEXT (course correction, e.g. \"Sure, here is\").")
    String responsePrefix;

    @Mixin
    OutputOptions output = new OutputOptions("ships_asr.json, responses_k{K}_{decoding}.jsonl", "Print ships_asr.json to stdout instead of the summary.");

    @Override
    public Integer call() {
        asr.check();
        List<Integer> kList = NumberLists.parse("--k", ks);
        AblationMode sm = AblationMode.parse(shipsMode);
        AblationMode em = evalMode == null ? sm : AblationMode.parse(evalMode);
        AblationOptions.checkEpsilon("--ships-epsilon", shipsEpsilon);
        AblationOptions.checkEpsilon("--epsilon", evalEpsilon);
        AsrOptions.Settings asrSettings = asr.settings();
        List<Sampler> samplers = asr.sampling.samplers();
        Path out = output.claim();
        try (Workload w = workload.load()) {
            var c = w.model().config();
            int maxK = kList.getLast();
            if (maxK > c.numLayers() * c.numHeads()) throw new SaharaException("--k: " + maxK + " is more than the model's " + c.numLayers() * c.numHeads() + " heads");
            AblationOptions.checkModeIn(c, sm, shipsEpsilon, allowGroupedKv);
            AblationOptions.checkModeIn(c, em, evalEpsilon, allowGroupedKv);
            ResponsePrefix prefix = ResponsePrefix.encode(responsePrefix, w.tokenizer());
            asrSettings.checkFits(w, prefix.ids().length);
            long t0 = System.nanoTime();
            double[][][] scores = QueryShips.compute(w.model(), w.encoded(), AttributionSettings.queryLevel(sm, shipsEpsilon, officialKl), StderrProgress.of(spec, "ships"));
            double shipsSeconds = (System.nanoTime() - t0) / 1e9;
            List<List<HeadId>> top = new ArrayList<>();
            for (double[][] s : scores) top.add(ScoreTables.topHeads(s, maxK));

            ObjectNode o = w.header().json("ships-asr");
            ObjectNode so = o.putObject("ships");
            so.put("mode", sm.label);
            so.put("epsilon", shipsEpsilon);
            ShipsReport.describeScore(so, officialKl);
            so.put("ranking", "per prompt, heads by descending KL; ties to the lower (layer, head)");
            ObjectNode eo = o.putObject("eval_ablation");
            eo.put("mode", em.label);
            eo.put("epsilon", evalEpsilon);
            o.setAll(asrSettings.describe(samplers));
            prefix.describe(o);
            ArrayNode ko = o.putArray("ks");
            kList.forEach(ko::add);

            ArrayNode results = o.putArray("results");
            StringBuilder summary = new StringBuilder("ASR by k (own top-k heads per prompt, " + em.label + " ε=" + evalEpsilon + "):\n");
            summary.append("k  " + String.join("  ", samplers.stream().map(AsrReport::shortName).toList()) + "\n");
            double[][] asrTable = new double[kList.size()][samplers.size()];
            for (int ki = 0; ki < kList.size(); ki++) {
                int k = kList.get(ki);
                List<Ablation> per = new ArrayList<>();
                for (List<HeadId> t : top) per.add(Ablation.of(t.subList(0, Math.min(k, t.size())), new Ablation.Spec(em, evalEpsilon)).checkIn(c, allowGroupedKv));
                for (int si = 0; si < samplers.size(); si++) {
                    Sampler s = samplers.get(si);
                    PerPromptAsr.Result r = asrSettings.runPerPrompt(w, per, prefix, s, StderrProgress.of(spec, "k=" + k + " " + AsrReport.shortName(s)));
                    AsrReport.writeResponses(out, "k" + k, s, r, results.addObject().put("k", k));
                    asrTable[ki][si] = r.asr();
                }
                summary.append(k);
                for (double v : asrTable[ki]) summary.append(String.format(Locale.ROOT, "  %.3f", v));
                summary.append('\n');
            }
            ArrayNode prompts = o.putArray("prompts");
            for (int p = 0; p < scores.length; p++) {
                ObjectNode po = prompts.addObject();
                po.put("prompt", w.dataset().prompts().get(p));
                ArrayNode th = po.putArray("top_heads");
                for (HeadId h : top.get(p)) th.add(h.label());
                ArrayNode ts = po.putArray("top_scores");
                for (HeadId h : top.get(p)) ts.add(scores[p][h.layer()][h.head()]);
            }
            ResultFiles.writeJson(out.resolve("ships_asr.json"), o);
            ObjectNode timings = RunRecord.simpleTimings("ships-asr", w, (System.nanoTime() - t0) / 1e9);
            ((ObjectNode) timings.get("timings_seconds")).put("ships", shipsSeconds);
            ResultFiles.writeJson(out.resolve("timings.json"), timings);
            output.print(o, summary.toString());
        }
        return 0;
    }
}
