package dev.sahara.backend.cuda;

import dev.sahara.SaharaException;
import org.junit.jupiter.api.Named;

import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The CUDA backends the tests run, one of each per test JVM: "cuda", on the GPU (or the one-line reason there is none:
 * those tests then skip, saying so), and "cuda-emulated", the same backend over {@link EmulatedDevice} (the real
 * kernels compiled for the CPU), which runs everywhere the Maven build runs and never skips. Public for the "cuda"
 * cases of {@code dev.sahara.backend.BackendParityTest}.
 */
public final class CudaTestSupport {
    private static CudaBackend backend, emulated;
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

    /** The shared backend over the CPU emulation of the kernels (fails, never skips, when its library is missing). */
    public static synchronized CudaBackend emulated() {
        if (emulated == null) {
            emulated = new CudaBackend(new EmulatedDevice());
            Runtime.getRuntime().addShutdownHook(new Thread(emulated::close));   // closed from another thread, as a real run's hook does
        }
        return emulated;
    }

    /** Both CUDA backends, named "cuda" and "cuda-emulated", for parameterised tests. */
    static Stream<Named<Supplier<CudaBackend>>> backends() {
        return Stream.of(Named.of("cuda", CudaTestSupport::backendOrSkip), Named.of("cuda-emulated", CudaTestSupport::emulated));
    }
}
