package dev.sahara.backend.cuda;

import dev.sahara.backend.Tensor;

/** A float32 activation matrix [rows, cols] in device memory; the block returns to the pool when this is unreachable. */
final class CudaTensor implements Tensor {
    private final DeviceMemory.Block block;
    private final int rows, cols;

    CudaTensor(DeviceMemory.Block block, int rows, int cols) {
        this.block = block;
        this.rows = rows;
        this.cols = cols;
    }

    long address() { return block.address(); }

    long bytes() { return (long) rows * cols * Float.BYTES; }

    @Override
    public int rows() { return rows; }

    @Override
    public int cols() { return cols; }
}
