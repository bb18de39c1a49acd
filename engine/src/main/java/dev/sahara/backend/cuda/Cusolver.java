package dev.sahara.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * cuSOLVER's dense symmetric eigensolver (syevd, double precision) through FFM: JCusolver's natives need
 * libcusolver.so.11, CUDA 13 ships libcusolver.so.12. Probes libcusolver.so.12, then .so.11. Used for the
 * n×n Gram matrix of dataset-level Ships (SPEC.md), where n is the number of prompts.
 */
final class Cusolver implements AutoCloseable {
    static final String[] SONAMES = {"libcusolver.so.12", "libcusolver.so.11"};
    /** cuSOLVER's own dependencies, loaded first from its folder (CUDA 13 wheels: cuBLAS and nvJitLink are .so.13 there). */
    static final String[] COMPANIONS = {"libcublasLt", "libcublas", "libcusparse", "libnvJitLink"};
    static final int EIG_MODE_VECTOR = 1, FILL_MODE_LOWER = 0;

    private final String library;
    private final MethodHandle destroy, bufferSize, syevd;
    private final MemorySegment handle;
    // shared, not confined: used and closed from whichever thread the backend is called on
    private final Arena arena = Arena.ofShared();
    private boolean closed;

    private Cusolver(NativeLibraries.Found lib, long stream) {
        SymbolLookup l = lib.lookup();
        this.library = lib.where();
        MethodHandle create = Cublas.bind(l, "cusolverDnCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        MethodHandle setStream = Cublas.bind(l, "cusolverDnSetStream", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        this.destroy = Cublas.bind(l, "cusolverDnDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        // cusolverDnDsyevd_bufferSize(handle, jobz, uplo, n, const double* A, lda, const double* W, int* lwork)
        this.bufferSize = Cublas.bind(l, "cusolverDnDsyevd_bufferSize",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        // cusolverDnDsyevd(handle, jobz, uplo, n, double* A, lda, double* W, double* work, lwork, int* devInfo)
        this.syevd = Cublas.bind(l, "cusolverDnDsyevd",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS));
        MemorySegment h = arena.allocate(ADDRESS);
        check("cusolverDnCreate", Cublas.invokeInt(create, h));
        this.handle = h.get(ADDRESS, 0);
        check("cusolverDnSetStream", Cublas.invokeInt(setStream, handle, MemorySegment.ofAddress(stream)));
    }

    /** A handle from library {@code lib} bound to {@code stream} (a CUstream address). */
    static Cusolver open(NativeLibraries.Found lib, long stream) { return new Cusolver(lib, stream); }

    String library() { return library; }

    /** Workspace size in doubles for an n×n problem. */
    int workspace(int n, long a, long w) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment lwork = call.allocate(JAVA_INT);
            check("cusolverDnDsyevd_bufferSize", Cublas.invokeInt(bufferSize, handle, EIG_MODE_VECTOR, FILL_MODE_LOWER, n,
                    MemorySegment.ofAddress(a), n, MemorySegment.ofAddress(w), lwork));
            return lwork.get(JAVA_INT, 0);
        }
    }

    /** Eigenvalues (ascending) into w and eigenvectors over a (column j = vector j), all device addresses; devInfo an int. */
    void syevd(int n, long a, long w, long work, int lwork, long devInfo) {
        check("cusolverDnDsyevd", Cublas.invokeInt(syevd, handle, EIG_MODE_VECTOR, FILL_MODE_LOWER, n, MemorySegment.ofAddress(a), n,
                MemorySegment.ofAddress(w), MemorySegment.ofAddress(work), lwork, MemorySegment.ofAddress(devInfo)));
    }

    private static void check(String call, int status) {
        // cuSOLVER has no status-string function; the numbers are cusolverStatus_t (cusolver_common.h).
        if (status != 0) throw new IllegalStateException(call + " failed: CUSOLVER status " + status);
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        check("cusolverDnDestroy", Cublas.invokeInt(destroy, handle));
        arena.close();
    }
}
