package dev.sahara.backend.cuda;

import java.lang.ref.Cleaner;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Device memory for activations. The forward allocates its buffers per call and drops them (the CPU backend
 * leaves that to the GC), so a block whose tensor became unreachable comes back, through a {@link Cleaner},
 * to a pool keyed by size, and the next allocation of that size reuses it. All work runs on one stream, so
 * reuse is ordered after every earlier use. When the device is full, the pool is emptied (after a GC) and the
 * allocation retried. Weights are allocated here too but never pooled; {@link #close} frees everything.
 */
final class DeviceMemory implements AutoCloseable {
    /** One allocation: its device address and size. */
    record Block(long address, long bytes) {}

    private static final Cleaner CLEANER = Cleaner.create();

    private final GpuDevice device;
    private final ConcurrentLinkedQueue<Block> returned = new ConcurrentLinkedQueue<>();
    private final Map<Long, ArrayDeque<Block>> free = new HashMap<>();
    private final List<Block> all = new ArrayList<>();
    private volatile boolean closed;

    DeviceMemory(GpuDevice device) { this.device = device; }

    /** A block of exactly {@code bytes}: a pooled one when there is one, else a new allocation. */
    Block take(long bytes) {
        Block b = poll(bytes);
        return b != null ? b : allocate(bytes);
    }

    /** Returns {@code b} to the pool once {@code owner} is unreachable. */
    void returnWhenUnreachable(Object owner, Block b) {
        CLEANER.register(owner, () -> { if (!closed) returned.add(b); });
    }

    /** A block that stays until {@link #close} (weights, scratch). */
    synchronized Block permanent(long bytes) { return allocate(bytes); }

    /** Frees one permanent block now (a scratch buffer that grew). */
    synchronized void release(Block b) {
        all.remove(b);
        device.free(b.address());
    }

    private synchronized Block poll(long bytes) {
        drain();
        ArrayDeque<Block> q = free.get(bytes);
        return q == null ? null : q.poll();
    }

    private void drain() {
        for (Block b; (b = returned.poll()) != null; ) free.computeIfAbsent(b.bytes(), k -> new ArrayDeque<>()).add(b);
    }

    private synchronized Block allocate(long bytes) {
        long address;
        try {
            address = device.allocate(Math.max(bytes, 4));
        } catch (GpuDevice.OutOfMemory e) {
            System.gc();
            try {
                Thread.sleep(100);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
            drain();
            for (ArrayDeque<Block> q : free.values()) for (Block b : q) release(b);
            free.clear();
            address = device.allocate(Math.max(bytes, 4));
        }
        Block b = new Block(address, bytes);
        all.add(b);
        return b;
    }

    long allocatedBytes() {
        synchronized (this) {
            return all.stream().mapToLong(Block::bytes).sum();
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        for (Block b : all) device.free(b.address());
        all.clear();
        free.clear();
        returned.clear();
    }
}
