package dev.sahara.model;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * One tensor of a checkpoint: its bytes stay in the memory-mapped file (never copied onto the heap).
 *
 * @param data little-endian elements of {@code dtype}, row-major over {@code shape}
 * @param file the file it was read from, for error messages
 */
public record TensorData(String name, DType dtype, long[] shape, MemorySegment data, Path file) {
    public long elementCount() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    /** Rows of the tensor seen as a matrix [rows][cols] (a vector is one row). */
    public int rows() { return shape.length == 1 ? 1 : Math.toIntExact(elementCount() / shape[shape.length - 1]); }

    public int cols() { return Math.toIntExact(shape[shape.length - 1]); }

    public static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Element i as float32 (slow path: tests, small tensors, weight surgery). */
    public float get(long i) {
        return switch (dtype) {
            case F32 -> data.get(F32_LE, i * 4);
            case BF16 -> Float.intBitsToFloat((data.get(I16_LE, i * 2) & 0xffff) << 16);
            case F16 -> Float.float16ToFloat(data.get(I16_LE, i * 2));
        };
    }

    public String shapeString() { return Arrays.toString(shape); }
}
