package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.AblationMode;
import dev.sahara.ablate.HeadId;
import dev.sahara.ablate.ResidualDirection;
import dev.sahara.ablate.WeightSurgery;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.Json;
import dev.sahara.model.SafeTensorsWriter;
import dev.sahara.model.TensorData;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * {@code surgery --model M --ablate HEADS --ablation MODE --epsilon E --out DIR}: writes a Hugging Face checkpoint
 * with the ablation baked into the weights (see {@link WeightSurgery}), loadable by this engine and by transformers.
 *
 * <p>DIR gets config.json, generation_config.json and the tokenizer files copied byte for byte; the weights in the
 * input's layout (model.safetensors, or the same shard files plus a copy of model.safetensors.index.json when the
 * input is sharded), each file's tensors in the input's order and dtype, every tensor byte-identical except the
 * edited slices; and sahara_surgery.json saying what was done. Default ε: {@link AblationOptions#EVAL_EPSILON}.
 *
 * <p>{@code surgery --model M --direction FILE --out DIR} instead bakes directional ablation in (SPEC.md, "Refusal
 * direction"): embed_tokens, every o_proj and down_proj (and o_proj's bias, if any) orthogonalised against the
 * direction, the LM head untouched — so a model with tied embeddings is written untied: lm_head.weight is the original
 * embedding, placed after embed_tokens in its file (and in the index when sharded), and config.json says
 * tie_word_embeddings false. Heads and a direction are two runs (the second on the first's output).
 */
@Command(name = "surgery", description = "Write a Hugging Face checkpoint with head ablations baked into the weights "
        + "(undiff-q: W_q rows; undiff-k: W_k rows; scale-v: o_proj columns; default epsilon 1e-10), or with a refusal "
        + "direction projected out of every matrix that writes to the residual stream (--direction).")
public final class SurgeryCommand implements Callable<Integer> {
    /** Files copied unchanged when present (config, generation settings, every tokenizer format transformers reads). */
    static final List<String> COPIED = List.of("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "tokenizer.model", "added_tokens.json", "vocab.json", "merges.txt", "chat_template.jinja", "chat_template.json");
    static final String INDEX = "model.safetensors.index.json";
    public static final String RECORD = "sahara_surgery.json";

    @Spec
    CommandSpec spec;
    @Mixin
    ModelOptions model;
    @Mixin
    AblationOptions ablation;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder for the edited checkpoint (created; must be empty unless --force).")
    Path out;

    @Option(names = "--force", description = "Write into an existing non-empty --out, replacing its checkpoint files.")
    boolean force;

    @Option(names = "--direction", paramLabel = "FILE", description = "Bake directional ablation of the direction of FILE (a direction.json) "
            + "into the weights: embed_tokens, every o_proj and down_proj orthogonalised against it, lm_head untouched (a tied model is written untied).")
    Path direction;

    /** How one tensor is rewritten: its new bytes (allocated in arena), what was done recorded into {@code record}. */
    private interface TensorEdit {
        MemorySegment apply(TensorData t, Arena arena, ObjectNode record, PrintWriter err);
    }

    /** The embedding's name, and the name of the LM head a tied model gets written as a copy of it. */
    static final String EMBED = "model.embed_tokens.weight", LM_HEAD = "lm_head.weight";

    @Override
    public Integer call() throws IOException {
        if (ablation.ablateDirection != null || ablation.addDirection != null) {
            throw new SaharaException("surgery bakes a direction in with --direction FILE (directional ablation); --ablate-direction and "
                    + "--add-direction are run-time options (an added direction is a constant no bias-free Llama weight can hold)");
        }
        boolean byHeads = ablation.heads != null && !ablation.heads.isBlank();
        if (!byHeads && direction == null) throw new SaharaException("surgery needs --ablate HEADS (e.g. --ablate L1H2) or --direction FILE");
        if (byHeads && direction != null) {
            throw new SaharaException("surgery bakes in either heads (--ablate) or a direction (--direction), one per run: run it twice, the second on the first's --out");
        }
        AblationMode mode = ablation.mode();
        if (byHeads && !mode.usesEpsilon()) {
            throw new SaharaException("--ablation " + mode + " cannot be baked into the weights: it replaces activations by their mean over "
                    + "heads at each position, which no weight edit reproduces; use undiff-q, undiff-k or scale-v, or apply " + mode
                    + " at run time (logits/generate --ablate)");
        }
        Path src = model.modelDir();
        try (Checkpoint ck = Checkpoint.open(src)) {
            Ablation a = byHeads ? ablation.ablation(ck.config(), AblationOptions.EVAL_EPSILON)
                    : Ablation.none().withDirectionAblated(ResidualDirection.read(direction)).checkIn(ck.config(), false);
            Map<String, TensorEdit> edits = new LinkedHashMap<>();
            if (byHeads) WeightSurgery.plan(ck.config(), a, ck.config().attentionBias()).forEach((name, e) -> edits.put(name, headEdit(e)));
            else WeightSurgery.directionPlan(ck.config()).forEach((name, axis) -> edits.put(name, directionEdit(axis, a.directionAblated().unit())));
            for (String name : edits.keySet()) {
                if (!ck.has(name)) throw SaharaException.inFile(src, "missing tensor " + name + ", which the surgery must edit");
            }
            // the LM head must keep reading the original embedding: a tied model is written untied
            boolean untie = !byHeads && ck.config().tieWordEmbeddings();
            Path dir = prepareOut(src);

            // the input's files, each with its tensors in file order (order of their bytes)
            Map<Path, List<TensorData>> byFile = new LinkedHashMap<>();
            for (TensorData t : ck.tensors().values()) byFile.computeIfAbsent(t.file(), f -> new ArrayList<>()).add(t);
            boolean sharded = !Files.isRegularFile(src.resolve("model.safetensors"));
            Set<String> written = new java.util.HashSet<>();
            ObjectNode edited = Json.MAPPER.createObjectNode();
            PrintWriter err = spec.commandLine().getErr();
            String embedFile = null;
            for (Map.Entry<Path, List<TensorData>> f : byFile.entrySet()) {
                String name = sharded ? f.getKey().getFileName().toString() : "model.safetensors";
                if (writeWeights(dir.resolve(name), f.getValue(), edits, untie, edited, err)) embedFile = name;
                written.add(name);
            }
            String lmHeadFile = embedFile;
            if (sharded && untie) writeJson(src.resolve(INDEX), dir.resolve(INDEX), written, o -> ((ObjectNode) o.get("weight_map")).put(LM_HEAD, lmHeadFile));
            else if (sharded) copy(src.resolve(INDEX), dir.resolve(INDEX), written);
            for (String f : COPIED) {
                if (!Files.isRegularFile(src.resolve(f))) continue;
                if (untie && f.equals("config.json")) writeJson(src.resolve(f), dir.resolve(f), written, o -> o.put("tie_word_embeddings", false));
                else copy(src.resolve(f), dir.resolve(f), written);
            }
            removeStaleWeights(dir, written);
            writeRecord(dir.resolve(RECORD), src, a, mode, edited, untie);
            PrintWriter out = spec.commandLine().getOut();
            if (byHeads) {
                out.println("wrote " + dir + ": " + a + " baked into " + edited.size() + " tensor(s) (" + String.join(", ", edits.keySet())
                        + "); other tensors byte-identical");
            } else {
                out.println("wrote " + dir + ": the direction of " + direction + " projected out of " + edited.size()
                        + " tensor(s) (embed_tokens, every o_proj and down_proj); lm_head untouched; other tensors byte-identical");
                if (untie) out.println("note: the input ties lm_head to embed_tokens; the output is untied: lm_head.weight is the original embedding "
                        + "and config.json has tie_word_embeddings false");
            }
        }
        return 0;
    }

    /** A head ablation's edit of one tensor (scaled slices), recorded slice by slice. */
    private static TensorEdit headEdit(WeightSurgery.Edit e) {
        return (t, arena, o, err) -> {
            WeightSurgery.Result r = WeightSurgery.apply(t, e, arena);
            o.put("dtype", t.dtype().name());
            o.put("axis", e.axis() == WeightSurgery.Axis.ROWS ? "rows" : "columns");
            ArrayNode slices = o.putArray("slices");
            for (int u = 0; u < e.scale().length; u++) {
                if (e.scale()[u] == 1f) continue;
                slices.addObject().put("begin", u * e.headDim()).put("end", (u + 1) * e.headDim()).put("scale", e.scale()[u]);
            }
            o.put("values_scaled", r.scaled());
            noteUnderflow(t, r, o, err, "scaled", "the scale is below what " + t.dtype() + " can hold");
            return r.data();
        };
    }

    /** Directional ablation's edit of one tensor: its rows or columns orthogonalised against the unit direction. */
    private static TensorEdit directionEdit(WeightSurgery.Axis axis, float[] unit) {
        return (t, arena, o, err) -> {
            WeightSurgery.Result r = WeightSurgery.orthogonalize(t, axis, unit, arena);
            o.put("dtype", t.dtype().name());
            o.put("orthogonalized", axis == WeightSurgery.Axis.ROWS ? "rows" : "columns");
            o.put("values_rewritten", r.scaled());
            noteUnderflow(t, r, o, err, "rewritten", "their component off the direction is below what " + t.dtype() + " can hold");
            return r.data();
        };
    }

    private static void noteUnderflow(TensorData t, WeightSurgery.Result r, ObjectNode o, PrintWriter err, String what, String why) {
        o.put("nonzero_values_rounded_to_zero", r.underflowed());
        if (r.underflowed() > 0) err.println("note: " + t.name() + ": " + r.underflowed() + " of " + r.scaled() + " " + what + " " + t.dtype() + " values rounded to 0 (" + why + ")");
    }

    /**
     * One weights file: the tensors in the input file's order, edited ones replaced by their edited copies (off the heap,
     * freed after); with {@code untie}, lm_head.weight (the embedding's original bytes) right after embed_tokens.
     * Returns whether the file holds embed_tokens.
     */
    private static boolean writeWeights(Path file, List<TensorData> tensors, Map<String, TensorEdit> edits, boolean untie, ObjectNode edited, PrintWriter err) {
        List<TensorData> ts = new ArrayList<>(tensors);
        ts.sort(Comparator.comparingLong(t -> t.data().address()));
        boolean hasEmbed = false;
        try (Arena arena = Arena.ofConfined()) {
            List<SafeTensorsWriter.Entry> entries = new ArrayList<>();
            for (TensorData t : ts) {
                if (untie && t.name().equals(LM_HEAD)) continue;   // a tied checkpoint's stored lm_head (ignored by a tied model): replaced below
                TensorEdit e = edits.get(t.name());
                entries.add(e == null ? SafeTensorsWriter.Entry.of(t)
                        : new SafeTensorsWriter.Entry(t.name(), t.dtype(), t.shape(), e.apply(t, arena, edited.putObject(t.name()), err)));
                if (t.name().equals(EMBED)) {
                    hasEmbed = true;
                    if (untie) entries.add(new SafeTensorsWriter.Entry(LM_HEAD, t.dtype(), t.shape(), t.data()));
                }
            }
            SafeTensorsWriter.write(file, entries, SafeTensorsWriter.ptMetadata());
        }
        return hasEmbed;
    }

    /** A JSON file of the input, changed by {@code change}, written to {@code to} (config.json, the shard index when untying). */
    private static void writeJson(Path from, Path to, Set<String> written, java.util.function.Consumer<ObjectNode> change) {
        ObjectNode o = (ObjectNode) Json.readObject(from);
        change.accept(o);
        try {
            Json.MAPPER.writerWithDefaultPrettyPrinter().writeValue(to.toFile(), o);
        } catch (IOException e) {
            throw SaharaException.inFile(to, "cannot write: " + e.getMessage());
        }
        written.add(to.getFileName().toString());
    }

    /** Creates --out, or checks an existing one may be written. Returns its absolute path. */
    private Path prepareOut(Path src) throws IOException {
        Path dir = out.toAbsolutePath().normalize();
        if (Files.exists(dir)) {
            if (!Files.isDirectory(dir)) throw SaharaException.inFile(dir, "--out exists and is not a folder");
            if (Files.isSameFile(dir, src)) throw SaharaException.inFile(dir, "--out is the input model folder; choose another folder");
            boolean empty;
            try (var s = Files.list(dir)) {
                empty = s.findAny().isEmpty();
            }
            if (!empty && !force) throw SaharaException.inFile(dir, "--out exists and is not empty (pass --force to replace the checkpoint files in it)");
        } else {
            try {
                Files.createDirectories(dir);
            } catch (IOException e) {
                throw SaharaException.inFile(dir, "cannot create --out: " + e.getMessage());
            }
        }
        return dir;
    }

    private static void copy(Path from, Path to, Set<String> written) {
        try {
            Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw SaharaException.inFile(to, "cannot write: " + e.getMessage());
        }
        written.add(to.getFileName().toString());
    }

    /** Under --force: weight files of an earlier checkpoint in DIR that this one does not have would make DIR inconsistent. */
    private static void removeStaleWeights(Path dir, Set<String> written) throws IOException {
        try (var s = Files.list(dir)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if ((n.endsWith(".safetensors") || n.equals(INDEX)) && !written.contains(n) && Files.isRegularFile(p)) Files.delete(p);
            }
        }
    }

    private void writeRecord(Path file, Path src, Ablation a, AblationMode mode, ObjectNode edited, boolean untied) throws IOException {
        ObjectNode r = Json.MAPPER.createObjectNode();
        r.put("tool", "sahara surgery");
        r.put("engine_version", EngineVersion.version());
        r.put("git_commit", EngineVersion.gitCommit());
        r.put("source_hash", EngineVersion.sourceHash());
        r.put("source_model", model.model);
        // a builtin model is unpacked into a temporary folder that is gone after the run: its name is the path
        r.put("source_path", model.model.startsWith("builtin:") ? model.model : src.toAbsolutePath().normalize().toString());
        if (a.directionAblated() != null) {
            AblationOptions.describe(r, a);
            r.put("lm_head", untied ? "untied: the input ties it to embed_tokens; lm_head.weight is the original embedding, config.json "
                    + "tie_word_embeddings false" : "untouched");
            r.set("edited_tensors", edited);
            r.put("rounding", "each edited value: w - (w·r̂) r̂ over its row (embed_tokens, o_proj bias) or column (o_proj, down_proj), "
                    + "dot products and values in double, rounded to float32 then to the tensor's dtype (nearest even); all other tensor "
                    + "bytes are copied unchanged");
        } else {
            r.put("mode", mode.label);
            r.put("epsilon", a.heads().values().iterator().next().epsilon());
            ArrayNode heads = r.putArray("heads");
            for (Map.Entry<HeadId, Ablation.Spec> e : a.heads().entrySet()) {
                heads.addObject().put("head", e.getKey().label()).put("mode", e.getValue().mode().label).put("epsilon", e.getValue().epsilon());
            }
            r.put("allow_grouped_kv", ablation.allowGroupedKv);
            r.put("ablation", a.toString());
            r.set("edited_tensors", edited);
            r.put("rounding", "each edited value: float32(value) * float32(scale), rounded to the tensor's dtype (nearest even); "
                    + "all other tensor bytes are copied unchanged");
        }
        Json.MAPPER.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), r);
    }
}
