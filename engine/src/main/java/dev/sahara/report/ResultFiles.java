package dev.sahara.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sahara.SaharaException;
import dev.sahara.model.Json;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

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
            throw SaharaException.inFile(file, "cannot write: " + e.getMessage());
        }
    }

    /** One JSON object per line. */
    public static void writeJsonl(Path file, java.util.List<? extends JsonNode> rows) {
        StringBuilder sb = new StringBuilder();
        try {
            for (JsonNode row : rows) sb.append(Json.MAPPER.writeValueAsString(row)).append('\n');
        } catch (IOException e) {
            throw SaharaException.inFile(file, "cannot write: " + e.getMessage());
        }
        writeString(file, sb.toString());
    }

    public static void writeString(Path file, String text) {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw SaharaException.inFile(file, "cannot write: " + e.getMessage());
        }
    }
}
