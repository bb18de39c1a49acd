package dev.sahara.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;
import java.util.function.IntConsumer;

/**
 * Runs {@code body(i)} for i in [0, n) on a fixed pool. Each index is computed by exactly one thread in a
 * fixed order inside it, so results never depend on the thread count.
 */
public final class Parallel {
    private final ForkJoinPool pool;
    private final int threads;

    public Parallel(int threads) {
        this.threads = Math.max(1, threads);
        this.pool = new ForkJoinPool(this.threads);
    }

    public int threads() { return threads; }

    public void forRange(int n, IntConsumer body) {
        if (n <= 0) return;
        if (n == 1 || threads == 1) {
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        pool.invoke(new Range(0, n, Math.max(1, n / (threads * 8)), body));
    }

    public void close() { pool.shutdown(); }

    private static final class Range extends RecursiveAction {
        private final int from, to, grain;
        private final IntConsumer body;

        Range(int from, int to, int grain, IntConsumer body) {
            this.from = from;
            this.to = to;
            this.grain = grain;
            this.body = body;
        }

        @Override
        protected void compute() {
            if (to - from <= grain) {
                for (int i = from; i < to; i++) body.accept(i);
                return;
            }
            int mid = (from + to) >>> 1;
            invokeAll(new Range(from, mid, grain, body), new Range(mid, to, grain, body));
        }
    }
}
