package dev.sahara.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The engine's version and the git commit it was built from (written into every result file). */
public final class EngineVersion {
    private static final Properties BUILD = load();

    private EngineVersion() {}

    public static String version() { return BUILD.getProperty("version", "dev"); }

    public static String gitCommit() { return BUILD.getProperty("git.commit", "unknown"); }

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
