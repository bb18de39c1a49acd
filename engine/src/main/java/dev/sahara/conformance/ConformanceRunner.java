package dev.sahara.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.AblationMode;
import dev.sahara.ablate.HeadId;
import dev.sahara.ablate.WeightSurgery;
import dev.sahara.attribution.AttributionSettings;
import dev.sahara.attribution.GreedyGroupSearch;
import dev.sahara.attribution.Progress;
import dev.sahara.attribution.QueryShips;
import dev.sahara.backend.Backend;
import dev.sahara.backend.cpu.CpuBackend;
import dev.sahara.eval.RefusalJudge;
import dev.sahara.llama.Forward;
import dev.sahara.llama.Generator;
import dev.sahara.llama.LlamaModel;
import dev.sahara.llama.Sampler;
import dev.sahara.llama.TokenBatch;
import dev.sahara.model.ChatTemplate;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.Json;
import dev.sahara.model.PromptFormat;
import dev.sahara.model.TensorData;
import dev.sahara.model.Tokenizer;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The engine as a port of the conformance kit (conformance/README.md): reads each case's case.json, computes what
 * the case asks with the engine's own code paths (the CPU backend by default) and writes RESULTS_DIR/&lt;id&gt;.json
 * in the kit's result schema. It never reads expected.json.
 *
 * <p>The protected hooks ({@link #ablation}, {@link #queryShips}, {@link #angles}) are where the tests plant
 * deliberately wrong variants, to show the kit catches them.
 */
public class ConformanceRunner implements AutoCloseable {
    /** One case folder and its case.json. */
    public record Case(Path dir, JsonNode json) {
        public String id() { return json.get("id").asText(); }

        public String kind() { return json.get("kind").asText(); }
    }

    /** The fields each kind reads (conformance/README.md, "Schema"); epsilon may be null (the mean modes). */
    static final Map<String, List<String>> REQUIRED = Map.of(
            "logits", List.of("model", "input.token_ids"),
            "ships", List.of("model", "input.prompts", "settings.mode", "settings.epsilon", "settings.kl"),
            "angles", List.of("model", "input.prompts", "settings.mode", "settings.epsilon", "settings.r_main"),
            "sahara", List.of("model", "input.prompts", "settings.mode", "settings.epsilon", "settings.r_main", "settings.group_size"),
            "generate", List.of("model", "input.token_ids", "settings.max_new_tokens", "settings.eos_token_ids"),
            "judge", List.of("input.responses", "settings.keywords"),
            "prompt", List.of("input.query", "settings.format"),
            "surgery", List.of("model", "ablation"));

    private final Path repo;
    private final Supplier<Backend> backends;
    private final Map<String, LlamaModel> models = new HashMap<>();

    /** @param repo the folder that case.json's model paths are relative to */
    public ConformanceRunner(Path repo, Supplier<Backend> backends) {
        this.repo = repo;
        this.backends = backends;
    }

    public ConformanceRunner(Path repo, int threads) { this(repo, () -> new CpuBackend(threads)); }

    /** Every case folder (one holding a case.json) under {@code casesDir}, by name. */
    public static List<Case> cases(Path casesDir) {
        if (!Files.isDirectory(casesDir)) throw SaharaException.inFile(casesDir, "not a folder");
        List<Case> out = new ArrayList<>();
        try (var s = Files.list(casesDir)) {
            for (Path d : s.sorted().toList()) {
                Path f = d.resolve("case.json");
                if (!Files.isRegularFile(f)) continue;
                JsonNode j = Json.readObject(f);
                if (!j.path("id").asText("").equals(d.getFileName().toString())) throw SaharaException.inFile(f, "id differs from the folder name");
                if (!j.hasNonNull("kind")) throw SaharaException.inFile(f, "no kind");
                out.add(new Case(d, j));
            }
        } catch (IOException e) {
            throw SaharaException.inFile(casesDir, "cannot list: " + e.getMessage());
        }
        if (out.isEmpty()) throw SaharaException.inFile(casesDir, "no case folders (each holds a case.json)");
        return out;
    }

    /** The result object of one case. */
    public ObjectNode run(Case c) {
        JsonNode j = c.json();
        ObjectNode out = Json.MAPPER.createObjectNode();
        out.put("id", c.id());
        List<String> needed = REQUIRED.get(c.kind());
        if (needed == null) throw SaharaException.inFile(c.dir().resolve("case.json"), "unknown kind '" + c.kind() + "'");
        for (String path : needed) {
            JsonNode n = j;
            for (String part : path.split("\\.")) n = n.path(part);
            if (n.isMissingNode() || (n.isNull() && !path.endsWith("epsilon"))) {
                throw SaharaException.inFile(c.dir().resolve("case.json"), "kind '" + c.kind() + "' needs the field " + path);
            }
        }
        switch (c.kind()) {
            case "logits" -> logits(j, out);
            case "ships" -> ships(j, out);
            case "angles" -> angles(j, out);
            case "sahara" -> sahara(j, out);
            case "generate" -> generate(j, out);
            case "judge" -> judge(j, out);
            case "prompt" -> prompt(c, out);
            case "surgery" -> surgery(j, out);
            default -> throw new IllegalStateException(c.kind());
        }
        return out;
    }

    LlamaModel model(JsonNode j) {
        String rel = j.get("model").asText();
        return models.computeIfAbsent(rel, r -> new LlamaModel(Checkpoint.open(repo.resolve(r)), backends.get()));
    }

    static int[] ids(JsonNode arr) {
        int[] ids = new int[arr.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = arr.get(i).asInt();
        return ids;
    }

    static List<int[]> prompts(JsonNode j) {
        List<int[]> p = new ArrayList<>();
        for (JsonNode a : j.get("input").get("prompts")) p.add(ids(a));
        return p;
    }

    /** The case's ablation ({"head", "mode", "epsilon"} entries). */
    protected Ablation ablation(JsonNode heads, LlamaModel m, boolean allowGroupedKv) {
        Ablation a = Ablation.none();
        for (JsonNode h : heads) {
            AblationMode mode = AblationMode.parse(h.get("mode").asText());
            float eps = h.path("epsilon").isNull() || h.path("epsilon").isMissingNode() ? 0f : (float) h.get("epsilon").asDouble();
            a = a.with(HeadId.parse(h.get("head").asText()), new Ablation.Spec(mode, eps));
        }
        return a.checkIn(m.config(), allowGroupedKv);
    }

    protected AttributionSettings settings(JsonNode s) {
        return new AttributionSettings(AblationMode.parse(s.get("mode").asText()), (float) s.get("epsilon").asDouble(),
                s.path("r_main").asInt(1), s.path("kl").asText("standard").equals("official"), true);
    }

    void logits(JsonNode j, ObjectNode out) {
        LlamaModel m = model(j);
        Ablation a = ablation(j.path("ablation"), m, j.path("allow_grouped_kv").asBoolean(false));
        LlamaModel.Result r = m.forward(Forward.of(TokenBatch.pack(List.of(ids(j.get("input").get("token_ids")))), a)
                .returning(new Forward.Outputs(true, false, true)));
        floats(out.putArray("last_logits"), r.lastLogits()[0]);
        floats(out.putArray("final_norm_last"), r.finalNormLast()[0]);
    }

    /** scores[prompt][layer][head]. */
    protected double[][][] queryShips(LlamaModel m, List<int[]> prompts, AttributionSettings s) {
        return QueryShips.compute(m, prompts, s, Progress.NONE);
    }

    void ships(JsonNode j, ObjectNode out) {
        LlamaModel m = model(j);
        double[][][] scores = queryShips(m, prompts(j), settings(j.get("settings")));
        ArrayNode a = out.putArray("scores");
        for (double[][] p : scores) matrix(a.addArray(), p);
    }

    /** Dataset-level Ships of every head alone: scores[layer][head], degrees. */
    protected double[][] angles(LlamaModel m, List<int[]> prompts, AttributionSettings s) {
        return new GreedyGroupSearch(m, prompts, s).scoreAll(List.of(), Progress.NONE);
    }

    void angles(JsonNode j, ObjectNode out) {
        LlamaModel m = model(j);
        matrix(out.putArray("scores"), angles(m, prompts(j), settings(j.get("settings"))));
    }

    void sahara(JsonNode j, ObjectNode out) {
        LlamaModel m = model(j);
        GreedyGroupSearch.Result r = new GreedyGroupSearch(m, prompts(j), settings(j.get("settings"))).run(j.get("settings").get("group_size").asInt(), Progress.NONE);
        ArrayNode g = out.putArray("group");
        for (HeadId h : r.group()) g.add(h.label());
        ArrayNode steps = out.putArray("step_scores");
        for (GreedyGroupSearch.Step s : r.steps()) matrix(steps.addArray(), s.scores());
    }

    void generate(JsonNode j, ObjectNode out) {
        LlamaModel m = model(j);
        JsonNode s = j.get("settings");
        if (!s.path("decoding").asText("greedy").equals("greedy")) throw new SaharaException("case " + j.get("id").asText() + ": only greedy decoding is in kit version 1");
        Ablation a = ablation(j.path("ablation"), m, j.path("allow_grouped_kv").asBoolean(false));
        int[] prompt = ids(j.get("input").get("token_ids"));
        int[] gen = new Generator(m).generate(List.of(prompt), a, s.get("max_new_tokens").asInt(), Sampler.GREEDY, ids(s.get("eos_token_ids")), null).get(0);
        ArrayNode g = out.putArray("generated_ids");
        for (int id : gen) g.add(id);
        if (j.path("fields").has("text")) {
            int[] all = Arrays.copyOf(prompt, prompt.length + gen.length);
            System.arraycopy(gen, 0, all, prompt.length, gen.length);
            try (Tokenizer tok = Tokenizer.load(repo.resolve(j.get("model").asText()))) {
                out.put("text", tok.decode(all, true));
            }
        }
    }

    void judge(JsonNode j, ObjectNode out) {
        RefusalJudge judge = RefusalJudge.named(j.get("settings").get("keywords").asText());
        ArrayNode v = out.putArray("verdicts");
        for (JsonNode r : j.get("input").get("responses")) {
            RefusalJudge.Verdict d = judge.judge(r.asText());
            ObjectNode o = v.addObject();
            o.put("refusal", d.refusal());
            o.put("reason", d.reason());
            if (d.matchedKeyword() == null) o.putNull("matched_keyword");
            else o.put("matched_keyword", d.matchedKeyword());
        }
    }

    void prompt(Case c, ObjectNode out) {
        JsonNode j = c.json(), in = j.get("input"), s = j.get("settings");
        String query = in.get("query").asText();
        String system = in.path("system").isTextual() ? in.get("system").asText() : null;
        PromptFormat f = PromptFormat.parse(s.get("format").asText());
        String text;
        if (f == PromptFormat.CHAT) {
            Path file = c.dir().resolve(s.get("chat_template").asText());
            String src;
            try {
                src = Files.readString(file, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw SaharaException.inFile(file, "cannot read: " + e.getMessage());
            }
            List<ChatTemplate.Message> msgs = new ArrayList<>();
            if (system != null) msgs.add(new ChatTemplate.Message("system", system));
            msgs.add(new ChatTemplate.Message("user", query));
            text = new ChatTemplate(src, file).render(msgs, true, s.path("bos_token").isTextual() ? s.get("bos_token").asText() : null,
                    s.path("eos_token").isTextual() ? s.get("eos_token").asText() : null);
        } else {
            text = f.render(query, system, null);
        }
        out.put("text", text);
        if (j.hasNonNull("model")) {
            try (Tokenizer tok = Tokenizer.load(repo.resolve(j.get("model").asText()))) {
                ArrayNode ids = out.putArray("token_ids");
                for (int id : f.encode(query, system, tok)) ids.add(id);
            }
        }
    }

    /**
     * The surgery command's edits: per edited tensor (in {@link WeightSurgery#plan} order) and per edited head slice,
     * the slice's values as stored after the edit (decoded to float32).
     */
    void surgery(JsonNode j, ObjectNode out) {
        try (Checkpoint ck = Checkpoint.open(repo.resolve(j.get("model").asText())); Arena arena = Arena.ofConfined()) {
            Ablation a = Ablation.none();
            for (JsonNode h : j.path("ablation")) {
                a = a.with(HeadId.parse(h.get("head").asText()), new Ablation.Spec(AblationMode.parse(h.get("mode").asText()), (float) h.get("epsilon").asDouble()));
            }
            a.checkIn(ck.config(), j.path("allow_grouped_kv").asBoolean(false));
            ArrayNode slices = out.putArray("slices");
            for (WeightSurgery.Edit e : WeightSurgery.plan(ck.config(), a, ck.config().attentionBias()).values()) {
                TensorData t = ck.tensors().get(e.tensor());
                TensorData edited = new TensorData(t.name(), t.dtype(), t.shape(), WeightSurgery.apply(t, e, arena).data(), t.file());
                boolean vector = t.shape().length == 1;
                int rows = t.rows(), cols = t.cols(), hd = e.headDim();
                for (int u = 0; u < e.scale().length; u++) {
                    if (e.scale()[u] == 1f) continue;
                    ObjectNode o = slices.addObject();
                    o.put("tensor", e.tensor());
                    o.put("axis", vector ? "elements" : e.axis() == WeightSurgery.Axis.ROWS ? "rows" : "columns");
                    o.put("head_slice", u);
                    ArrayNode v = o.putArray("values");
                    if (vector) {
                        for (int i = u * hd; i < (u + 1) * hd; i++) v.add(edited.get(i));
                    } else if (e.axis() == WeightSurgery.Axis.ROWS) {
                        for (int r = u * hd; r < (u + 1) * hd; r++) {
                            ArrayNode row = v.addArray();
                            for (int c = 0; c < cols; c++) row.add(edited.get((long) r * cols + c));
                        }
                    } else {
                        for (int r = 0; r < rows; r++) {
                            ArrayNode row = v.addArray();
                            for (int c = u * hd; c < (u + 1) * hd; c++) row.add(edited.get((long) r * cols + c));
                        }
                    }
                }
            }
        }
    }

    static void floats(ArrayNode a, float[] v) {
        for (float f : v) a.add(f);
    }

    /** A [layer][head] table; NaN (a head already in the group) is written as null. */
    static void matrix(ArrayNode a, double[][] m) {
        for (double[] row : m) {
            ArrayNode r = a.addArray();
            for (double v : row) {
                if (Double.isNaN(v)) r.addNull();
                else r.add(v);
            }
        }
    }

    @Override
    public void close() {
        for (LlamaModel m : models.values()) m.close();
        models.clear();
    }
}
