package dev.sahara.backend.cuda;

import java.util.ArrayList;
import java.util.List;

/**
 * A kernel's arguments in order, as cuLaunchKernel's kernelParams will point at them: device addresses and 64-bit
 * counts as 8 bytes, {@code int} and {@code float} as 4. Each {@link GpuDevice} marshals them its own way.
 */
final class KernelArgs {
    /** One argument: its size in bytes (4 or 8) and its bits, low-order first. */
    record Arg(int bytes, long bits) {}

    private final List<Arg> list = new ArrayList<>();

    KernelArgs ptr(long address) { return add(8, address); }

    KernelArgs i64(long v) { return add(8, v); }

    KernelArgs i32(int v) { return add(4, v & 0xffffffffL); }

    KernelArgs f32(float v) { return add(4, Float.floatToRawIntBits(v) & 0xffffffffL); }

    private KernelArgs add(int bytes, long bits) {
        list.add(new Arg(bytes, bits));
        return this;
    }

    List<Arg> list() { return list; }
}
