package dev.sahara;

import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The project never points a user at a document it does not ship: every docs/*.md named in a tracked text file exists. */
class DocsLinksTest {
    static final Pattern DOC = Pattern.compile("(?<![\\w/.-])(?:docs/)?([A-Z][A-Z_]+\\.md)");

    @Test
    void everyNamedDocumentExists() throws IOException {
        Path repo = TestModels.repo().toAbsolutePath().normalize();
        List<String> missing = new ArrayList<>();
        try (Stream<Path> files = Files.walk(repo)) {
            for (Path f : files.filter(Files::isRegularFile).filter(p -> p.toString().matches(".*\\.(md|java|py|sh)$"))
                    .filter(p -> !repo.relativize(p).toString().matches("(engine|bench)/target/.*|\\..*")).toList()) {
                Matcher m = DOC.matcher(Files.readString(f));
                while (m.find()) {
                    String name = m.group(1);
                    if (name.equals("README.md")) continue;   // every folder's own README
                    if (!Files.exists(repo.resolve("docs").resolve(name)) && !Files.exists(repo.resolve(name)) && !Files.exists(f.resolveSibling(name))) {
                        missing.add(repo.relativize(f) + " names " + m.group());
                    }
                }
            }
        }
        assertTrue(missing.isEmpty(), "documents named but not in the repository:\n" + String.join("\n", missing));
    }
}
