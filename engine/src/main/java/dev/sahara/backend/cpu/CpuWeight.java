package dev.sahara.backend.cpu;

import dev.sahara.backend.Weight;
import dev.sahara.model.DType;

import java.lang.foreign.MemorySegment;

/**
 * A weight in its own dtype. {@code data} is the tensor as the checkpoint holds it (memory-mapped, row-major
 * [rows][cols]), read by embed. Matmul reads {@link #packed()}: a copy in anonymous memory, made once on first
 * use, in the same dtype and laid out in panels of {@link MatMulKernel#NR} output rows (see {@link PackedWeight}),
 * so the kernel streams contiguous vectors and the weights stay resident (clean file pages get reclaimed).
 * Vectors (norms, biases) are decoded to float32 once ({@link #floats()}).
 */
public final class CpuWeight implements Weight {
    private final MemorySegment data;
    private final DType dtype;
    private final int rows, cols;
    private volatile PackedWeight packed;
    private volatile float[] floats;

    public CpuWeight(MemorySegment data, DType dtype, int rows, int cols) {
        this.data = data;
        this.dtype = dtype;
        this.rows = rows;
        this.cols = cols;
    }

    public MemorySegment data() { return data; }

    @Override
    public DType dtype() { return dtype; }

    @Override
    public int rows() { return rows; }

    @Override
    public int cols() { return cols; }

    PackedWeight packed() {
        PackedWeight p = packed;
        if (p == null) {
            synchronized (this) {
                p = packed;
                if (p == null) packed = p = PackedWeight.pack(data, dtype, rows, cols);
            }
        }
        return p;
    }

    /** The whole tensor as float32 (for small vectors: norms, biases). */
    float[] floats() {
        float[] f = floats;
        if (f == null) {
            f = new float[Math.multiplyExact(rows, cols)];
            WeightDecoder.decode(data, dtype, 0, f.length, f, 0);
            floats = f;
        }
        return f;
    }
}
