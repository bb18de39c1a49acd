package dev.sahara.backend.cuda;

import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;

/**
 * A JCuda device pointer whose address is readable (for FFM calls and kernel arguments), or one made from an address
 * ({@link #at}): JCuda passes a pointer's native address plus its byte offset to the driver, so an address is the
 * null pointer offset by it.
 */
final class DevicePtr extends CUdeviceptr {
    private static final CUdeviceptr NULL = new CUdeviceptr();
    private final long at;

    /** Filled in by cuMemAlloc. */
    DevicePtr() { this.at = -1; }

    private DevicePtr(long address) {
        super(NULL, address);
        this.at = address;
    }

    static DevicePtr at(long address) { return new DevicePtr(address); }

    long address() { return at >= 0 ? at : getNativePointer(); }

    /** The same for a stream handle (cudaStream_t and CUstream are the same pointer). */
    static final class Stream extends CUstream {
        long address() { return getNativePointer(); }
    }
}
