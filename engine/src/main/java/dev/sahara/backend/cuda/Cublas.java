package dev.sahara.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * cuBLAS through FFM (JCublas's natives need libcublas.so.12 and cannot load against CUDA 13): one
 * {@link FunctionDescriptor} per C function, every status checked and reported with cuBLAS's own text.
 * Probes libcublas.so.13, then libcublas.so.12. All calls run on the stream given at creation, in the
 * current (primary) context.
 */
final class Cublas implements AutoCloseable {
    static final String[] SONAMES = {"libcublas.so.13", "libcublas.so.12"};
    /** Loaded first from the folder cuBLAS is found in, so the loader resolves cuBLAS's own dependency. */
    static final String[] COMPANIONS = {"libcublasLt"};

    static final int OP_N = 0, OP_T = 1;
    /** cudaDataType_t values (library_types.h). */
    static final int CUDA_R_32F = 0, CUDA_R_16F = 2, CUDA_R_16BF = 14;
    static final int COMPUTE_32F = 68;      // FP32 accumulation; with 32F inputs plain FP32 (no TF32): the numbers the CPU backend gives;
                                            // with 16F / 16BF inputs, tensor cores with FP32 accumulation
    static final int GEMM_DEFAULT = -1;

    private static final Linker LINKER = Linker.nativeLinker();

    private final String library;
    private final MethodHandle destroy, gemmEx, statusString;
    private final MemorySegment handle;
    // shared, not confined: the backend may be used, and is closed (a shutdown hook), from another thread than the one that opened it
    private final Arena arena = Arena.ofShared();
    private boolean closed;
    private final MemorySegment alpha, beta;

    private Cublas(NativeLibraries.Found lib, long stream) {
        SymbolLookup l = lib.lookup();
        this.library = lib.where();
        MethodHandle create = bind(l, "cublasCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        MethodHandle setStream = bind(l, "cublasSetStream_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        this.destroy = bind(l, "cublasDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        // cublasGemmEx(handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, ldc, computeType, algo)
        this.gemmEx = bind(l, "cublasGemmEx", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        this.statusString = l.find("cublasGetStatusString").map(s -> LINKER.downcallHandle(s, FunctionDescriptor.of(ADDRESS, JAVA_INT))).orElse(null);
        MemorySegment h = arena.allocate(ADDRESS);
        check("cublasCreate", invokeInt(create, h));
        this.handle = h.get(ADDRESS, 0);
        check("cublasSetStream", invokeInt(setStream, handle, MemorySegment.ofAddress(stream)));
        this.alpha = arena.allocateFrom(JAVA_FLOAT, 1f);
        this.beta = arena.allocateFrom(JAVA_FLOAT, 0f);
    }

    /** A handle from library {@code lib} bound to {@code stream} (a CUstream address) in the calling thread's current context. */
    static Cublas open(NativeLibraries.Found lib, long stream) { return new Cublas(lib, stream); }

    String library() { return library; }

    /**
     * Row-major out[T, N] = x[T, K] · w[N, K]ᵀ, all float32 device addresses. In cuBLAS's column-major terms:
     * outᵀ (N×T, ld N) = op_T(w as K×N, ld K) · x as K×T (ld K).
     */
    void matmulRowMajorWt(long out, long x, long w, int tokens, int k, int n) {
        check("cublasGemmEx", invokeInt(gemmEx, handle, OP_T, OP_N, n, tokens, k, alpha, MemorySegment.ofAddress(w), CUDA_R_32F, k,
                MemorySegment.ofAddress(x), CUDA_R_32F, k, beta, MemorySegment.ofAddress(out), CUDA_R_32F, n, COMPUTE_32F, GEMM_DEFAULT));
    }

    /**
     * The same product with 16-bit inputs: w and x both of {@code inType} (CUDA_R_16BF or CUDA_R_16F), float32
     * out, FP32 accumulation (tensor cores). Used by --precision bf16.
     */
    void matmulRowMajorWt16(long out, long x, long w, int inType, int tokens, int k, int n) {
        gemmEx(OP_T, OP_N, n, tokens, k, w, inType, k, x, inType, k, out, CUDA_R_32F, n);
    }

    /** Column-major C(m×n) = op(A)·op(B), alpha 1, beta 0, FP32 accumulation; types are cudaDataType_t values. */
    void gemmEx(int opA, int opB, int m, int n, int k, long a, int aType, int lda, long b, int bType, int ldb, long c, int cType, int ldc) {
        check("cublasGemmEx", invokeInt(gemmEx, handle, opA, opB, m, n, k, alpha, MemorySegment.ofAddress(a), aType, lda,
                MemorySegment.ofAddress(b), bType, ldb, beta, MemorySegment.ofAddress(c), cType, ldc, COMPUTE_32F, GEMM_DEFAULT));
    }

    private void check(String call, int status) {
        if (status == 0) return;
        String text = "CUBLAS status " + status;
        if (statusString != null) {
            try {
                text = ((MemorySegment) statusString.invokeExact(status)).reinterpret(256).getString(0);
            } catch (Throwable ignored) {
                // keep the number
            }
        }
        throw new IllegalStateException(call + " failed: " + text);
    }

    static MethodHandle bind(SymbolLookup l, String name, FunctionDescriptor d) {
        return LINKER.downcallHandle(l.find(name).orElseThrow(() -> new IllegalStateException("missing symbol " + name)), d);
    }

    static int invokeInt(MethodHandle h, Object... args) {
        try {
            return (int) h.invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        check("cublasDestroy", invokeInt(destroy, handle));
        arena.close();
    }
}
