package dev.sahara.backend.cuda;

import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The GPU through JCuda's driver API: device 0's primary context (shared with cuBLAS / cuSOLVER, which use
 * whatever context is current), one stream for all work, and the kernel modules from engine.jar's resources
 * {@code /kernels/<family>.fatbin} (SASS for sm_80 / sm_90, built where nvcc exists) or else
 * {@code /kernels/<family>.ptx} (compute_80, committed; JIT-compiled by the driver).
 */
final class CudaDevice implements AutoCloseable {
    /** Kernel families: one kernels/*.cu file each. */
    static final List<String> FAMILIES = List.of("embedding", "rmsnorm", "rope", "attention", "heads", "swiglu", "residual", "rows", "weights", "sampling", "divergence");

    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final DevicePtr.Stream stream = new DevicePtr.Stream();
    private final Map<String, CUfunction> functions = new HashMap<>();
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

    /** Makes the primary context current on the calling thread (once per thread). */
    void makeCurrent() {
        if (current.get()) return;
        JCudaDriver.cuCtxSetCurrent(context);
        current.set(true);
    }

    DevicePtr.Stream stream() { return stream; }

    String name() { return name; }

    int computeCapability() { return computeCapability; }

    String kernelSource() { return kernelSource; }

    /** Launches {@code fn} on the stream: grid (gx, gy), 1-D blocks of {@code block} threads. */
    void launch(String fn, int gx, int gy, int block, int sharedBytes, Args args) {
        CUfunction f = functions.get(fn);
        if (f == null) throw new IllegalArgumentException("no kernel " + fn);
        JCudaDriver.cuLaunchKernel(f, gx, gy, 1, block, 1, 1, sharedBytes, stream, args.pointer(), null);
    }

    void synchronize() { JCudaDriver.cuStreamSynchronize(stream); }

    /** Kernel arguments in order: device addresses and 64-bit counts as long, int, float. */
    static final class Args {
        private final java.util.ArrayList<Pointer> list = new java.util.ArrayList<>();

        Args ptr(long address) { list.add(Pointer.to(new long[] {address})); return this; }

        Args i64(long v) { list.add(Pointer.to(new long[] {v})); return this; }

        Args i32(int v) { list.add(Pointer.to(new int[] {v})); return this; }

        Args f32(float v) { list.add(Pointer.to(new float[] {v})); return this; }

        Pointer pointer() { return Pointer.to(list.toArray(new Pointer[0])); }
    }

    @Override
    public void close() {
        makeCurrent();
        JCudaDriver.cuStreamSynchronize(stream);
        JCudaDriver.cuStreamDestroy(stream);
        JCudaDriver.cuDevicePrimaryCtxRelease(device);
    }
}
