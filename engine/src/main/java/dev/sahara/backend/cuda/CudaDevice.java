package dev.sahara.backend.cuda;

import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The real GPU through JCuda's driver API: device 0's primary context (shared with cuBLAS / cuSOLVER, which use
 * whatever context is current), one blocking stream for all work, and the kernel modules from engine.jar's resources
 * {@code /kernels/<family>.fatbin} (SASS for sm_80 / sm_90, built where nvcc exists) or else
 * {@code /kernels/<family>.ptx} (compute_80, committed; JIT-compiled by the driver).
 */
final class CudaDevice implements GpuDevice {
    /** Kernel families: one kernels/*.cu file each. */
    static final List<String> FAMILIES = List.of("embedding", "rmsnorm", "rope", "attention", "heads", "swiglu", "residual", "direction", "rows", "weights", "sampling", "divergence");

    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final DevicePtr.Stream stream = new DevicePtr.Stream();
    private final Map<String, CUfunction> functions = new HashMap<>();
    private final Map<Long, DevicePtr> allocations = new ConcurrentHashMap<>();
    private final Map<Long, Pointer> pinned = new ConcurrentHashMap<>();
    private final ThreadLocal<Boolean> current = ThreadLocal.withInitial(() -> false);
    private final String name, kernelSource;
    private final int computeCapability;

