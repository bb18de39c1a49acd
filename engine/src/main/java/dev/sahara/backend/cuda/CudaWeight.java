package dev.sahara.backend.cuda;

import dev.sahara.backend.Weight;
import dev.sahara.model.DType;

/** A checkpoint tensor uploaded once, in its own dtype: [rows, cols] little-endian elements. */
record CudaWeight(DevicePtr ptr, DType dtype, int rows, int cols) implements Weight {
    long address() { return ptr.address(); }
}
