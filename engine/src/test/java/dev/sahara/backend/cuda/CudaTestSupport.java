package dev.sahara.backend.cuda;

import dev.sahara.SaharaException;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * One CudaBackend per test JVM, or the one-line reason there is none (the tests then skip, saying so). Public for
 * the "cuda" cases of {@code dev.sahara.backend.BackendParityTest}.
 */
public final class CudaTestSupport {
    private static CudaBackend backend;
    private static String reason;

    private CudaTestSupport() {}

    static synchronized String unavailableReason() {
        if (backend == null && reason == null) {
            try {
                backend = CudaBackend.open();
                Runtime.getRuntime().addShutdownHook(new Thread(backend::close));
                System.out.println("[cuda] " + backend.description());
            } catch (SaharaException e) {
                reason = e.getMessage();
                System.out.println("[cuda] skipped: " + reason);
            }
        }
        return reason;
    }

    /** The shared backend; skips the calling test with the reason when there is no usable GPU. */
    public static CudaBackend backendOrSkip() {
        String why = unavailableReason();
        assumeTrue(why == null, () -> why.startsWith("no CUDA GPU") ? why : "no CUDA GPU: " + why);
        return backend;
    }
}
