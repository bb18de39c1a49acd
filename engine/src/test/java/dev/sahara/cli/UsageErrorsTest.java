package dev.sahara.cli;

import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every usage error: exit code 2, nothing on stdout, one line on stderr that names the problem and says what to do. */
class UsageErrorsTest {
    static final String MODEL = TestModels.tiny("llama-gqa-bf16").toString();

    @TempDir
    Path tmp;

    static String error(String... args) { return CliTestSupport.usageError(args); }

    static void assertSays(String line, String... parts) {
        for (String p : parts) assertTrue(line.contains(p), "'" + p + "' missing from: " + line);
    }

    @Test
    void unknownOptionAndCommand() {
        assertSays(error("sweep", "--model", MODEL, "--bogus"), "--bogus", "--help");
        assertSays(error("frobnicate"), "frobnicate", "--help");
        assertSays(error("attribute", "--group-size", "many"), "--group-size", "many", "--help");
    }

    @Test
    void headOutOfRange() {
        assertSays(error("logits", "--model", MODEL, "--token-ids", "1,2", "--ablate", "L3H0"), "L3H0");
        assertSays(error("logits", "--model", MODEL, "--token-ids", "1,2", "--ablate", "L0H4"), "L0H4");
        assertSays(error("logits", "--model", MODEL, "--token-ids", "1,2", "--ablate", "head7"), "head7");
    }

    @Test
    void negativeOrNonFiniteEpsilonAndBadNumbers() {
        assertSays(error("sweep", "--model", MODEL, "--epsilon", "-1e-5"), "--epsilon", ">= 0");
        assertSays(error("attribute", "--model", MODEL, "--epsilon", "-0.5"), "--epsilon", ">= 0");
        assertSays(error("ships", "--model", MODEL, "--prompt", "x", "--epsilon", "-1"), "--epsilon");
        assertSays(error("logits", "--model", MODEL, "--token-ids", "1", "--ablate", "L0H0", "--epsilon", "-1"), "--epsilon");
        assertSays(error("sweep", "--model", MODEL, "--epsilon", "NaN"), "--epsilon");
        assertSays(error("sweep", "--model", MODEL, "--rank", "0"), "--rank");
        assertSays(error("attribute", "--model", MODEL, "--group-size", "13", "--no-asr", "--limit", "2", "--out", tmp.resolve("n").toString()), "--group-size", "1..12");
        assertSays(error("sweep", "--model", MODEL, "--threads", "0"), "--threads");
        assertSays(error("sweep", "--model", MODEL, "--limit", "-3"), "--limit");
        Path out = tmp.resolve("never");
        assertSays(error("sweep", "--model", MODEL, "--limit", "2", "--rank", "5", "--out", out.toString()), "--rank 5", "prompts");
        assertSays(error("attribute", "--model", MODEL, "--limit", "2", "--group-size", "13", "--out", out.toString()), "--group-size");
        assertTrue(!Files.exists(out), "a refused run creates no output folder");
    }

    @Test
    void missingModelFolder() {
        assertSays(error("sweep", "--model", tmp.resolve("no-such-model").toString()), "no-such-model", "does not exist");
        assertSays(error("attribute", "--model", "builtin:nope"), "builtin:nope", "builtin:planted");
    }

    @Test
    void emptyOrMissingDataset() throws IOException {
        Path empty = Files.writeString(tmp.resolve("empty.txt"), "\n\n");
        assertSays(error("sweep", "--model", MODEL, "--dataset", empty.toString()), "empty.txt", "empty");
        Path emptyCsv = Files.writeString(tmp.resolve("e.csv"), "goal\n");
        assertSays(error("attribute", "--model", MODEL, "--dataset", emptyCsv.toString()), "e.csv", "empty");
        assertSays(error("sweep", "--model", MODEL, "--dataset", tmp.resolve("none.jsonl").toString()), "none.jsonl", "no such file");
        assertSays(error("sweep", "--model", MODEL, "--dataset", "builtin:nope"), "builtin:nope", "known");
    }
}
