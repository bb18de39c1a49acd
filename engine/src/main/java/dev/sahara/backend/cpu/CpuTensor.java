package dev.sahara.backend.cpu;

import dev.sahara.backend.Tensor;

/** A float32 activation matrix on the Java heap, row-major. */
public record CpuTensor(float[] data, int rows, int cols) implements Tensor {}
