package dev.genset.models;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Loads models on their first request and unloads them when idle, as Ollama does: each model stays
 * loaded for a keep-alive after its last request ends (a default, overridden per request), and a
 * memory budget evicts the least recently used idle model when a new one needs room.
 *
 * <p>Requests hold a {@link Lease} while they use a model; a leased model is never unloaded, and its
 * keep-alive clock starts when the last lease is released. Concurrent requests for a model that is
 * loading wait for that one load. Thread-safe; knows nothing of HTTP.
 *
 * <pre>
 * ModelManager&lt;Model&gt; models = ModelManager.builder(ModelStore.atDefaultHome()::resolve, (name, path) -&gt; Model.load(path))
 *         .keepAlive(KeepAlive.parse("5m")).memoryBudget(8L &lt;&lt; 30).build();
 * try (var lease = models.acquire(request.model(), KeepAlive.parse(request.keepAlive()))) {
 *     generate(lease.model(), ...);
 * }
 * </pre>
 *
 * @param <M> the loaded model type; unloading closes it if it is {@link AutoCloseable}
 */
public final class ModelManager<M> implements AutoCloseable {

    /** Loads a model; {@code name} is what the request said, {@code path} what it resolved to. */
    @FunctionalInterface
    public interface Loader<M> {
        M load(String name, Path path) throws Exception;
    }

    /** Maps a request's model name to its file (e.g. {@link ModelStore#resolve}). */
    @FunctionalInterface
    public interface Resolver {
        Path resolve(String name) throws IOException;
    }

    /** Bytes a model will take once loaded (default: its file size). */
    @FunctionalInterface
    public interface Sizer {
        long size(Path path) throws IOException;
    }

    /** A model in memory, as {@link #loaded()} reports it. */
    public record Loaded(String name, Path path, long size, int activeRequests, KeepAlive keepAlive, Instant expiresAt) {}

    /** Thrown when a model cannot get memory within the budget. */
    public static final class CapacityException extends IOException {
        public CapacityException(String message) {
            super(message);
        }
    }

    private final Resolver resolver;
    private final Loader<M> loader;
    private final Sizer sizer;
    private final KeepAlive defaultKeepAlive;
    private final long budget;
    private final int maxLoaded;
    private final Duration maxWait;
    private final ScheduledExecutorService timer;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition released = lock.newCondition();
    private final Map<Path, Entry<M>> entries = new HashMap<>();
    private long used; // bytes of loaded and loading models
    private boolean closed;

    private static final class Entry<M> {
        final String name;
        final Path path;
        final long size;
        final CompletableFuture<M> model = new CompletableFuture<>();
        int refs;
        long lastUsed;
        KeepAlive keepAlive;
        long expiresAtMillis = Long.MAX_VALUE;
        ScheduledFuture<?> expiry;

        Entry(String name, Path path, long size, KeepAlive keepAlive) {
            this.name = name;
            this.path = path;
            this.size = size;
            this.keepAlive = keepAlive;
        }
    }

