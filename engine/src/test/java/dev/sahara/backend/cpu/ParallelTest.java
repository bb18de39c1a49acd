package dev.sahara.backend.cpu;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The spinning pool: every index exactly once, errors reach the caller, nested loops run inline, close stops it. */
class ParallelTest {
    @Test
    void everyIndexExactlyOnceOverManyLoops() {
        try (Parallel p = new Parallel(3)) {
            for (int round = 0; round < 2000; round++) {
                int n = 1 + round % 97;
                AtomicIntegerArray hits = new AtomicIntegerArray(n);
                p.forRange(n, hits::incrementAndGet);
                for (int i = 0; i < n; i++) assertEquals(1, hits.get(i), "round " + round + " index " + i);
            }
        }
    }

    @Test
    void anErrorInAWorkerReachesTheCallerAndThePoolGoesOn() {
        try (Parallel p = new Parallel(2)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> p.forRange(64, i -> {
                if (i == 37) throw new IllegalStateException("boom at 37");
            }));
            assertEquals("boom at 37", e.getMessage());
            AtomicIntegerArray hits = new AtomicIntegerArray(10);
            p.forRange(10, hits::incrementAndGet);
            for (int i = 0; i < 10; i++) assertEquals(1, hits.get(i));
        }
    }

    @Test
    void nestedLoopsRunInlineInsteadOfDeadlocking() {
        try (Parallel p = new Parallel(2)) {
            AtomicIntegerArray hits = new AtomicIntegerArray(8 * 8);
            p.forRange(8, i -> p.forRange(8, j -> hits.incrementAndGet(i * 8 + j)));
            for (int k = 0; k < 64; k++) assertEquals(1, hits.get(k));
        }
    }

    @Test
    void idleWorkersParkInsteadOfSpinning() throws Exception {
        var mx = java.lang.management.ManagementFactory.getThreadMXBean();
        try (Parallel p = new Parallel(2)) {
            for (int round = 0; round < 50; round++) p.forRange(16, i -> {});
            Thread.sleep(100);   // past the spin window
            long[] ids = Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("sahara-cpu-")).mapToLong(Thread::threadId).toArray();
            long before = 0, after = 0;
            for (long id : ids) before += Math.max(0, mx.getThreadCpuTime(id));
            Thread.sleep(300);
            for (long id : ids) after += Math.max(0, mx.getThreadCpuTime(id));
            assertTrue(after - before < 100_000_000L, "idle workers used " + (after - before) / 1e6 + " ms of CPU in 300 ms");
        }
    }
}
