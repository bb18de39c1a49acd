package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.AblationMode;
import dev.sahara.ablate.Epsilon;
import dev.sahara.ablate.HeadId;
import dev.sahara.ablate.WeightSurgery;
import dev.sahara.cli.options.AblationOptions;
import dev.sahara.cli.options.ModelOptions;
import dev.sahara.model.Checkpoint;
import dev.sahara.model.Json;
import dev.sahara.model.SafeTensorsWriter;
import dev.sahara.model.TensorData;
import dev.sahara.report.EngineVersion;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
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
 * edited slices; and sahara_surgery.json saying what was done. Default ε: {@link Epsilon#EVALUATION}.
 */
@Command(name = "surgery", description = "Write a Hugging Face checkpoint with head ablations baked into the weights "
        + "(undiff-q: W_q rows; undiff-k: W_k rows; scale-v: o_proj columns). Default epsilon: " + Epsilon.EVALUATION_TEXT + ".")
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

    @Override
    public Integer call() throws IOException {
        if (ablation.heads == null || ablation.heads.isBlank()) throw new SaharaException("surgery needs --ablate HEADS (e.g. --ablate L1H2)");
        AblationMode mode = ablation.mode();
        if (!mode.usesEpsilon()) {
            throw new SaharaException("--ablation " + mode + " cannot be baked into the weights: it replaces activations by their mean over "
                    + "heads at each position, which no weight edit reproduces; use undiff-q, undiff-k or scale-v, or apply " + mode
                    + " at run time (logits/generate --ablate)");
        }
        Path src = model.modelDir();
        try (Checkpoint ck = Checkpoint.open(src)) {
            Ablation a = ablation.ablation(ck.config());
            Map<String, WeightSurgery.Edit> edits = WeightSurgery.plan(ck.config(), a, ck.config().attentionBias());
            for (String name : edits.keySet()) {
                if (!ck.has(name)) throw SaharaException.inFile(src, "missing tensor " + name + ", which the surgery must edit");
            }
            Path dir = prepareOut(src);

            // the input's files, each with its tensors in file order (order of their bytes)
            Map<Path, List<TensorData>> byFile = new LinkedHashMap<>();
            for (TensorData t : ck.tensors().values()) byFile.computeIfAbsent(t.file(), f -> new ArrayList<>()).add(t);
            boolean sharded = !Files.isRegularFile(src.resolve("model.safetensors"));
            Set<String> written = new HashSet<>();
            ObjectNode edited = Json.MAPPER.createObjectNode();
            PrintWriter err = spec.commandLine().getErr();
            for (Map.Entry<Path, List<TensorData>> f : byFile.entrySet()) {
                String name = sharded ? f.getKey().getFileName().toString() : "model.safetensors";
                writeWeights(dir.resolve(name), f.getValue(), edits, edited, err);
                written.add(name);
            }
            if (sharded) copy(src.resolve(INDEX), dir.resolve(INDEX), written);
            for (String f : COPIED) if (Files.isRegularFile(src.resolve(f))) copy(src.resolve(f), dir.resolve(f), written);
            removeStaleWeights(dir, written);
            writeRecord(dir.resolve(RECORD), src, a, mode, edited);
            spec.commandLine().getOut().println("wrote " + dir + ": " + a + " baked into " + edited.size() + " tensor(s) ("
                    + String.join(", ", edits.keySet()) + "); other tensors byte-identical");
        }
        return 0;
    }

    /** One weights file: the tensors in the input file's order, edited ones replaced by scaled copies (off the heap, freed after). */
    private static void writeWeights(Path file, List<TensorData> tensors, Map<String, WeightSurgery.Edit> edits, ObjectNode edited, PrintWriter err) {
        List<TensorData> ts = new ArrayList<>(tensors);
        ts.sort(Comparator.comparingLong(t -> t.data().address()));
        try (Arena arena = Arena.ofConfined()) {
            List<SafeTensorsWriter.Entry> entries = new ArrayList<>();
            for (TensorData t : ts) {
                WeightSurgery.Edit e = edits.get(t.name());
                if (e == null) {
                    entries.add(SafeTensorsWriter.Entry.of(t));
                    continue;
                }
                WeightSurgery.Result r = WeightSurgery.apply(t, e, arena);
                entries.add(new SafeTensorsWriter.Entry(t.name(), t.dtype(), t.shape(), r.data()));
                ObjectNode o = edited.putObject(t.name());
                o.put("dtype", t.dtype().name());
                o.put("axis", e.axis() == WeightSurgery.Axis.ROWS ? "rows" : "columns");
                ArrayNode slices = o.putArray("slices");
                for (int u = 0; u < e.scale().length; u++) {
                    if (e.scale()[u] == 1f) continue;
                    slices.addObject().put("begin", u * e.headDim()).put("end", (u + 1) * e.headDim()).put("scale", e.scale()[u]);
                }
                o.put("values_scaled", r.scaled());
                o.put("nonzero_values_rounded_to_zero", r.underflowed());
                if (r.underflowed() > 0) {
                    err.println("note: " + t.name() + ": " + r.underflowed() + " of " + r.scaled() + " scaled " + t.dtype()
                            + " values rounded to 0 (the scale is below what " + t.dtype() + " can hold)");
                }
            }
            SafeTensorsWriter.write(file, entries, SafeTensorsWriter.ptMetadata());
        }
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

    private void writeRecord(Path file, Path src, Ablation a, AblationMode mode, ObjectNode edited) throws IOException {
        ObjectNode r = Json.MAPPER.createObjectNode();
        r.put("tool", "sahara surgery");
        r.put("engine_version", EngineVersion.version());
        r.put("git_commit", EngineVersion.gitCommit());
        r.put("source_hash", EngineVersion.sourceHash());
        r.put("source_model", model.model);
        // a builtin model is unpacked into a temporary folder that is gone after the run: its name is the path
        r.put("source_path", model.model.startsWith("builtin:") ? model.model : src.toAbsolutePath().normalize().toString());
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
        Json.MAPPER.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), r);
    }
}
