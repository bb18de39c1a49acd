package dev.sahara.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.attribution.AttributionSettings;
import dev.sahara.cli.options.Workload;
import dev.sahara.model.BuiltinModels;
import dev.sahara.model.Json;
import dev.sahara.report.CandidateLog;
import dev.sahara.report.EngineVersion;
import dev.sahara.report.ResultFiles;

import java.nio.file.Path;

/**
 * What makes a long run resumable and reproducible: the settings a candidates log is tied to (everything that
 * decides a score, never the thread count or the time), the output folder chosen by {@code --out} or
 * {@code --resume}, and {@code timings.json} — the only result file allowed to differ between two runs of the
 * same inputs (wall-clock times, the thread count, how much a resume reused).
 */
final class RunRecord {
    /** When the running command started (set by SaharaCommand): timings.json's wall_seconds counts from here, loading included. */
    static final ThreadLocal<Long> STARTED = new ThreadLocal<>();

    static void putWall(ObjectNode t) {
        Long started = STARTED.get();
        if (started != null) t.put("wall_seconds", (System.nanoTime() - started) / 1e9);
    }

    private RunRecord() {}

    /**
     * The settings of a dataset-level Ships log (sweep, attribute): the inputs, the candidate ablation (ε as its exact
     * float text, so a resume compares it exactly), r_main, the command's own settings, prefix reuse. The order is
     * part of the settings hash, so logs written before stay resumable only while it stays.
     */
    static ObjectNode settings(Workload w, AttributionSettings attribution, ObjectNode commandSettings) {
        ObjectNode s = Json.MAPPER.createObjectNode();
        s.put("engine_version", EngineVersion.version());
        s.put("engine_commit", EngineVersion.gitCommit());
        s.put("engine_source", EngineVersion.sourceHash());
        s.put("model_sha256", CandidateLog.modelFingerprint(w.model().checkpoint().dir()));
        String from = w.modelOptions().attentionFrom;
        s.put("attention_from_sha256", from == null ? "none" : CandidateLog.modelFingerprint(BuiltinModels.resolve(from)));
        s.put("dataset", w.dataset().source());
        s.put("prompt_format", w.format().label());
        s.put("system_prompt", w.system());
        s.put("prompt_tokens_sha256", CandidateLog.tokensFingerprint(w.encoded()));
        s.put("backend", w.model().backend().name());
        s.put("precision", w.modelOptions().precisionDescription());
        s.put("mode", attribution.mode().label);
        s.put("epsilon", Float.toString(attribution.epsilon()));
        s.put("r_main", attribution.rMain());
        s.setAll(commandSettings);
        s.put("prefix_reuse", attribution.prefixReuse());
        return s;
    }

    /** Opens the folder's candidates log, fresh or resumed. */
    static CandidateLog open(Path dir, String command, ObjectNode settings, boolean resume) {
        ResultFiles.prepareDir(dir);
        ResultFiles.removeStaleTemporaries(dir);
        return CandidateLog.open(dir, command, settings, resume);
    }

    /** timings.json of a command that is not resumable. */
    static ObjectNode simpleTimings(String command, Workload w, double seconds) {
        ObjectNode t = Json.MAPPER.createObjectNode();
        t.put("command", command);
        t.put("threads", w.modelOptions().threadCount());
        t.putObject("timings_seconds").put(command, seconds);
        putWall(t);
        return t;
    }

    /** timings.json: the run's wall-clock times, thread count and resume statistics. */
    static ObjectNode timings(String command, Workload w, CandidateLog log, boolean resumed) {
        ObjectNode t = Json.MAPPER.createObjectNode();
        t.put("command", command);
        t.put("threads", w.modelOptions().threadCount());
        t.put("resumed", resumed);
        t.put("candidates_from_log", log.reused());
        return t;
    }
}
