package dev.sahara.cli;

import dev.sahara.cli.options.StatusLine;
import dev.sahara.testing.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Options that used to be taken silently, or answered with a confusing text (issue #14): now one clear line and exit 2. */
class UserFacingErrorsTest {
    static final String MODEL = TestModels.tiny("llama-gqa-bf16").toString();

    @TempDir
    Path tmp;

    static String error(String... args) { return CliTestSupport.usageError(args); }

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

    @Test
    void errorTextsSayWhatToDoInTheUsersWords() throws Exception {
        assertEquals("missing command: give one of attribute, ships, sweep, asr, generate, logits, inspect, prompt, surgery, ships-asr, "
                + "course-correction, helpfulness, compare, merge, conformance, direction, head-projection (see --help)", error());
        String e = error("logits", "--model", MODEL, "--token-ids", "1", "--prompt", "x");
        assertFalse(e.startsWith("Error: "), e);
        assertTrue(e.contains("mutually exclusive"), e);
        e = error("generate", "--model", "synthetic:tiny", "--prompt", "x");
        assertFalse(e.contains("--token-ids") && !e.contains("logits --token-ids"), e);
        assertTrue(e.startsWith("--model synthetic:tiny: random weights without a tokenizer"), e);
        e = error("logits", "--model", MODEL, "--token-ids", "1", "--ablate", "L0H0", "--epsilon", "1e308");
        assertTrue(e.contains("'1e308' is too large for a float"), e);
        assertFalse(e.contains("Infinity"), e);
        Path jsonl = tmp.resolve("prompts.json");
        java.nio.file.Files.writeString(jsonl, "{\"goal\": \"a\"}\n{\"goal\": \"b\"}\n");
        e = error("ships", "--model", MODEL, "--dataset", jsonl.toString(), "--out", tmp.resolve("s").toString());
        assertTrue(e.contains("more than one JSON value") && e.contains(".jsonl"), e);
        assertFalse(e.contains("DeserializationFeature"), e);
    }

    @Test
    void samplingSettingsThatWouldBeIgnoredAreRefused() {
        String e = error("generate", "--model", TestModels.stories260K().toString(), "--prompt", "x", "--temperature", "0.5");
        assertTrue(e.startsWith("--temperature needs top-k decoding"), e);
        e = error("generate", "--model", TestModels.stories260K().toString(), "--prompt", "x", "--top-k", "0");
        assertTrue(e.startsWith("--top-k must be >= 1, got 0"), e);
        e = error("asr", "--model", MODEL, "--limit", "1", "--top-k", "0", "--out", tmp.resolve("a").toString());
        assertTrue(e.startsWith("--top-k must be >= 1"), e);
        e = error("course-correction", "--model", MODEL, "--limit", "1", "--top-k", "0", "--out", tmp.resolve("c").toString());
        assertTrue(e.startsWith("--top-k must be >= 1"), e);
    }

    @Test
    void inspectChecksTheTransplantAndSpellsOutRopeScaling() throws Exception {
        String e = error("inspect", "--model", MODEL, "--attention-from", tmp.resolve("nonexistent").toString());
        assertTrue(e.contains("nonexistent"), e);
        CliTestSupport r = CliTestSupport.run("inspect", "--model", TestModels.tiny("llama3-rope-f16").toString(), "--json");
        assertEquals(0, r.exitCode(), r.err());
        String rope = dev.sahara.model.Json.MAPPER.readTree(r.out()).get("rope_scaling").asText();
        assertEquals("llama3, factor 8.0, low_freq_factor 1.0, high_freq_factor 4.0, original_max_position_embeddings 16", rope);
        assertFalse(CliTestSupport.run("inspect", "--model", TestModels.tiny("mistral-sharded-f32").toString()).out().contains("RopeScaling["));
    }

    @Test
    void helpShowsTheDefaultsCommandsUse() {
        for (String command : List.of("generate", "logits", "asr", "course-correction", "helpfulness")) {
            String help = CliTestSupport.run(command, "--help").out().replaceAll("\\s+", " ");
            assertTrue(help.contains("ε of undiff-q / undiff-k / scale-v. Default: 1e-10"), command + ":\n" + help);
        }
        for (String command : List.of("ships-asr", "course-correction")) {
            String help = CliTestSupport.run(command, "--help").out().replaceAll("\\s+", " ");
            assertTrue(help.contains("ships-asr and course-correction run both (greedy and top-5)"), command + ":\n" + help);
        }
    }

    @Test
    void surgeryOnABuiltinModelRecordsItsNameNotATemporaryFolder() throws Exception {
        Path out = tmp.resolve("surgery");
        CliTestSupport r = CliTestSupport.run("surgery", "--model", "builtin:planted", "--ablate", "L0H1", "--out", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertEquals("builtin:planted", dev.sahara.model.Json.MAPPER.readTree(out.resolve("sahara_surgery.json").toFile()).get("source_path").asText());
    }

    @Test
    void threadsAreCappedAtTheCoresAndTimingsCoverTheWholeRun() throws Exception {
        int cores = Runtime.getRuntime().availableProcessors();
        Path out = tmp.resolve("t");
        StatusLine.delayMillis = 0;   // every status line at once, however fast the tiny model loads
        CliTestSupport r;
        try {
            r = CliTestSupport.run("sweep", "--model", MODEL, "--dataset", "builtin:harmless", "--limit", "3", "--rank", "1",
                    "--threads", "1000", "--out", out.toString());
        } finally {
            StatusLine.delayMillis = 700;
        }
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.err().contains("note: --threads 1000 is more than the " + cores + " cores available: using " + cores), r.err());
        var timings = dev.sahara.model.Json.MAPPER.readTree(out.resolve("timings.json").toFile());
        assertEquals(cores, timings.get("threads").asInt());
        assertTrue(timings.get("wall_seconds").asDouble() >= timings.get("timings_seconds").get("sweep").asDouble(), timings.toString());
        // progress says what is being done from the start, before the first candidate
        List<String> lines = r.err().lines().toList();
        assertTrue(lines.get(lines.size() > 1 && lines.get(0).startsWith("note:") ? 1 : 0).startsWith("loading " + MODEL), r.err());
        assertTrue(r.err().contains("encoded 3 prompts (template format, "), r.err());
        assertTrue(r.err().contains("tokens); running the first forward ..."), r.err());
        assertTrue(r.err().contains("sweep: 12/12 L2H3"), "the last count is always shown:\n" + r.err());
    }
}