    private ModelManager(Builder<M> b) {
        this.resolver = b.resolver;
        this.loader = b.loader;
        this.sizer = b.sizer;
        this.defaultKeepAlive = b.keepAlive;
        this.budget = b.memoryBudget;
        this.maxLoaded = b.maxLoaded;
        this.maxWait = b.maxWait;
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
            Thread th = new Thread(r, "genset-model-keepalive");
            th.setDaemon(true);
            return th;
        });
        t.setRemoveOnCancelPolicy(true);
        this.timer = t;
    }

    public static <M> Builder<M> builder(Resolver resolver, Loader<M> loader) {
        return new Builder<>(resolver, loader);
    }

    public static final class Builder<M> {
        private final Resolver resolver;
        private final Loader<M> loader;
        private Sizer sizer = Files::size;
        private KeepAlive keepAlive = KeepAlive.DEFAULT;
        private long memoryBudget = Long.MAX_VALUE;
        private int maxLoaded = Integer.MAX_VALUE;
        private Duration maxWait = Duration.ofMinutes(5);

        private Builder(Resolver resolver, Loader<M> loader) {
            this.resolver = Objects.requireNonNull(resolver);
            this.loader = Objects.requireNonNull(loader);
        }

        /** Keep-alive of requests that do not give one (default 5 minutes). */
        public Builder<M> keepAlive(KeepAlive k) { this.keepAlive = Objects.requireNonNull(k); return this; }
        /** Bytes all loaded models may take together (default unlimited). */
        public Builder<M> memoryBudget(long bytes) { this.memoryBudget = bytes; return this; }
        /** How many models may be loaded at once (default unlimited). */
        public Builder<M> maxLoaded(int n) { this.maxLoaded = n; return this; }
        /** How long a request waits for busy models to free memory before failing (default 5 minutes). */
        public Builder<M> maxWait(Duration d) { this.maxWait = Objects.requireNonNull(d); return this; }
        public Builder<M> sizer(Sizer s) { this.sizer = Objects.requireNonNull(s); return this; }
        public ModelManager<M> build() { return new ModelManager<>(this); }
    }

    /** A request's hold on a loaded model; close it when the request ends. */
    public final class Lease implements AutoCloseable {
        private final Entry<M> entry;
        private final M model;
        private boolean released;

        private Lease(Entry<M> entry, M model) {
            this.entry = entry;
            this.model = model;
        }

        public M model() { return model; }
        public String name() { return entry.name; }
        public Path path() { return entry.path; }

        @Override
        public void close() {
            synchronized (this) {
                if (released) return;
                released = true;
            }
            release(entry);
        }
    }

    /** The model, loading it if needed, with the default keep-alive (or the one last requested). */
    public Lease acquire(String name) throws IOException {
        return acquire(name, null);
    }

    /**
     * The model {@code name}, loaded if it is not in memory yet. {@code keepAlive} (null: the
     * default) becomes the model's keep-alive, as the last request's keep_alive does in Ollama.
     */
    public Lease acquire(String name, KeepAlive keepAlive) throws IOException {
        Path path = resolver.resolve(name).toAbsolutePath().normalize();
        // measured only for a model that is not in memory: a sizer may read the file (a GGUF's
        // header, milliseconds for a large vocabulary), which a request for a loaded model must not wait for
        long size = -1;
        long deadline = System.nanoTime() + maxWait.toNanos();
        Entry<M> entry;
        boolean mustLoad = false;
        List<Entry<M>> evicted = new ArrayList<>();
        lock.lock();
        try {
            while (true) {
                if (closed) throw new IllegalStateException("the model manager is closed");
                entry = entries.get(path);
                if (entry != null) {
                    entry.refs++;
                    if (keepAlive != null) entry.keepAlive = keepAlive;
                    cancelExpiry(entry);
                    break;
                }
                if (size < 0) {  // outside the lock, then look again: another request may have loaded it meanwhile
                    lock.unlock();
                    try {
                        size = Math.max(0, sizer.size(path));
                    } finally {
                        lock.lock();
                    }
                    continue;
                }
                if (size > budget)
                    throw new CapacityException("model " + name + " needs " + ModelDetails.formatBytes(size) + ", more than the memory budget of " + ModelDetails.formatBytes(budget));
                // make room: evict idle models, least recently used first
                List<Entry<M>> idle = entries.values().stream().filter(e -> e.refs == 0 && e.model.isDone())
                        .sorted(Comparator.comparingLong(e -> e.lastUsed)).toList();
                for (Entry<M> e : idle) {
                    if (used + size <= budget && entries.size() < maxLoaded) break;
                    removeLocked(e);
                    evicted.add(e);
                }
                if (used + size <= budget && entries.size() < maxLoaded) {
                    entry = new Entry<>(name, path, size, keepAlive != null ? keepAlive : defaultKeepAlive);
                    entry.refs = 1;
                    entries.put(path, entry);
                    used += size;
                    mustLoad = true;
                    break;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0)
                    throw new CapacityException("no memory for model " + name + " (" + ModelDetails.formatBytes(size) + "): the models in use take "
                            + ModelDetails.formatBytes(used) + " of the " + ModelDetails.formatBytes(budget) + " budget");
                try {
                    released.awaitNanos(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("interrupted while waiting for memory for model " + name);
                }
            }
        } finally {
            lock.unlock();
        }
        for (Entry<M> e : evicted) unload(e);

        if (mustLoad) {
            try {
                entry.model.complete(loader.load(name, path));
            } catch (Throwable t) {
                entry.model.completeExceptionally(t);
                lock.lock();
                try {
                    if (entries.get(path) == entry) removeLocked(entry);
                    released.signalAll();
                } finally {
                    lock.unlock();
                }
            }
        }
        M model;
        try {
            model = entry.model.get();
        } catch (InterruptedException e) {
            release(entry);
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while loading model " + name);
        } catch (ExecutionException e) {
            releaseFailed(entry);
            Throwable c = e.getCause();
            if (c instanceof IOException io) throw io;
            if (c instanceof RuntimeException re) throw re;
            if (c instanceof Error err) throw err;
            throw new IOException("cannot load model " + name + ": " + c.getMessage(), c);
        }
        return new Lease(entry, model);
    }

    private void releaseFailed(Entry<M> entry) {
        lock.lock();
        try {
            entry.refs--;
        } finally {
            lock.unlock();
        }
    }

    private void release(Entry<M> entry) {
        boolean unloadNow = false;
        lock.lock();
        try {
            entry.refs--;
            entry.lastUsed = System.nanoTime();
            if (entry.refs == 0 && entries.get(entry.path) == entry) {
                KeepAlive k = entry.keepAlive;
                if (closed || k.immediate()) {
                    removeLocked(entry);
                    unloadNow = true;
                } else if (!k.forever()) {
                    long millis = k.duration().toMillis();
                    entry.expiresAtMillis = System.currentTimeMillis() + millis;
                    entry.expiry = timer.schedule(() -> expire(entry), millis, TimeUnit.MILLISECONDS);
                }
            }
            released.signalAll();
        } finally {
            lock.unlock();
        }
        if (unloadNow) unload(entry);
    }

    private void expire(Entry<M> entry) {
        lock.lock();
        try {
            if (entry.refs != 0 || entries.get(entry.path) != entry || System.currentTimeMillis() < entry.expiresAtMillis) return;
            removeLocked(entry);
            released.signalAll();
        } finally {
            lock.unlock();
        }
        unload(entry);
    }

    private void cancelExpiry(Entry<M> e) {
        if (e.expiry != null) e.expiry.cancel(false);
        e.expiry = null;
        e.expiresAtMillis = Long.MAX_VALUE;
    }

    private void removeLocked(Entry<M> e) {
        cancelExpiry(e);
        if (entries.remove(e.path, e)) used -= e.size;
    }

    private void unload(Entry<M> e) {
        if (!e.model.isDone() || e.model.isCompletedExceptionally()) return;
        M m = e.model.join();
        if (m instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception ignored) {
                // unloading is best effort
            }
        }
    }

    /**
     * Unloads {@code name} now if no request uses it; otherwise when its last request ends. Returns
     * whether it was loaded. (Ollama: a request with keep_alive 0 and no prompt.)
     */
    public boolean unload(String name) throws IOException {
        Path path = resolver.resolve(name).toAbsolutePath().normalize();
        Entry<M> e;
        lock.lock();
        try {
            e = entries.get(path);
            if (e == null) return false;
            e.keepAlive = KeepAlive.NONE;
            if (e.refs > 0 || !e.model.isDone()) return true;
            removeLocked(e);
            released.signalAll();
        } finally {
            lock.unlock();
        }
        unload(e);
        return true;
    }

    /** The models in memory now (Ollama's /api/ps), most recently used first. */
    public List<Loaded> loaded() {
        lock.lock();
        try {
            return entries.values().stream().filter(e -> e.model.isDone() && !e.model.isCompletedExceptionally())
                    .sorted(Comparator.comparingLong((Entry<M> e) -> e.lastUsed).reversed())
                    .map(e -> new Loaded(e.name, e.path, e.size, e.refs, e.keepAlive,
                            e.expiresAtMillis == Long.MAX_VALUE ? null : Instant.ofEpochMilli(e.expiresAtMillis)))
                    .toList();
        } finally {
            lock.unlock();
        }
    }

    /** Bytes the loaded models take. */
    public long usedBytes() {
        lock.lock();
        try {
            return used;
        } finally {
            lock.unlock();
        }
    }

    /** Unloads every idle model now; models in use unload when their requests end. */
    @Override
    public void close() {
        List<Entry<M>> idle = new ArrayList<>();
        lock.lock();
        try {
            closed = true;
            for (Entry<M> e : new ArrayList<>(entries.values())) {
                if (e.refs == 0 && e.model.isDone()) {
                    removeLocked(e);
                    idle.add(e);
                } else {
                    e.keepAlive = KeepAlive.NONE;
                }
            }
            released.signalAll();
        } finally {
            lock.unlock();
        }
        for (Entry<M> e : idle) unload(e);
        timer.shutdownNow();
    }
}
