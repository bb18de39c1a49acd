package dev.sahara.backend;

import dev.sahara.model.DType;

/** A weight matrix [rows, cols] (a vector is one row) kept by a backend in its checkpoint dtype. */
public interface Weight {
    DType dtype();

    int rows();

    int cols();
}
