package dev.genset.engine.tensor;

import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * A persistent pool of {@code threads - 1} daemon platform threads plus the calling thread,
 * for splitting loops. A call publishes the task through a volatile generation counter; idle
 * workers spin for a short while (calls come back to back during a forward pass) and then park.
 * Work is handed out in contiguous chunks from a shared counter so that a thread the OS
 * delays simply takes fewer chunks; each chunk is a share of what is left, so they shrink towards
 * the end of a call and the threads finish close together. No allocation happens per call.
 *
 * <p>A worker joins a call before it takes chunks, and the caller, once no chunk is left, waits
 * only for the workers that joined: one that the OS has not run yet (waking from a park, or put
 * aside for the JIT's compiler threads while a model's first pass runs on two cores) does not hold
 * up a call that the others have finished without it.
 *
 * <p>One call runs at a time: a call made while another is running (from a task, or from a
 * second thread) runs on its own thread without the pool.
 */
public final class Parallel implements AutoCloseable {

    @FunctionalInterface
    public interface RangeTask {
        void run(int from, int to);
    }

    /** How long an idle thread spins before parking. */
    private static final long SPIN_NANOS = 200_000;
    /**
     * Chunks per thread were this call split evenly: the smallest chunk handed out is a quarter of
     * such a chunk (at least two units, an even number, so that the decoding kernels' pairs of row
     * groups stay pairs).
     */
    private static final int CHUNKS_PER_THREAD = 4;

    private final int threads;
    private final Worker[] workers;
    private final AtomicBoolean busy = new AtomicBoolean();
    private final AtomicInteger next = new AtomicInteger();
    /**
     * The running call's count of workers that joined it, with {@link #CLOSED} added once the
     * caller stops letting workers join (every chunk taken). Set to 0 (open) before a call is published.
     */
    private final AtomicInteger joined = new AtomicInteger(CLOSED);
    private static final int CLOSED = 1 << 30;
    /** Workers that joined the running call and have finished their part of it. */
    private final AtomicInteger done = new AtomicInteger();
    /** Tests only: while set, workers wait on it before joining a call. */
    volatile java.util.concurrent.CountDownLatch joinGate;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile long generation;
    private volatile boolean closed;
    private volatile boolean callerParked;
    private Thread caller;
    private RangeTask task;
    /** The call's units, and the least of them a chunk takes. */
    private int n, grain;

    /** A pool using every available processor. */
    public Parallel() {
        this(Runtime.getRuntime().availableProcessors());
    }

    public Parallel(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1");
        this.threads = threads;
        this.workers = new Worker[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker();
            Thread t = Thread.ofPlatform().daemon().name("genset-parallel-" + (i + 1)).unstarted(workers[i]);
            workers[i].thread = t;
            t.start();
        }
    }

    public int threads() {
        return threads;
    }

    /**
     * Bytes allocated so far by this pool's own threads (the callers' are theirs to count), or -1
     * where the JVM does not count them. Kernels allocate nothing once compiled; a kernel that
     * allocates on every call was compiled with its vectors left as objects, and runs several
     * times slower.
     */
    public long workerAllocatedBytes() {
        if (!(ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean mx)
                || !mx.isThreadAllocatedMemorySupported() || !mx.isThreadAllocatedMemoryEnabled()) return -1;
        long[] ids = new long[workers.length];
        for (int i = 0; i < ids.length; i++) ids[i] = workers[i].thread.threadId();
        long total = 0;
        for (long bytes : mx.getThreadAllocatedBytes(ids)) if (bytes > 0) total += bytes;
        return total;
    }

    /**
     * Work (in multiply-adds or the like) below which {@link #forRange(int, RangeTask, long)} runs
     * on the calling thread: handing a call to the pool costs more than that much arithmetic
     * (waking a worker takes microseconds, milliseconds on a busy machine). Small models are made
     * of nothing but such calls.
     */
    public static final long MIN_SHARED_WORK = 1 << 18;

    /**
     * {@link #forRange(int, RangeTask)}, or on the calling thread alone when {@code work} is below
     * {@link #MIN_SHARED_WORK}. Knowing the work, the smallest chunk is also kept to about
     * {@link #LEAST_CHUNK_WORK}: where each unit is heavy (a row group of a prompt's product
     * carries the whole prompt's columns), the last chunks shrink to a unit or two instead of a
     * fixed share of the count, so the threads finish closer together.
     */
    public void forRange(int n, RangeTask task, long work) {
        if (work < MIN_SHARED_WORK) {
            if (n > 0) task.run(0, n);
        } else {
            run(n, task, work);
        }
    }

    /**
     * Work (multiply-adds) a chunk need not go below: tens of microseconds, many times what taking
     * a chunk costs. For light units the count's rule still decides: smallest chunks a sixteenth
     * of its size made decoding slower, the threads contending for the shared counter and each
     * chunk starting its memory streams afresh (BENCHMARKS.md, round 36).
     */
    static final long LEAST_CHUNK_WORK = 1 << 20;

