package dev.sahara.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A {@link GpuDevice} on the CPU: the real kernels/*.cu compiled as C++ against kernels/emulation/cuda_emulation.h
 * (tools/build-cuda-emulation.sh, run by the Maven build before the tests), every CUDA thread a fiber, barriers and
 * warp shuffles honoured, launches checked against CUDA's limits (a grid dimension of 0, gridDim.y over 65,535, too
 * much shared memory are refused as the driver refuses them). The same library stands in for cuBLAS (GemmEx) and
 * cuSOLVER (Dsyevd), so {@link Cublas} and {@link Cusolver} are bound to it unchanged. Everything is synchronous:
 * a launch returns when the kernel has run. Copies are checked against the allocation they touch.
 */
final class EmulatedDevice implements GpuDevice {
    /** System property naming the library (engine/pom.xml sets it for the tests). */
    static final String PROPERTY = "sahara.cudaEmulation";

    private static final Linker LINKER = Linker.nativeLinker();
    private static NativeLibraries.Found library;
    private static MethodHandle launch, malloc, free, kernels;

    /** Live allocations: address → bytes, to check every copy's range. */
    private final TreeMap<Long, Long> allocations = new TreeMap<>();
    private final Map<Long, Arena> pinned = new java.util.HashMap<>();

    EmulatedDevice() { bind(); }

    /** The library's path: the system property, else where the Maven build puts it. */
    static Path libraryPath() {
        String p = System.getProperty(PROPERTY);
        if (p != null && !p.isBlank()) return Path.of(p);
        return Path.of(System.getProperty("sahara.repo", "."), "engine", "target", "cuda-emulation", "libsahara_cuda_emulation.so");
    }

    private static synchronized void bind() {
        if (library != null) return;
        Path path = libraryPath();
        if (!Files.isRegularFile(path)) {
            throw new IllegalStateException(path + ": no CUDA emulation library (tools/build-cuda-emulation.sh builds it; the Maven build runs it before the tests)");
        }
        SymbolLookup l = SymbolLookup.libraryLookup(path, Arena.global());
        launch = Cublas.bind(l, "sahara_emu_launch", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        kernels = Cublas.bind(l, "sahara_emu_kernels", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        malloc = Cublas.bind(l, "sahara_emu_malloc", FunctionDescriptor.of(ADDRESS, JAVA_LONG));
        free = Cublas.bind(l, "sahara_emu_free", FunctionDescriptor.ofVoid(ADDRESS));
        library = new NativeLibraries.Found(l, path.toString());
    }

    /** The kernels the library registered (every extern "C" __global__ of kernels/*.cu). */
    static List<String> kernelNames() {
        bind();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(1 << 16);
            int n = (int) kernels.invokeExact(buf, 1 << 16);
            String all = buf.getString(0);
            List<String> names = all.isEmpty() ? List.of() : List.of(all.split(","));
            if (names.size() != n) throw new IllegalStateException("sahara_emu_kernels: " + n + " kernels but " + names.size() + " names");
            return names;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public String description() { return "CUDA emulation on the CPU (" + library.where() + ")"; }

    @Override
    public void makeCurrent() {}

    @Override
    public synchronized long allocate(long bytes) {
        try {
            MemorySegment p = (MemorySegment) malloc.invokeExact(Math.max(bytes, 1));
            if (p.address() == 0) throw new GpuDevice.OutOfMemory(bytes, "emulation");
            allocations.put(p.address(), Math.max(bytes, 1));
            return p.address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public synchronized void free(long address) {
        if (allocations.remove(address) == null) throw new IllegalArgumentException("free of 0x" + Long.toHexString(address) + ", which was not allocated");
        try {
            free.invokeExact(MemorySegment.ofAddress(address));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public synchronized MemorySegment allocatePinned(long bytes) {
        Arena a = Arena.ofShared();
        MemorySegment s = a.allocate(bytes, 256);
        pinned.put(s.address(), a);
        return s;
    }

    @Override
    public synchronized void freePinned(MemorySegment s) {
        Arena a = pinned.remove(s.address());
        if (a == null) throw new IllegalArgumentException("freePinned of memory that was not allocated pinned");
        a.close();
    }

    /** The device memory [address, address + bytes), which must lie inside one live allocation. */
    private synchronized MemorySegment device(long address, long bytes) {
        Map.Entry<Long, Long> e = allocations.floorEntry(address);
        if (e == null || address + bytes > e.getKey() + e.getValue()) {
            throw new IllegalArgumentException("device range 0x" + Long.toHexString(address) + " + " + bytes + " bytes is outside every allocation");
        }
        return MemorySegment.ofAddress(address).reinterpret(bytes);
    }

    @Override
    public void fill32(long address, int value, long count) {
        MemorySegment d = device(address, count * 4);
        for (long i = 0; i < count; i++) d.setAtIndex(JAVA_INT, i, value);
    }

    @Override
    public void copyToDevice(long dst, MemorySegment src, long bytes) { MemorySegment.copy(src, 0, device(dst, bytes), 0, bytes); }

    @Override
    public void copyToDeviceAsync(long dst, MemorySegment pinnedSrc, long bytes) { copyToDevice(dst, pinnedSrc, bytes); }

    @Override
    public void copyToHost(MemorySegment dst, long src, long bytes) { MemorySegment.copy(device(src, bytes), 0, dst, 0, bytes); }

    @Override
    public void copy(long dst, long src, long bytes) { MemorySegment.copy(device(src, bytes), 0, device(dst, bytes), 0, bytes); }

    @Override
    public void launch(String kernel, int gx, int gy, int block, int sharedBytes, KernelArgs args) {
        try (Arena a = Arena.ofConfined()) {
            List<KernelArgs.Arg> list = args.list();
            MemorySegment params = a.allocate(ADDRESS, Math.max(1, list.size()));
            for (int i = 0; i < list.size(); i++) {
                KernelArgs.Arg arg = list.get(i);
                MemorySegment v = a.allocate(8, 8);
                if (arg.bytes() == 8) v.set(JAVA_LONG, 0, arg.bits());
                else v.set(JAVA_INT, 0, (int) arg.bits());
                params.setAtIndex(ADDRESS, i, v);
            }
            MemorySegment err = a.allocate(512);
            int status = (int) launch.invokeExact(a.allocateFrom(kernel), gx, gy, 1, block, 1, 1, sharedBytes, params, err, 512);
            if (status != 0) throw new IllegalStateException("cuLaunchKernel " + kernel + " <<<(" + gx + ", " + gy + "), " + block + ", " + sharedBytes
                    + ">>>: CUDA error " + status + ": " + err.getString(0));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void synchronize() {}

    @Override
    public Cublas openBlas() { return Cublas.open(library, 0); }

    @Override
    public Cusolver openSolver() { return Cusolver.open(library, 0); }

    /** The library as {@link NativeLibraries} would have found a vendor one: for tests of the FFM bindings themselves. */
    static NativeLibraries.Found library() {
        bind();
        return library;
    }

    @Override
    public synchronized void close() {
        for (long address : List.copyOf(allocations.keySet())) free(address);
        for (Arena a : pinned.values()) a.close();
        pinned.clear();
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
