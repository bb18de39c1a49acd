package dev.sahara.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * Runs {@code body(i)} for i in [0, n) on the calling thread and {@code threads − 1} workers. Each index is
 * computed by exactly one thread, in a fixed order inside it, so results never depend on the thread count.
 *
 * <p>A forward pass issues a parallel loop per op, hundreds per decoded token, most of them tens of microseconds
 * long; waking parked pool threads for each (as a ForkJoinPool does) cost more than the work. So workers spin
 * for a short while after a loop ends, picking up the next one at once, and only then park; the caller works on
 * its own loop instead of waiting.
 */
public final class Parallel implements AutoCloseable {
    /** How long an idle worker spins before it parks. */
    private static final long SPIN_NANOS = 200_000;

    private final int threads;
    private final Thread[] workers;
    private final boolean[] parked;
    private volatile Job job;
    private volatile boolean closed;
    private volatile Thread activeCaller;

    /** One loop: indices are handed out in chunks; {@code done} counts finished indices. */
    private static final class Job {
        final IntConsumer body;
        final int n, chunk;
        final AtomicInteger next = new AtomicInteger(), done = new AtomicInteger();
        volatile Throwable error;

        Job(IntConsumer body, int n, int chunk) {
            this.body = body;
            this.n = n;
            this.chunk = chunk;
        }

        void work() {
            int i;
            while ((i = next.getAndAdd(chunk)) < n) {
                int end = Math.min(n, i + chunk);
                try {
                    for (int k = i; k < end; k++) body.accept(k);
                } catch (Throwable t) {
                    error = t;
                } finally {
                    done.addAndGet(end - i);
                }
            }
        }
    }

    public Parallel(int threads) {
        this.threads = Math.max(1, threads);
        this.workers = new Thread[this.threads - 1];
        this.parked = new boolean[workers.length];
        for (int w = 0; w < workers.length; w++) {
            int id = w;
            workers[w] = Thread.ofPlatform().daemon().name("sahara-cpu-" + (w + 1)).unstarted(() -> workerLoop(id));
            workers[w].start();
        }
    }

    public int threads() { return threads; }

    public void forRange(int n, IntConsumer body) {
        if (n <= 0) return;
        if (n == 1 || threads == 1 || Thread.currentThread() == activeCaller || isWorker()) {
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        synchronized (this) {
            Job j = new Job(body, n, Math.max(1, n / (threads * 4)));
            activeCaller = Thread.currentThread();
            try {
                job = j;
                synchronized (parked) {
                    for (int w = 0; w < workers.length; w++) if (parked[w]) LockSupport.unpark(workers[w]);
                }
                j.work();
                while (j.done.get() < n) Thread.onSpinWait();
            } finally {
                activeCaller = null;
                job = null;   // drop the loop's body (and the arrays it captured); idle workers treat null as no work
            }
            Throwable e = j.error;
            if (e instanceof RuntimeException re) throw re;
            if (e instanceof Error er) throw er;
            if (e != null) throw new IllegalStateException(e);
        }
    }

    private boolean isWorker() {
        Thread t = Thread.currentThread();
        for (Thread w : workers) if (w == t) return true;
        return false;
    }

    /** No loop to join: none published (null) or only the one this worker already took part in. */
    private boolean noNewJob(Job last) {
        Job j = job;
        return j == null || j == last;
    }

    private void workerLoop(int id) {
        Job last = null;
        while (!closed) {
            Job j = job;
            if (j != null && j != last) {
                last = j;
                j.work();
                continue;
            }
            long spinUntil = System.nanoTime() + SPIN_NANOS;
            while (noNewJob(last) && !closed && System.nanoTime() < spinUntil) Thread.onSpinWait();
            if (!noNewJob(last) || closed) continue;
            synchronized (parked) {
                parked[id] = true;
            }
            // A loop published after this check unparks us (parked[id] is set); the timeout bounds any race.
            if (noNewJob(last) && !closed) LockSupport.parkNanos(10_000_000L);
            synchronized (parked) {
                parked[id] = false;
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) LockSupport.unpark(w);
    }
}
