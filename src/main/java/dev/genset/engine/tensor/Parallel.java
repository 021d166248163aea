package dev.genset.engine.tensor;

/**
 * Splits loops over a fixed set of threads. The first version simply runs on the calling thread
 * when there is one thread; a persistent pool replaces it for speed.
 */
public final class Parallel implements AutoCloseable {

    @FunctionalInterface
    public interface RangeTask {
        void run(int from, int to);
    }

    private final int threads;

    public Parallel(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1");
        this.threads = threads;
    }

    public int threads() {
        return threads;
    }

    /** Runs task over [0, n) split into at most {@code threads} contiguous chunks, and waits. */
    public void forRange(int n, RangeTask task) {
        int parts = Math.min(threads, n);
        if (parts <= 1) {
            task.run(0, n);
            return;
        }
        java.util.stream.IntStream.range(0, parts).parallel().forEach(p -> {
            int from = (int) ((long) n * p / parts), to = (int) ((long) n * (p + 1) / parts);
            task.run(from, to);
        });
    }

    @Override
    public void close() {}
}
