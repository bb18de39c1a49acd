package dev.sahara.fuzz;

import dev.sahara.SaharaException;
import dev.sahara.data.Dataset;
import dev.sahara.data.Datasets;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Any bytes as a .csv / .txt / .json / .jsonl dataset: a non-empty list of non-null prompts, or one SaharaException naming the file. */
class DatasetsFuzzTest {
    private static Path dir;

    static synchronized Path file(String ext) {
        try {
            if (dir == null) dir = Files.createTempDirectory("sahara-fuzz-data");
            return dir.resolve("d." + ext);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void load(String ext, byte[] bytes, String column) {
        Path f = file(ext);
        try {
            Files.write(f, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            Dataset d = Datasets.load(f.toString(), column, 0);
            if (d.prompts().isEmpty()) throw new AssertionError("an empty dataset was accepted");
            for (String p : d.prompts()) if (p == null) throw new AssertionError("a null prompt");
        } catch (SaharaException e) {
            Fuzz.assertOneLine(e, f.toString());
        }
    }

    @Property(tries = 200, seed = "20261130")
    void arbitraryBytes(@ForAll("ext") String ext, @ForAll @Size(max = 200) byte[] bytes) { load(ext, bytes, null); }

    /** Text made of the characters that matter to the formats' grammars. */
    @Property(tries = 400, seed = "20261131")
    void structuredText(@ForAll("ext") String ext, @ForAll("text") String text, @ForAll("column") String column) {
        load(ext, text.getBytes(StandardCharsets.UTF_8), column);
    }

    @Provide
    Arbitrary<String> ext() { return Arbitraries.of("csv", "txt", "json", "jsonl"); }

    @Provide
    Arbitrary<String> column() { return Arbitraries.of("goal", "prompt", "x", "").injectNull(0.6); }

    @Provide
    Arbitrary<String> text() {
        Arbitrary<String> token = Arbitraries.of("\"", ",", "\n", "\r\n", "\r", "{", "}", "[", "]", ":", "goal", "prompt", "\"goal\"", "\"prompt\"", "a b",
                "\uFEFF", "null", "1", "true", "\\", "\\u0000", " ", "\u00e9", "\ud83d\ude00");
        return token.list().ofMaxSize(40).map(l -> String.join("", l));
    }
}
