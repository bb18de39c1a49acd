package dev.sahara.backend.cuda;

import dev.sahara.backend.Weight;
import dev.sahara.model.DType;

/** A checkpoint tensor uploaded once, in its own dtype, at a device address. */
record CudaWeight(long address, DType dtype, int rows, int cols) implements Weight {}
