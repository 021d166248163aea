package dev.genset.engine.tensor;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ParallelTest {

    @Test
    void countsWhatItsWorkersAllocate() {
        try (Parallel pool = new Parallel(2)) {
            long before = pool.workerAllocatedBytes();
            org.junit.jupiter.api.Assumptions.assumeTrue(before >= 0, "this JVM counts allocations per thread");
            Object[] kept = new Object[64];
            AtomicInteger onWorker = new AtomicInteger();
            // each unit allocates a megabyte on the thread that runs it; again until the worker has taken some
            for (int tries = 0; tries < 100 && onWorker.get() == 0; tries++)
                pool.forRange(64, (from, to) -> {
                    for (int i = from; i < to; i++) kept[i] = new byte[1 << 20];
                    if (Thread.currentThread().getName().startsWith("genset-parallel-")) onWorker.addAndGet(to - from);
                }, Long.MAX_VALUE);
            assertThat(onWorker.get()).as("units the worker ran").isPositive();
            assertThat(pool.workerAllocatedBytes() - before).isGreaterThanOrEqualTo((long) onWorker.get() << 20);
            assertThat(kept).doesNotContainNull();
        }
        try (Parallel alone = new Parallel(1)) {
            assertThat(alone.workerAllocatedBytes()).as("no workers").isIn(0L, -1L);
        }
    }

    @Test
    void everyIndexRunsExactlyOnce() {
        try (Parallel pool = new Parallel(3)) {
            for (int n : new int[] {1, 2, 3, 7, 64, 1000, 4099}) {
                for (int rep = 0; rep < 200; rep++) assertEachIndexRunsOnce(pool, n, null, null);
            }
        }
    }

    /** Chunks are shares of what is left: they shrink along the range, are even but for the last, and the first is a quarter of it. */
    @Test
    void chunksShrinkTowardsTheEndOfTheRange() {
        try (Parallel pool = new Parallel(2)) {
            for (int n : new int[] {256, 704, 33}) {
                var chunks = new java.util.concurrent.ConcurrentSkipListMap<Integer, Integer>();
                pool.forRange(n, (from, to) -> chunks.put(from, to - from));
                assertThat(chunks.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(n);
                assertThat(chunks.firstEntry().getValue()).as("n=%d", n).isEqualTo(n / 4 + 1 & ~1);
                int last = Integer.MAX_VALUE, end = 0;
                for (var c : chunks.entrySet()) {
                    assertThat(c.getKey()).as("contiguous").isEqualTo(end);
                    end = c.getKey() + c.getValue();
                    assertThat(c.getValue()).as("n=%d chunk at %d", n, c.getKey()).isLessThanOrEqualTo(last);
                    if (end < n) assertThat(c.getValue() % 2).as("n=%d chunk at %d", n, c.getKey()).isZero();
                    last = c.getValue();
                }
                assertThat(chunks.size()).as("n=%d: more chunks than an even split's eight", n).isGreaterThan(8);
            }
        }
    }

    /**
     * The smallest chunk: a sixteenth of a thread's even share for light units (a decoding step's
     * row groups), down to two units where each carries a megaflop or more of work (a prompt's).
     */
    @Test
    void theSmallestChunkFollowsTheWorkPerUnit() {
        assertThat(Parallel.grain(256, 2, 0)).isEqualTo(8);
        assertThat(Parallel.grain(256, 2, 256L * 16_384)).as("16 K multiply-adds a unit").isEqualTo(8);
        assertThat(Parallel.grain(256, 2, 256L * 2_000_000)).as("2 M a unit").isEqualTo(2);
        assertThat(Parallel.grain(256, 2, 256L * 262_144)).as("256 K a unit: four make a megaflop").isEqualTo(4);
        assertThat(Parallel.grain(33, 2, 33L << 30)).isEqualTo(2);
        try (Parallel pool = new Parallel(2)) {
            var chunks = new java.util.concurrent.ConcurrentSkipListMap<Integer, Integer>();
            pool.forRange(256, (from, to) -> chunks.put(from, to - from), 256L * 2_000_000);
            assertThat(chunks.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(256);
            assertThat(chunks.lastEntry().getValue()).as("the last chunk").isLessThanOrEqualTo(2);
        }
    }

    @Test
    void resultsAreVisibleToTheCallerAfterTheCall() {
        try (Parallel pool = new Parallel(2)) {
            long[] out = new long[10_000];
            for (int rep = 1; rep <= 2000; rep++) {
                int r = rep;
                pool.forRange(out.length, (from, to) -> {
                    for (int i = from; i < to; i++) out[i] = (long) i * r;
                });
                assertThat(out[out.length - 1]).isEqualTo((long) (out.length - 1) * rep);
                assertThat(out[0] + out[out.length / 2]).isEqualTo((long) (out.length / 2) * rep);
            }
        }
    }

    @Test
    void callsAfterIdleSpellsWakeParkedWorkers() throws InterruptedException {
        try (Parallel pool = new Parallel(2)) {
            var count = new AtomicInteger();
            for (int rep = 0; rep < 3; rep++) {
                Thread.sleep(5);  // longer than the spin window: workers park
                pool.forRange(100, (from, to) -> count.addAndGet(to - from));
            }
            assertThat(count.get()).isEqualTo(300);
        }
    }

    /**
     * Workers held back before joining (as the OS may hold a thread that is waking or put aside):
     * calls finish on the caller alone, without waiting for them; released, a worker that saw an
     * old call joins a later one, and every unit still runs exactly once.
     */
    @Test
    void callsDoNotWaitForWorkersThatHaveNotJoined() {
        try (Parallel pool = new Parallel(3)) {
            var gate = new java.util.concurrent.CountDownLatch(1);
            pool.joinGate = gate;
            java.util.Set<Thread> ran = java.util.concurrent.ConcurrentHashMap.newKeySet();
            Thread[] caller = new Thread[1];
            org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(20), () -> {
                caller[0] = Thread.currentThread();
                for (int rep = 0; rep < 20; rep++) assertEachIndexRunsOnce(pool, 1000, Long.MAX_VALUE, ran);
            });
            assertThat(ran).containsExactly(caller[0]);

            pool.joinGate = null;
            gate.countDown();
            java.util.Set<Thread> shared = java.util.concurrent.ConcurrentHashMap.newKeySet();
            for (int rep = 0; rep < 300; rep++) assertEachIndexRunsOnce(pool, 1 + rep % 97, null, shared);
            runSlowUnitsUntilTwoThreadsRan(pool, shared, null);
            assertThat(shared).as("threads that ran units once released").hasSizeGreaterThanOrEqualTo(2);
        }
    }

    @Test
    void exceptionsReachTheCallerAndThePoolStaysUsable() {
        try (Parallel pool = new Parallel(2)) {
            assertThatThrownBy(() -> pool.forRange(100, (from, to) -> {
                if (from <= 90 && 90 < to) throw new IllegalStateException("boom");
            })).isInstanceOf(IllegalStateException.class).hasMessage("boom");
            var count = new AtomicInteger();
            pool.forRange(100, (from, to) -> count.addAndGet(to - from));
            assertThat(count.get()).isEqualTo(100);
        }
    }

    @Test
    void smallWorkRunsOnTheCallingThreadAndLargeWorkIsShared() {
        try (Parallel pool = new Parallel(2)) {
            java.util.Set<Thread> small = java.util.concurrent.ConcurrentHashMap.newKeySet();
            pool.forRange(64, (from, to) -> small.add(Thread.currentThread()), Parallel.MIN_SHARED_WORK - 1);
            assertThat(small).containsExactly(Thread.currentThread());

            java.util.Set<Thread> large = java.util.concurrent.ConcurrentHashMap.newKeySet();
            runSlowUnitsUntilTwoThreadsRan(pool, large, Parallel.MIN_SHARED_WORK);
            assertThat(large).hasSize(2);
        }
    }

    @Test
    void nestedCallsRunInline() {
        try (Parallel pool = new Parallel(2)) {
            var count = new AtomicInteger();
            pool.forRange(4, (from, to) -> {
                for (int i = from; i < to; i++) pool.forRange(10, (a, b) -> count.addAndGet(b - a));
            });
            assertThat(count.get()).isEqualTo(40);
        }
    }

    @Test
    void closeStopsTheWorkersAndLaterCallsStillWork() throws InterruptedException {
        Parallel pool = new Parallel(3);
        pool.forRange(10, (from, to) -> { });
        pool.close();
        Thread.sleep(50);
        assertThat(Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("genset-parallel-") && t.isAlive())
                .filter(t -> t.getState() != Thread.State.TERMINATED)
                .count()).isLessThanOrEqualTo(countOtherPools());
        var count = new AtomicInteger();
        pool.forRange(10, (from, to) -> count.addAndGet(to - from));
        assertThat(count.get()).isEqualTo(10);
    }

    /** Other tests' pools may run concurrently in this JVM; only ours must be gone. */
    private static long countOtherPools() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("genset-parallel-")).count();
    }

    /**
     * One forRange over n units (with {@code work}, or the plain call where it is null),
     * each index counted: every one must run exactly once; the threads that ran go to {@code ran} if given.
     */
    private static void assertEachIndexRunsOnce(Parallel pool, int n, Long work, java.util.Set<Thread> ran) {
        var hits = new AtomicIntegerArray(n);
        Parallel.RangeTask task = (from, to) -> {
            if (ran != null) ran.add(Thread.currentThread());
            for (int i = from; i < to; i++) hits.incrementAndGet(i);
        };
        if (work == null) pool.forRange(n, task);
        else pool.forRange(n, task, work);
        for (int i = 0; i < n; i++) assertThat(hits.get(i)).as("n=%d index %d", n, i).isEqualTo(1);
    }

    /** Ranges of units slow enough (a millisecond each) that a worker takes some, until two threads have run units or 100 tries. */
    private static void runSlowUnitsUntilTwoThreadsRan(Parallel pool, java.util.Set<Thread> ran, Long work) {
        Parallel.RangeTask task = (from, to) -> {
            ran.add(Thread.currentThread());
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        for (int attempt = 0; attempt < 100 && ran.size() < 2; attempt++) {
            if (work == null) pool.forRange(64, task);
            else pool.forRange(64, task, work);
        }
    }
}
