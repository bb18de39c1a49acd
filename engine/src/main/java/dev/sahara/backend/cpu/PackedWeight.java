package dev.sahara.backend.cpu;

import dev.sahara.model.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A weight [n][k] re-laid as panels of NR consecutive rows (output columns of the matmul), each panel stored
 * k-major: element (row p·NR + j, column kk) sits at ((p·k + kk)·NR + j), in the checkpoint's dtype, little-endian.
 * The last panel is padded with zero rows. Allocated off-heap (anonymous memory, freed with this object).
 */
final class PackedWeight {
    final MemorySegment data;
    final DType dtype;
    final int n, k, panels;

    private PackedWeight(MemorySegment data, DType dtype, int n, int k, int panels) {
        this.data = data;
        this.dtype = dtype;
        this.n = n;
        this.k = k;
        this.panels = panels;
    }

    /** Byte offset of (panel, kk, 0). */
    long offset(int panel, int kk) { return ((long) panel * k + kk) * MatMulKernel.NR * dtype.bytes; }

    static PackedWeight pack(MemorySegment src, DType dtype, int n, int k) {
        int nr = MatMulKernel.NR, panels = (n + nr - 1) / nr, size = dtype.bytes;
        MemorySegment dst = Arena.ofAuto().allocate((long) panels * nr * k * size, 64);
        for (int row = 0; row < n; row++) {
            int p = row / nr, j = row % nr;
            long srcRow = (long) row * k * size;
            long dstBase = ((long) p * k * nr + j) * size;
            if (size == 4) {
                for (int kk = 0; kk < k; kk++) dst.set(ValueLayout.JAVA_INT_UNALIGNED, dstBase + (long) kk * nr * 4, src.get(ValueLayout.JAVA_INT_UNALIGNED, srcRow + kk * 4L));
            } else {
                for (int kk = 0; kk < k; kk++) dst.set(ValueLayout.JAVA_SHORT_UNALIGNED, dstBase + (long) kk * nr * 2, src.get(ValueLayout.JAVA_SHORT_UNALIGNED, srcRow + kk * 2L));
            }
        }
        return new PackedWeight(dst, dtype, n, k, panels);
    }
}
