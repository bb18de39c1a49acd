package dev.sahara.backend.cuda;

import java.lang.foreign.MemorySegment;

/**
 * What {@link CudaBackend} needs of a GPU, and nothing more: device memory by address, copies, kernel launches on one
 * in-order stream, and the cuBLAS / cuSOLVER libraries bound to that stream. Two implementations: {@link CudaDevice}
 * (the real driver, through JCuda) and, in the test sources, {@code EmulatedDevice} (the same kernels/*.cu compiled for
 * the CPU by tools/build-cuda-emulation.sh), so every line of the backend above this seam runs in CI without a GPU.
 * Device memory is named by its address (a {@code long}), as kernel arguments and the FFM-bound libraries name it.
 */
interface GpuDevice extends AutoCloseable {
    /** Thrown by {@link #allocate} when the device has no room left (the caller may free pooled blocks and retry). */
    final class OutOfMemory extends RuntimeException {
        OutOfMemory(long bytes, String detail) { super("out of device memory allocating " + bytes + " bytes" + (detail.isEmpty() ? "" : ": " + detail)); }
    }

    /** The device and where its kernels came from, e.g. "NVIDIA H200 (sm_90), kernels from fatbin (sm_80, sm_90)". */
    String description();

    /** Makes the device usable from the calling thread (the driver binds a context per thread); cheap after the first call. */
    void makeCurrent();

    /** Device memory of at least {@code bytes} (≥ 1); its contents are undefined. */
    long allocate(long bytes);

    void free(long address);

    /**
     * Host memory the device reads asynchronously (page-locked on a real GPU). Its contents must not change until the
     * stream has passed the copies that read it ({@link #synchronize}).
     */
    MemorySegment allocatePinned(long bytes);

    void freePinned(MemorySegment pinned);

    /** Sets {@code count} 32-bit words at {@code address} to {@code value}, in stream order. */
    void fill32(long address, int value, long count);

    /** Host → device; returns when {@code src} may be changed again (ordered after earlier stream work). */
    void copyToDevice(long dst, MemorySegment src, long bytes);

    /** Host → device in stream order, from {@link #allocatePinned pinned} memory; returns at once. */
    void copyToDeviceAsync(long dst, MemorySegment pinnedSrc, long bytes);

    /** Device → host after all earlier stream work; returns when {@code dst} holds the data. */
    void copyToHost(MemorySegment dst, long src, long bytes);

    /** Device → device, in stream order. */
    void copy(long dst, long src, long bytes);

    /** Launches {@code kernel} in stream order: grid (gx, gy), one-dimensional blocks of {@code block} threads. */
    void launch(String kernel, int gx, int gy, int block, int sharedBytes, KernelArgs args);

    /** Waits for all stream work. */
    void synchronize();

    /** cuBLAS on this device's stream. */
    Cublas openBlas();

    /** cuSOLVER on this device's stream. */
    Cusolver openSolver();

    @Override
    void close();
}