    /** The smallest chunk for n units of this much work in all (0: unknown): even, at least 2. */
    static int grain(int n, int threads, long work) {
        int grain = Math.max(2, (n + threads * CHUNKS_PER_THREAD - 1) / (threads * CHUNKS_PER_THREAD) / 4 & ~1);
        if (work <= 0) return grain;
        long units = Math.max(1, LEAST_CHUNK_WORK * n / work);
        return (int) Math.max(2, Math.min(grain, units + 1 & ~1));
    }

    /**
     * Runs task over [0, n) as contiguous sub-ranges spread over the threads (the caller
     * included), and returns when all are done. An exception thrown by the task is rethrown here
     * after every thread has stopped working on the call.
     */
    public void forRange(int n, RangeTask task) {
        run(n, task, 0);
    }

    private void run(int n, RangeTask task, long work) {
        if (n <= 0) return;
        if (workers.length == 0 || n == 1 || closed || !busy.compareAndSet(false, true)) {
            task.run(0, n);
            return;
        }
        try {
            this.task = task;
            this.n = n;
            this.grain = grain(n, threads, work);
            this.caller = Thread.currentThread();
            next.set(0);
            done.set(0);
            joined.set(0);
            generation++;  // volatile write: publishes the fields above
            for (Worker w : workers) if (w.parked) LockSupport.unpark(w.thread);
            runChunks();
            awaitWorkers(joined.getAndAdd(CLOSED));
            Throwable t = failure.getAndSet(null);
            if (t instanceof RuntimeException e) throw e;
            if (t instanceof Error e) throw e;
            if (t != null) throw new IllegalStateException(t);
        } finally {
            this.task = null;
            busy.set(false);
        }
    }

    /**
     * Takes chunks until none is left: each what remains divided by twice the number of threads,
     * rounded up to an even count, and at least {@link #grain}. Measured against fixed chunks of an eighth of the
     * units on two threads (alternating, twelve pairs each): a decoding step of one sequence
     * 1.02x to 1.04x faster (medians), of sixteen 1.01x to 1.05x, prompts 0.98x (four pairs, within the noise);
     * the pool's waits at the end of each call had been about 6% of a decoding step.
     */
    private void runChunks() {
        RangeTask t = task;
        int size = n, least = grain, share = 2 * threads;
        try {
            for (int from; (from = next.get()) < size; ) {
                int to = Math.min(size, from + Math.max(least, (size - from) / share + 1 & ~1));
                if (next.compareAndSet(from, to)) t.run(from, to);
            }
        } catch (Throwable e) {
            failure.compareAndSet(null, e);
            next.set(size);  // stop handing out chunks
        }
    }

    /** Waits until {@code count} joined workers are done. */
    private void awaitWorkers(int count) {
        long start = 0;
        for (int spins = 0; done.get() != count; spins++) {
            if ((spins & 63) != 0) {
                Thread.onSpinWait();
                continue;
            }
            long now = System.nanoTime();
            if (start == 0) start = now;
            else if (now - start > SPIN_NANOS) {
                callerParked = true;
                if (done.get() != count) LockSupport.parkNanos(this, 1_000_000);
                callerParked = false;
            }
        }
    }

    private final class Worker implements Runnable {
        Thread thread;
        volatile boolean parked;

        @Override
        public void run() {
            long seen = 0;
            while (true) {
                long g, start = 0;
                for (int spins = 0; (g = generation) == seen; spins++) {
                    if (closed) return;
                    if ((spins & 63) != 0) {
                        Thread.onSpinWait();
                        continue;
                    }
                    long now = System.nanoTime();
                    if (start == 0) start = now;
                    else if (now - start > SPIN_NANOS) {
                        parked = true;
                        if (generation == seen && !closed) LockSupport.park(this);
                        parked = false;
                    }
                }
                seen = g;
                if (!join()) continue;
                runChunks();
                done.incrementAndGet();
                if (callerParked) LockSupport.unpark(caller);
            }
        }
    }

    /**
     * Joins the running call, unless the caller has closed it. A worker delayed between seeing a
     * call and joining may join the next one instead (it then counts in that call, whose fields it
     * reads, and may join it twice); each join is matched by one {@link #done} increment.
     */
    private boolean join() {
        var gate = joinGate;
        if (gate != null) {
            try {
                gate.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (int v; ((v = joined.get()) & CLOSED) == 0; )
            if (joined.compareAndSet(v, v + 1)) return true;
        return false;
    }

    /** Stops the worker threads; later calls run on the calling thread. */
    @Override
    public void close() {
        closed = true;
        for (Worker w : workers) LockSupport.unpark(w.thread);
        for (Worker w : workers) {
            try {
                w.thread.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
