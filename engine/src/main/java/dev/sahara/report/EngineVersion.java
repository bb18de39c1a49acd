package dev.sahara.report;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.model.Json;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The engine's version, the git commit it was built from and its sources' hash (written into every result file). */
public final class EngineVersion {
    private static final Properties BUILD = load();

    private EngineVersion() {}

    public static String version() { return BUILD.getProperty("version", "dev"); }

    public static String gitCommit() { return BUILD.getProperty("git.commit", "unknown"); }

    /** SHA-256 (first 12 hex digits) of engine/src/main and the POMs as built: differs from the commit's own build after uncommitted edits. */
    public static String sourceHash() { return BUILD.getProperty("source.hash", "unknown"); }

    /** The "engine" object of a result file's header: {name, version, git_commit, source_hash}. */
    public static ObjectNode describe() {
        ObjectNode e = Json.MAPPER.createObjectNode();
        e.put("name", "sahara");
        e.put("version", version());
        e.put("git_commit", gitCommit());
        e.put("source_hash", sourceHash());
        return e;
    }

    private static Properties load() {
        Properties p = new Properties();
        try (InputStream in = EngineVersion.class.getResourceAsStream("/sahara-build.properties")) {
            if (in != null) p.load(in);
        } catch (IOException ignored) {
            // no build info: "dev" / "unknown"
        }
        return p;
    }
}
