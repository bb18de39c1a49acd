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

    @Test
    void everyCommandHasHelp() {
        for (String cmd : new String[] {"attribute", "ships", "sweep", "asr", "generate", "logits", "inspect", "surgery", "ships-asr", "course-correction", "helpfulness", "compare"}) {
            StringWriter out = new StringWriter();
            int code = SaharaCommand.newCommandLine(new PrintWriter(out, true), new PrintWriter(new StringWriter(), true)).execute(cmd, "--help");
            assertEquals(0, code, cmd);
            assertTrue(out.toString().contains("Usage:"), cmd + ": " + out);
        }
    }
}
