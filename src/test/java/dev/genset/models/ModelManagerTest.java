package dev.genset.models;

import dev.genset.engine.generate.GenerationOptions;
import dev.genset.engine.generate.Generator;
import dev.genset.engine.model.Model;
import dev.genset.engine.tensor.Parallel;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelManagerTest {
    @TempDir Path dir;

    static void waitUntil(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition not met within 10 s");
            Thread.sleep(10);
        }
    }

    static String greedy(Model model) {
        try (Parallel pool = new Parallel(1)) {
            Generator g = new Generator(model, pool, 64, 8);
            return g.generate(model.tokenizer().encode("Once upon a time", true, true), GenerationOptions.greedy(6), s -> {}, null).text();
        }
    }

    @Test
    void modelIdlePastItsKeepAliveIsUnloadedAndReloadedOnTheNextRequest() throws Exception {
        ModelStore store = ModelStore.at(dir);
        store.importGguf(TestFiles.storiesModel(), "stories");
        AtomicInteger loads = new AtomicInteger(), closes = new AtomicInteger();
        try (ModelManager<Model> models = ModelManager.<Model>builder(store::resolve, (name, path) -> {
            loads.incrementAndGet();
            return Model.load(path);
        }).keepAlive(KeepAlive.parse("300ms")).build()) {
            try (var lease = models.acquire("stories")) {
                assertThat(greedy(lease.model())).isEqualTo(", there was a little g");
                assertThat(models.loaded()).singleElement().satisfies(l -> {
                    assertThat(l.name()).isEqualTo("stories");
                    assertThat(l.activeRequests()).isEqualTo(1);
                    assertThat(l.expiresAt()).isNull(); // in use: no expiry yet
                });
            }
            // within the keep-alive a second request reuses the loaded model
            try (var lease = models.acquire("stories")) {
                assertThat(lease.model()).isNotNull();
            }
            assertThat(loads).hasValue(1);
            assertThat(models.loaded()).singleElement().satisfies(l -> assertThat(l.expiresAt()).isNotNull());

            waitUntil(() -> models.loaded().isEmpty());
            assertThat(models.usedBytes()).isZero();

            try (var lease = models.acquire("stories")) {
                assertThat(greedy(lease.model())).isEqualTo(", there was a little g");
            }
            assertThat(loads).hasValue(2);
        }
    }

    /** A stand-in model that counts its closing. */
    record Fake(String name, AtomicInteger closed) implements AutoCloseable {
        @Override
        public void close() {
            closed.incrementAndGet();
        }
    }

    Path file(String name, int bytes) throws Exception {
        Path p = dir.resolve(name);
        Files.write(p, new byte[bytes]);
        return p;
    }

    @Test
    void perRequestKeepAliveOverridesTheDefault() throws Exception {
        Path a = file("a", 100);
        AtomicInteger loads = new AtomicInteger(), closed = new AtomicInteger();
        try (ModelManager<Fake> models = ModelManager.<Fake>builder(Path::of, (n, p) -> {
            loads.incrementAndGet();
            return new Fake(n, closed);
        }).keepAlive(KeepAlive.parse("100ms")).build()) {
            models.acquire(a.toString(), KeepAlive.parse("0")).close();
            assertThat(models.loaded()).isEmpty(); // "0": unloaded as the request ends
            assertThat(closed).hasValue(1);

            models.acquire(a.toString(), KeepAlive.parse("-1")).close();
            Thread.sleep(300); // well past the default keep-alive
            assertThat(models.loaded()).singleElement().satisfies(l -> assertThat(l.keepAlive().forever()).isTrue());
            assertThat(models.unload(a.toString())).isTrue();
            assertThat(models.loaded()).isEmpty();
            assertThat(closed).hasValue(2);
            assertThat(loads).hasValue(2);
        }
    }

    /**
     * A request for a model in memory does not measure it again: the server's sizer reads the GGUF's
     * header, which took milliseconds off every request's time to first token.
     */
    @Test
    void aLoadedModelIsNotMeasuredAgain() throws Exception {
        Path a = file("a", 100), b = file("b", 100);
        List<String> measured = java.util.Collections.synchronizedList(new ArrayList<>());
        try (ModelManager<Fake> models = ModelManager.<Fake>builder(Path::of, (n, p) -> new Fake(n, new AtomicInteger()))
                .sizer(p -> {
                    measured.add(p.getFileName().toString());
                    return Files.size(p);
                }).keepAlive(KeepAlive.FOREVER).build()) {
            for (int i = 0; i < 3; i++) models.acquire(a.toString()).close();
            try (var held = models.acquire(a.toString()); var other = models.acquire(b.toString())) {
                assertThat(held.model()).isNotSameAs(other.model());
            }
            assertThat(measured).containsExactly("a", "b");
            assertThat(models.usedBytes()).isEqualTo(200);
            // unloaded, it is measured again when it comes back
            assertThat(models.unload(a.toString())).isTrue();
            models.acquire(a.toString()).close();
            assertThat(measured).containsExactly("a", "b", "a");
        }
    }

    @Test
    void memoryBudgetEvictsTheLeastRecentlyUsedIdleModel() throws Exception {
        Path a = file("a", 400), b = file("b", 400), c = file("c", 400);
        AtomicInteger closed = new AtomicInteger();
        List<String> loaded = new ArrayList<>();
        try (ModelManager<Fake> models = ModelManager.<Fake>builder(Path::of, (n, p) -> {
            synchronized (loaded) {
                loaded.add(p.getFileName().toString());
            }
            return new Fake(n, closed);
        }).keepAlive(KeepAlive.FOREVER).memoryBudget(1000).maxWait(Duration.ofMillis(200)).build()) {
            models.acquire(a.toString()).close();
            models.acquire(b.toString()).close();
            models.acquire(a.toString()).close(); // a is now more recently used than b
            models.acquire(c.toString()).close(); // needs room: b goes
            assertThat(models.loaded()).extracting(l -> l.path().getFileName().toString()).containsExactlyInAnyOrder("a", "c");
            assertThat(models.usedBytes()).isEqualTo(800);
            assertThat(closed).hasValue(1);

            // models in use are never evicted: a request that needs their memory waits, then fails
            try (var la = models.acquire(a.toString()); var lc = models.acquire(c.toString())) {
                assertThatThrownBy(() -> models.acquire(b.toString())).isInstanceOf(ModelManager.CapacityException.class)
                        .hasMessageContaining("no memory for model");
            }
            // a model larger than the whole budget fails at once
            Path huge = file("huge", 2000);
            assertThatThrownBy(() -> models.acquire(huge.toString())).hasMessageContaining("more than the memory budget");
            assertThat(loaded).containsExactly("a", "b", "c");
        }
        assertThat(closed).hasValue(3); // closing the manager unloads the rest
    }

    @Test
    void concurrentRequestsShareOneLoadAndFailuresAreNotCached() throws Exception {
        Path a = file("a", 10);
        AtomicInteger loads = new AtomicInteger();
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger failNext = new AtomicInteger(1);
        try (ModelManager<Fake> models = ModelManager.<Fake>builder(Path::of, (n, p) -> {
            loads.incrementAndGet();
            if (failNext.getAndSet(0) == 1) throw new java.io.IOException("disk on fire");
            release.await();
            return new Fake(n, new AtomicInteger());
        }).build()) {
            assertThatThrownBy(() -> models.acquire(a.toString())).hasMessage("disk on fire");
            assertThat(models.loaded()).isEmpty();

            ExecutorService pool = Executors.newFixedThreadPool(4);
            List<Future<Fake>> results = new ArrayList<>();
            for (int i = 0; i < 4; i++)
                results.add(pool.submit(() -> {
                    try (var lease = models.acquire(a.toString())) {
                        return lease.model();
                    }
                }));
            Thread.sleep(100);
            release.countDown();
            Fake first = results.getFirst().get(5, TimeUnit.SECONDS);
            for (Future<Fake> f : results) assertThat(f.get(5, TimeUnit.SECONDS)).isSameAs(first);
            pool.shutdown();
            assertThat(loads).hasValue(2); // the failed load, then one for all four requests
            assertThat(models.loaded()).singleElement().satisfies(l -> assertThat(l.activeRequests()).isZero());
        }
    }
}
