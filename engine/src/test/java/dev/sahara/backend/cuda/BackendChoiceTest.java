package dev.sahara.backend.cuda;

import dev.sahara.SaharaException;
import dev.sahara.backend.Backend;
import dev.sahara.cli.options.ModelOptions;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --backend auto|cpu|cuda, on whichever machine the tests run: with a GPU and without one. */
class BackendChoiceTest {
    static ModelOptions options(String backend) {
        ModelOptions o = new ModelOptions();
        o.backend = backend;
        o.threads = 1;
        return o;
    }

    @Test
    void autoUsesTheGpuOrSaysInOneLineWhyNot() {
        String reason = CudaTestSupport.unavailableReason();
        PrintStream saved = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        String name;
        try (Backend b = options("auto").backend()) {
            name = b.name();
        } finally {
            System.setErr(saved);
        }
        String said = err.toString(StandardCharsets.UTF_8);
        if (reason == null) {
            assertEquals("cuda", name);
            assertEquals("", said);
        } else {
            assertEquals("cpu", name);
            assertEquals(1, said.lines().count(), "one line on stderr, got: " + said);
            assertTrue(said.startsWith("sahara: --backend auto: using the CPU: no CUDA GPU"), said);
        }
    }

    @Test
    void cudaWithoutAGpuIsAClearError() {
        String reason = CudaTestSupport.unavailableReason();
        if (reason == null) {
            try (Backend b = options("cuda").backend()) {
                assertEquals("cuda", b.name());
            }
        } else {
            SaharaException e = assertThrows(SaharaException.class, () -> options("cuda").backend());
            assertTrue(e.getMessage().startsWith("no CUDA GPU") && !e.getMessage().contains("\n"), e.getMessage());
        }
    }

    @Test
    void bf16PrecisionIsRefusedOnTheCpu() {
        ModelOptions o = options("cpu");
        o.precision = "bf16";
        SaharaException e = assertThrows(SaharaException.class, o::backend);
        assertEquals("--precision bf16 is only implemented on the CUDA backend (--backend cuda); the CPU backend computes in float32 (--precision f32)",
                e.getMessage());
        o.precision = "fp8";
        assertEquals("--precision must be f32 or bf16, got 'fp8'", assertThrows(SaharaException.class, o::backend).getMessage());
    }

    @Test
    void bf16PrecisionOnAutoNeedsTheGpu() {
        ModelOptions o = options("auto");
        o.precision = "bf16";
        String reason = CudaTestSupport.unavailableReason();
        if (reason == null) {
            try (Backend b = o.backend()) {
                assertEquals(CudaBackend.Precision.BF16, ((CudaBackend) b).precision());
            }
        } else {
            SaharaException e = assertThrows(SaharaException.class, o::backend);
            assertTrue(e.getMessage().startsWith("--precision bf16 needs the CUDA backend, and --backend auto found none: no CUDA GPU"), e.getMessage());
        }
    }

    @Test
    void unknownBackendIsRefused() {
        SaharaException e = assertThrows(SaharaException.class, () -> options("tpu").backend());
        assertEquals("--backend must be auto, cpu or cuda, got 'tpu'", e.getMessage());
    }
}
