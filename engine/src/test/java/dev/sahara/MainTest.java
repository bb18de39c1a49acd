package dev.sahara;

import dev.sahara.cli.SaharaCommand;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MainTest {
    @Test
    void unknownOptionIsOneLineAndExitTwo() {
        StringWriter err = new StringWriter();
        int code = SaharaCommand.newCommandLine(new PrintWriter(new StringWriter()), new PrintWriter(err, true))
                .execute("--no-such-option");
        assertEquals(SaharaCommand.EXIT_USAGE, code);
        assertEquals(1, err.toString().strip().lines().count(), err.toString());
        assertTrue(err.toString().startsWith("error: "), err.toString());
    }
}
