package dev.sahara.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sahara.SaharaException;
import dev.sahara.model.Json;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;

/** Writes result files atomically (temp file + rename), so an interrupted run never leaves a half file. */
public final class ResultFiles {
    private ResultFiles() {}

    public static Path prepareDir(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw SaharaException.inFile(dir, "cannot create the output folder: " + e.getMessage());
        }
        return dir;
    }

    /** Deletes {@code *.tmp} files a killed run left behind (a write interrupted before its rename). */
    public static void removeStaleTemporaries(Path dir) {
        try (var files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".tmp") && Files.isRegularFile(p)).toList()) Files.deleteIfExists(f);
        } catch (IOException e) {
            throw SaharaException.inFile(dir, "cannot list the output folder: " + e.getMessage());
        }
    }

    public static void writeJson(Path file, JsonNode node) {
        try {
            writeString(file, Json.MAPPER.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(node) + "\n");
        } catch (IOException e) {
            throw SaharaException.inFile(file, "cannot write: " + reason(e));
        }
    }

    /** One JSON object per line. */
    public static void writeJsonl(Path file, List<? extends JsonNode> rows) {
        StringBuilder sb = new StringBuilder();
        try {
            for (JsonNode row : rows) sb.append(Json.MAPPER.writeValueAsString(row)).append('\n');
        } catch (IOException e) {
            throw SaharaException.inFile(file, "cannot write: " + e.getMessage());
        }
        writeString(file, sb.toString());
    }

    public static void writeString(Path file, String text) {
        writeBytes(file, text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Writes {@code bytes} to {@code file.tmp}, then renames it over {@code file}: a kill or a full disk leaves the
     * earlier file (if any) whole and at most a {@code .tmp} that the next run removes. A failed write removes its
     * temporary file and names the real cause ("No space left on device").
     */
    public static void writeBytes(Path file, byte[] bytes) {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.write(tmp, bytes);
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the write error below is the one to report
            }
            throw SaharaException.inFile(file, "cannot write: " + reason(e));
        }
    }

    /**
     * The operating system's words for an I/O error ("No space left on device", "Read-only file system"), without
     * the path (the message names the file already) or the Java class name.
     */
    public static String reason(IOException e) {
        if (e instanceof FileSystemException f && f.getReason() != null) return f.getReason();
        if (e instanceof FileSystemException f) return f.getClass().getSimpleName().replace("Exception", "").replaceAll("([a-z])([A-Z])", "$1 $2").toLowerCase(Locale.ROOT);
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
}
