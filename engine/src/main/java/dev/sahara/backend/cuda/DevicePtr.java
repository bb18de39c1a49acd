package dev.sahara.backend.cuda;

import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;

/** A JCuda device pointer whose address is readable, for FFM calls (cuBLAS, cuSOLVER) and kernel arguments. */
final class DevicePtr extends CUdeviceptr {
    long address() { return getNativePointer(); }

    /** The same for a stream handle (cudaStream_t and CUstream are the same pointer). */
    static final class Stream extends CUstream {
        long address() { return getNativePointer(); }
    }
}
