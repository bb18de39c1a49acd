package dev.sahara.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --verbose: which backend opened, on stderr; stdout unchanged. */
class VerboseOptionTest {
    /** The CLI's result, with what went to System.err (the backend line is printed there) as err. */
    private static CliTestSupport run(String... args) {
        PrintStream saved = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        CliTestSupport r;
        try {
            r = CliTestSupport.run(args);
        } finally {
            System.setErr(saved);
        }
        return new CliTestSupport(r.exitCode(), r.out(), r.err() + err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void verboseSaysWhichBackendOpenedOnStderrAndLeavesStdoutAlone() {
        List<String> common = List.of("logits", "--model", "synthetic:tiny", "--token-ids", "1,2,3", "--backend", "cpu", "--threads", "2");
        CliTestSupport plain = run(common.toArray(String[]::new));
        CliTestSupport verbose = run(java.util.stream.Stream.concat(common.stream(), java.util.stream.Stream.of("--verbose")).toArray(String[]::new));
        assertEquals(0, plain.exitCode(), plain.err());
        assertEquals(0, verbose.exitCode(), verbose.err());
        assertEquals(plain.out(), verbose.out(), "stdout is the same with --verbose");
        assertTrue(verbose.err().lines().anyMatch(l -> l.equals("sahara: backend cpu (2 threads)")), verbose.err());
        assertFalse(plain.err().contains("sahara: backend"), plain.err());
    }
}
