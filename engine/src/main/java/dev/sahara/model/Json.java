package dev.sahara.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sahara.SaharaException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reading the JSON files of a model folder, with one-line errors that name the file. */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {}

    /** The file's top-level JSON object. */
    public static JsonNode readObject(Path file) {
        if (!Files.isRegularFile(file)) throw SaharaException.inFile(file, "missing");
        JsonNode root;
        try {
            root = MAPPER.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw SaharaException.inFile(file, "malformed JSON: " + e.getOriginalMessage()
                    + (e.getLocation() != null ? " at line " + e.getLocation().getLineNr() : ""));
        } catch (IOException e) {
            throw SaharaException.inFile(file, "cannot read: " + e.getMessage());
        }
        if (root == null || !root.isObject()) throw SaharaException.inFile(file, "malformed: expected a JSON object");
        return root;
    }
}
