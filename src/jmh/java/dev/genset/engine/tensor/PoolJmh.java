package dev.genset.engine.tensor;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The pool after an idle spell: its workers have parked, and the OS takes a while to run one
 * again. Each invocation follows {@code idleMillis} of idleness and makes four calls of 64 units of
 * 5 us each (as a decoding step's first products come one after another), so its time is what
 * the first calls of a step or a request pay for waking the workers.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 20)
@Measurement(iterations = 200)
public class PoolJmh {
    @Param({"2"})
    public int threads;
    @Param({"5"})
    public int idleMillis;

    private Parallel pool;
    private static volatile long sink;

    @Setup(Level.Trial)
    public void start() {
        pool = new Parallel(threads);
    }

    @TearDown(Level.Trial)
    public void stop() {
        pool.close();
    }

    @Setup(Level.Invocation)
    public void idle() throws InterruptedException {
        Thread.sleep(idleMillis);
    }

    @Benchmark
    public void callsAfterIdle() {
        for (int call = 0; call < 4; call++) pool.forRange(64, PoolJmh::busy, Long.MAX_VALUE);
    }

    /** About 5 us of work a unit. */
    private static void busy(int from, int to) {
        long end = System.nanoTime() + 5_000L * (to - from), spins = 0;
        while (System.nanoTime() < end) spins++;
        sink += spins;
    }
}
