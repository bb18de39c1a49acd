package dev.sahara.cli;

import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Options that used to be taken silently, or answered with a confusing text (issue #14): now one clear line and exit 2. */
class UserFacingErrorsTest {
    static final String MODEL = TestModels.tiny("llama-gqa-bf16").toString();

    @TempDir
    Path tmp;

    static String error(String... args) {
        CliTestSupport r = CliTestSupport.run(args);
        assertEquals(2, r.exitCode(), "exit code of " + List.of(args) + ":\n" + r.err());
        assertEquals("", r.out());
        return r.errorLine();
    }

    @Test
    void anEmptyHeadListIsAnErrorNotAnUnablatedRun() {
        for (String heads : List.of("", ",", " , ")) {
            String e = error("logits", "--model", MODEL, "--token-ids", "1,2", "--ablate", heads);
            assertTrue(e.startsWith("--ablate: no head ids in '" + heads + "'"), e);
            e = error("asr", "--model", MODEL, "--limit", "1", "--ablate", heads, "--out", tmp.resolve("a").toString());
            assertTrue(e.startsWith("--ablate: no head ids"), e);
        }
        assertTrue(error("logits", "--model", MODEL, "--token-ids", "1,2", "--ablate", "L0H1,,L1H2").contains("an empty item between commas"));
    }
}
