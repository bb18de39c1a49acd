package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;
import dev.sahara.ablate.Ablation;
import dev.sahara.ablate.AblationMode;
import dev.sahara.ablate.HeadId;
import dev.sahara.ablate.ResidualDirection;
import dev.sahara.model.ModelConfig;
import dev.sahara.report.CandidateLog;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * --ablate L2H26,3-8 --ablation MODE --epsilon E: heads ablated while a command runs; --ablate-direction FILE and
 * --add-direction FILE --coefficient C: the refusal-direction edits of the residual stream (SPEC.md, "Refusal
 * direction"), FILE a direction.json of the direction command.
 */
public final class AblationOptions {
    /** SPEC.md: ε for the ablated model in evaluation (official surgery). */
    public static final float EVAL_EPSILON = 1e-10f;

    @Option(names = "--ablate", paramLabel = "HEADS", description = "Heads to ablate, e.g. L2H26,L3H8 (also 2-26 or 2.26; 0-based).")
    public String heads;

    @Option(names = "--ablation", paramLabel = "MODE", description = "undiff-q | undiff-k | scale-v | mean-q | mean-k | mean-v. Default: undiff-q.")
    public String mode;

    @Option(names = "--epsilon", paramLabel = "E", description = "ε of undiff-q / undiff-k / scale-v. Default: 1e-10 (the ablated model of the official code).")
    public Float epsilon;

    @Option(names = "--allow-grouped-kv", description = "Allow undiff-k / mean-k under GQA, where they change every query head sharing the KV head.")
    public boolean allowGroupedKv;

    @Option(names = "--ablate-direction", paramLabel = "FILE", description = "Project the direction of FILE (a direction.json) out of "
            + "every write to the residual stream: the embedding and every attention and MLP output, at every layer and position.")
    public Path ablateDirection;

    @Option(names = "--add-direction", paramLabel = "FILE", description = "Add --coefficient × the direction of FILE (its raw "
            + "difference of means) to the residual stream at the input of its layer, at every position.")
    public Path addDirection;

    @Option(names = "--coefficient", paramLabel = "C", description = "The multiple of the --add-direction vector added (e.g. 1; negative subtracts it).")
    public Float coefficient;

    public AblationMode mode() { return mode == null ? AblationMode.UNDIFF_Q : AblationMode.parse(mode); }

    public float epsilon(float dflt) { return checkEpsilon("--epsilon", epsilon == null ? dflt : epsilon); }

    /** The heads and direction edits asked for, checked against the model (a direction of another model: one error naming its file). */
    public Ablation ablation(ModelConfig c, float defaultEpsilon) {
        Ablation a = headAblation(defaultEpsilon);
        if (coefficient != null && addDirection == null) throw new SaharaException("--coefficient given without --add-direction FILE");
        if (addDirection != null && coefficient == null) throw new SaharaException("--add-direction needs --coefficient C (the multiple of the direction added)");
        if (ablateDirection != null) a = a.withDirectionAblated(ResidualDirection.read(ablateDirection));
        if (addDirection != null) a = a.withDirectionAdded(ResidualDirection.read(addDirection), coefficient);
        return a.checkIn(c, allowGroupedKv);
    }

    private Ablation headAblation(float defaultEpsilon) {
        if (heads != null && heads.replace(",", "").isBlank()) {
            // --ablate "" (an unset shell variable, a list that came out empty) must not quietly run the model unablated
            throw new SaharaException("--ablate: no head ids in '" + heads + "': give heads such as L2H26,L3H8, or leave --ablate out to run unablated");
        }
        if (heads == null) {
            if (mode != null || epsilon != null) throw new SaharaException("--ablation/--epsilon given without --ablate HEADS");
            return Ablation.none();
        }
        return Ablation.of(HeadId.parseList(heads), mode(), epsilon(defaultEpsilon));
    }

    /**
     * A result header's record of an ablation: {@code "ablation"}, its canonical text, and for each direction edit an
     * object with the file, its sha256, layer, position and norm ({@code direction_ablated}; {@code direction_added}
     * with its coefficient too). Without direction edits the header is what it always was.
     */
    static void describe(ObjectNode o, Ablation a) {
        o.put("ablation", a.toString());
        if (a.directionAblated() != null) describe(o.putObject("direction_ablated"), a.directionAblated());
        if (a.directionAdded() != null) describe(o.putObject("direction_added"), a.directionAdded()).put("coefficient", a.addedCoefficient());
    }

    static ObjectNode describe(ObjectNode o, ResidualDirection d) {
        o.put("file", d.source());
        o.put("sha256", fileSha256(d.source()));
        o.put("layer", d.layer());
        o.put("position", d.position());
        o.put("norm", d.norm());
        return o;
    }

    private static String fileSha256(String file) {
        try {
            return CandidateLog.sha256(Files.readAllBytes(Path.of(file)));
        } catch (IOException e) {
            throw SaharaException.inFile(Path.of(file), "cannot read: " + e.getMessage());
        }
    }

    /** ε as every ablation option takes it (whatever the option is called): a finite number >= 0. */
    static float checkEpsilon(String option, float e) {
        if (!(e >= 0) || Float.isInfinite(e)) throw new SaharaException(option + " must be a finite number >= 0, got " + e);
        return e;
    }

    /**
     * Refuses a K-mode under GQA unless {@code allowGroupedKv} (SPEC.md) before any work is done, for a command
     * that ablates heads it has yet to find: one head stands for all, as the check does not depend on which.
     */
    static void checkModeIn(ModelConfig c, AblationMode mode, float epsilon, boolean allowGroupedKv) {
        Ablation.none().with(new HeadId(0, 0), mode, epsilon).checkIn(c, allowGroupedKv);
    }
}
