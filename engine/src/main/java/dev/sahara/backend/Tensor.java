package dev.sahara.backend;

/** A float32 activation matrix [rows, cols] owned by a backend (heap array on the CPU, device memory on a GPU). */
public interface Tensor {
    int rows();

    int cols();
}
