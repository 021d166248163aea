package dev.genset.server;

import dev.genset.engine.model.KvType;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * How {@code genset serve} runs.
 *
 * @param host           address to listen on
 * @param port           port; 0 picks a free one
 * @param models         GGUF files to serve; each request names one by its id (file name without .gguf)
 * @param parallel       sequences decoded together per model (slots)
 * @param contextSize    context of each slot in tokens, or null for the model's (at most 4096)
 * @param threads        worker threads per model's forward pass
 * @param batchSize      rows in one forward pass at most
 * @param queueCapacity  requests per model that may wait for a slot before the server answers 429
 * @param requestTimeout a generation still running after this long is stopped
 * @param maxBodyBytes   larger request bodies get 413
 * @param shutdownGrace  how long a shutdown lets running generations finish
 * @param warmup         run each model's forward pass once at load, before it is ready, so the JIT compiles its
 *                       kernels then and not during the first request (as llama.cpp's server does; --no-warmup)
 * @param promptCacheBytes bytes per model of computed prompts kept after their slot moved on, for later prompts
 *                       that start the same way (llama.cpp's --cache-ram); at most a quarter of the machine's memory; 0 for none
 * @param cacheTypeK     how the slots' KV caches store keys (--cache-type-k)
 * @param cacheTypeV     how they store values (--cache-type-v)
 */
public record ServerConfig(String host, int port, List<Path> models, int parallel, Integer contextSize, int threads,
                           int batchSize, int queueCapacity, Duration requestTimeout, long maxBodyBytes, Duration shutdownGrace,
                           boolean warmup, long promptCacheBytes, KvType cacheTypeK, KvType cacheTypeV) {
    /** llama.cpp's server's default for its prompt cache (8 GiB). */
    public static final long DEFAULT_PROMPT_CACHE_BYTES = 8L << 30;

    public ServerConfig {
        if (models == null || models.isEmpty()) throw new IllegalArgumentException("no model to serve");
        models = List.copyOf(models);
        if (parallel < 1) throw new IllegalArgumentException("--parallel must be at least 1");
        if (contextSize != null && contextSize < 2) throw new IllegalArgumentException("--ctx-size must be at least 2");
        if (threads < 1) throw new IllegalArgumentException("--threads must be at least 1");
        if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be at least 1");
        if (queueCapacity < 0) throw new IllegalArgumentException("the queue size must be >= 0");
        if (maxBodyBytes < 1024) throw new IllegalArgumentException("the body limit must be at least 1 KiB");
        if (promptCacheBytes < 0) throw new IllegalArgumentException("--cache-ram must be >= 0");
        if (cacheTypeK == null || cacheTypeV == null) throw new IllegalArgumentException("no KV cache type");
    }

    /** With f16 keys and values in the KV caches, as llama.cpp's server keeps them. */
    public ServerConfig(String host, int port, List<Path> models, int parallel, Integer contextSize, int threads,
                        int batchSize, int queueCapacity, Duration requestTimeout, long maxBodyBytes, Duration shutdownGrace,
                        boolean warmup, long promptCacheBytes) {
        this(host, port, models, parallel, contextSize, threads, batchSize, queueCapacity, requestTimeout, maxBodyBytes, shutdownGrace, warmup,
                promptCacheBytes, KvType.F16, KvType.F16);
    }

    public ServerConfig(String host, int port, List<Path> models, int parallel, Integer contextSize, int threads,
                        int batchSize, int queueCapacity, Duration requestTimeout, long maxBodyBytes, Duration shutdownGrace,
                        boolean warmup) {
        this(host, port, models, parallel, contextSize, threads, batchSize, queueCapacity, requestTimeout, maxBodyBytes, shutdownGrace, warmup,
                DEFAULT_PROMPT_CACHE_BYTES);
    }

    /** With warm-up on. */
    public ServerConfig(String host, int port, List<Path> models, int parallel, Integer contextSize, int threads,
                        int batchSize, int queueCapacity, Duration requestTimeout, long maxBodyBytes, Duration shutdownGrace) {
        this(host, port, models, parallel, contextSize, threads, batchSize, queueCapacity, requestTimeout, maxBodyBytes, shutdownGrace, true);
    }

    public static ServerConfig defaults(List<Path> models) {
        return new ServerConfig("127.0.0.1", 8080, models, 4, null, Runtime.getRuntime().availableProcessors(), 128, 64,
                Duration.ofMinutes(10), 16L << 20, Duration.ofSeconds(30));
    }

    public ServerConfig withPort(int p) {
        return new ServerConfig(host, p, models, parallel, contextSize, threads, batchSize, queueCapacity, requestTimeout, maxBodyBytes, shutdownGrace, warmup, promptCacheBytes, cacheTypeK, cacheTypeV);
    }

    public ServerConfig withParallel(int p) {
        return new ServerConfig(host, port, models, p, contextSize, threads, batchSize, queueCapacity, requestTimeout, maxBodyBytes, shutdownGrace, warmup, promptCacheBytes, cacheTypeK, cacheTypeV);
    }

    public ServerConfig withContextSize(Integer c) {
        return new ServerConfig(host, port, models, parallel, c, threads, batchSize, queueCapacity, requestTimeout, maxBodyBytes, shutdownGrace, warmup, promptCacheBytes, cacheTypeK, cacheTypeV);
    }

    public ServerConfig withThreads(int t) {
        return new ServerConfig(host, port, models, parallel, contextSize, t, batchSize, queueCapacity, requestTimeout, maxBodyBytes, shutdownGrace, warmup, promptCacheBytes, cacheTypeK, cacheTypeV);
    }

    public ServerConfig withQueueCapacity(int q) {
        return new ServerConfig(host, port, models, parallel, contextSize, threads, batchSize, q, requestTimeout, maxBodyBytes, shutdownGrace, warmup, promptCacheBytes, cacheTypeK, cacheTypeV);
    }

    public ServerConfig withRequestTimeout(Duration d) {
        return new ServerConfig(host, port, models, parallel, contextSize, threads, batchSize, queueCapacity, d, maxBodyBytes, shutdownGrace, warmup, promptCacheBytes, cacheTypeK, cacheTypeV);
    }

    public ServerConfig withMaxBodyBytes(long b) {
        return new ServerConfig(host, port, models, parallel, contextSize, threads, batchSize, queueCapacity, requestTimeout, b, shutdownGrace, warmup, promptCacheBytes, cacheTypeK, cacheTypeV);
    }

    public ServerConfig withBatchSize(int b) {
        return new ServerConfig(host, port, models, parallel, contextSize, threads, b, queueCapacity, requestTimeout, maxBodyBytes, shutdownGrace, warmup, promptCacheBytes, cacheTypeK, cacheTypeV);
    }

    public ServerConfig withWarmup(boolean w) {
        return new ServerConfig(host, port, models, parallel, contextSize, threads, batchSize, queueCapacity, requestTimeout, maxBodyBytes, shutdownGrace, w, promptCacheBytes, cacheTypeK, cacheTypeV);
    }

    public ServerConfig withPromptCacheBytes(long b) {
        return new ServerConfig(host, port, models, parallel, contextSize, threads, batchSize, queueCapacity, requestTimeout, maxBodyBytes, shutdownGrace, warmup, b, cacheTypeK, cacheTypeV);
    }

    public ServerConfig withCacheTypes(KvType k, KvType v) {
        return new ServerConfig(host, port, models, parallel, contextSize, threads, batchSize, queueCapacity, requestTimeout, maxBodyBytes, shutdownGrace, warmup, promptCacheBytes, k, v);
    }
}