    /**
     * @throws UnsatisfiedLinkError when JCuda's native library or libcuda.so.1 cannot load
     * @throws CudaException        when there is no usable device
     */
    CudaDevice(int ordinal) {
        JCudaDriver.setExceptionsEnabled(true);
        JCudaDriver.cuInit(0);
        int[] count = {0};
        JCudaDriver.cuDeviceGetCount(count);
        if (count[0] <= ordinal) throw new CudaException("the driver sees " + count[0] + " CUDA device(s)");
        JCudaDriver.cuDeviceGet(device, ordinal);
        byte[] buf = new byte[256];
        JCudaDriver.cuDeviceGetName(buf, buf.length, device);
        int n = 0;
        while (n < buf.length && buf[n] != 0) n++;
        this.name = new String(buf, 0, n, StandardCharsets.UTF_8);
        int[] major = {0}, minor = {0};
        JCudaDriver.cuDeviceGetAttribute(major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
        JCudaDriver.cuDeviceGetAttribute(minor, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
        this.computeCapability = major[0] * 10 + minor[0];
        JCudaDriver.cuDevicePrimaryCtxRetain(context, device);
        makeCurrent();
        JCudaDriver.cuStreamCreate(stream, 0);   // a blocking stream: synchronous copies on the legacy stream order with it
        String source = null;
        for (String family : FAMILIES) source = load(family);
        this.kernelSource = source;
    }

    private String load(String family) {
        CUmodule module = new CUmodule();
        byte[] fatbin = resource("/kernels/" + family + ".fatbin");
        String source;
        if (fatbin != null) {
            JCudaDriver.cuModuleLoadFatBinary(module, fatbin);
            source = "fatbin (sm_80, sm_90)";
        } else {
            byte[] ptx = resource("/kernels/" + family + ".ptx");
            if (ptx == null) throw new IllegalStateException("engine.jar has no kernels/" + family + ".ptx");
            byte[] z = java.util.Arrays.copyOf(ptx, ptx.length + 1);   // the driver wants a NUL-terminated image
            JCudaDriver.cuModuleLoadData(module, z);
            source = "PTX compute_80 (JIT)";
        }
        for (String fn : KernelNames.of(family)) {
            CUfunction f = new CUfunction();
            JCudaDriver.cuModuleGetFunction(f, module, fn);
            functions.put(fn, f);
        }
        return source;
    }

    static byte[] resource(String path) {
        try (InputStream in = CudaDevice.class.getResourceAsStream(path)) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    String name() { return name; }

    @Override
    public String description() { return name + " (sm_" + computeCapability + "), kernels from " + kernelSource; }

    @Override
    public void makeCurrent() {
        if (current.get()) return;
        JCudaDriver.cuCtxSetCurrent(context);
        current.set(true);
    }

    @Override
    public long allocate(long bytes) {
        makeCurrent();
        DevicePtr p = new DevicePtr();
        try {
            JCudaDriver.cuMemAlloc(p, Math.max(bytes, 4));
        } catch (CudaException e) {
            if (String.valueOf(e.getMessage()).contains(CUresult.stringFor(CUresult.CUDA_ERROR_OUT_OF_MEMORY))) throw new GpuDevice.OutOfMemory(bytes, name);
            throw e;
        }
        allocations.put(p.address(), p);
        return p.address();
    }

    @Override
    public void free(long address) {
        makeCurrent();
        DevicePtr p = allocations.remove(address);
        if (p == null) throw new IllegalArgumentException("free of 0x" + Long.toHexString(address) + ", which this device did not allocate");
        JCudaDriver.cuMemFree(p);
    }

    @Override
    public MemorySegment allocatePinned(long bytes) {
        makeCurrent();
        Pointer p = new Pointer();
        JCudaDriver.cuMemAllocHost(p, bytes);
        MemorySegment s = MemorySegment.ofBuffer(p.getByteBuffer(0, bytes));
        pinned.put(s.address(), p);
        return s;
    }

    @Override
    public void freePinned(MemorySegment pinned) {
        makeCurrent();
        Pointer p = this.pinned.remove(pinned.address());
        if (p == null) throw new IllegalArgumentException("freePinned of memory this device did not allocate");
        JCudaDriver.cuMemFreeHost(p);
    }

    @Override
    public void fill32(long address, int value, long count) {
        makeCurrent();
        if (count > 0) JCudaDriver.cuMemsetD32Async(DevicePtr.at(address), value, count, stream);
    }

    @Override
    public void copyToDevice(long dst, MemorySegment src, long bytes) {
        makeCurrent();
        if (bytes > 0) JCudaDriver.cuMemcpyHtoD(DevicePtr.at(dst), host(src, bytes), bytes);
    }

    @Override
    public void copyToDeviceAsync(long dst, MemorySegment pinnedSrc, long bytes) {
        makeCurrent();
        if (bytes > 0) JCudaDriver.cuMemcpyHtoDAsync(DevicePtr.at(dst), host(pinnedSrc, bytes), bytes, stream);
    }

    @Override
    public void copyToHost(MemorySegment dst, long src, long bytes) {
        makeCurrent();
        synchronize();
        if (bytes > 0) JCudaDriver.cuMemcpyDtoH(host(dst, bytes), DevicePtr.at(src), bytes);
    }

    @Override
    public void copy(long dst, long src, long bytes) {
        makeCurrent();
        if (bytes > 0) JCudaDriver.cuMemcpyDtoDAsync(DevicePtr.at(dst), DevicePtr.at(src), bytes, stream);
    }

    /** A JCuda pointer to host memory: a heap segment's array, or a native segment as a direct buffer. */
    private static Pointer host(MemorySegment s, long bytes) {
        if (s.isNative()) return Pointer.to(s.asSlice(0, bytes).asByteBuffer());
        Object array = s.heapBase().orElseThrow();
        long offset = s.address();
        if (offset != 0) throw new IllegalArgumentException("a heap segment must start at its array's first element");
        return switch (array) {
            case float[] f -> Pointer.to(f);
            case int[] i -> Pointer.to(i);
            case double[] d -> Pointer.to(d);
            case short[] h -> Pointer.to(h);
            case byte[] b -> Pointer.to(b);
            case long[] l -> Pointer.to(l);
            default -> throw new IllegalArgumentException("host segment over " + array.getClass());
        };
    }

    @Override
    public void launch(String kernel, int gx, int gy, int block, int sharedBytes, KernelArgs args) {
        makeCurrent();
        CUfunction f = functions.get(kernel);
        if (f == null) throw new IllegalArgumentException("no kernel " + kernel);
        List<KernelArgs.Arg> list = args.list();
        Pointer[] params = new Pointer[list.size()];
        for (int i = 0; i < params.length; i++) {
            KernelArgs.Arg a = list.get(i);
            params[i] = a.bytes() == 8 ? Pointer.to(new long[] {a.bits()}) : Pointer.to(new int[] {(int) a.bits()});
        }
        JCudaDriver.cuLaunchKernel(f, gx, gy, 1, block, 1, 1, sharedBytes, stream, Pointer.to(params), null);
    }

    @Override
    public void synchronize() {
        makeCurrent();
        JCudaDriver.cuStreamSynchronize(stream);
    }

    @Override
    public Cublas openBlas() {
        makeCurrent();
        return Cublas.open(NativeLibraries.load(Cublas.SONAMES, Cublas.COMPANIONS), stream.address());
    }

    @Override
    public Cusolver openSolver() {
        makeCurrent();
        return Cusolver.open(NativeLibraries.load(Cusolver.SONAMES, Cusolver.COMPANIONS), stream.address());
    }

    @Override
    public void close() {
        makeCurrent();
        JCudaDriver.cuStreamSynchronize(stream);
        for (DevicePtr p : allocations.values()) JCudaDriver.cuMemFree(p);
        allocations.clear();
        for (Pointer p : pinned.values()) JCudaDriver.cuMemFreeHost(p);
        pinned.clear();
        JCudaDriver.cuStreamDestroy(stream);
        JCudaDriver.cuDevicePrimaryCtxRelease(device);
    }
}
