package dev.genset.server;

import dev.genset.engine.batch.PromptCacheBudget;
import dev.genset.engine.batch.Scheduler;
import dev.genset.engine.chat.ChatTemplate;
import dev.genset.engine.embed.Embedder;
import dev.genset.engine.gguf.GgufFile;
import dev.genset.engine.model.Model;
import dev.genset.engine.tensor.Parallel;
import dev.genset.engine.tokenizer.Tokenizer;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * One model the server offers: loaded in the background, then served by its own scheduler (slots,
 * queue, scheduler thread) and thread pool.
 */
final class ServedModel implements AutoCloseable {
    enum State { LOADING, READY, FAILED, UNLOADED }

    final String id;
    final Path path;
    final long created = System.currentTimeMillis() / 1000;
    private final ServerConfig config;
    private final PromptCacheBudget promptCache;
    private final CompletableFuture<Void> loading;
    private volatile State state = State.LOADING;
    private volatile String failure;
    private Model model;
    private Parallel pool;
    private Scheduler scheduler;
    private ChatTemplate template;
    private List<String> templateStops = List.of();
    private int[] fim; // prefix, suffix, middle token ids, or null
    private int[] fimRepo; // repository name and file separator token ids, or null
    private boolean reasons; // its template knows reasoning tags: replies are split into reasoning and answer
    private Embedder embedder;           // made with embedThread, on the first embeddings request
    private ExecutorService embedThread; // runs embeddings one request at a time

    private volatile Runnable onClose = () -> {};
    private boolean closed;

    /** @param promptCache what its prompt cache takes together with the other models' */
    ServedModel(String id, Path path, ServerConfig config, PromptCacheBudget promptCache) {
        this.path = path;
        this.id = id;
        this.config = config;
        this.promptCache = promptCache;
        this.loading = CompletableFuture.runAsync(this::load, r -> Thread.ofPlatform().name("genset-load-" + id).daemon().start(r));
    }

    static String idOf(Path path) {
        return path.getFileName().toString().replaceFirst("(?i)\\.gguf$", "");
    }

    private void load() {
        try {
            Model m = Model.load(path);
            try {
                m.awaitRepacking();  // every matrix repacked before the first request (and before any warm-up)
            } catch (InterruptedException e) {
                m.close();
                Thread.currentThread().interrupt();
                throw e;
            }
            int ctx = contextSize(m.config(), config);
            Parallel p = new Parallel(config.threads());
            Scheduler s = new Scheduler(m, p, new Scheduler.Config(config.parallel(), ctx, config.batchSize(), config.queueCapacity(),
                    promptCache.limit(), config.cacheTypeK(), config.cacheTypeV()), promptCache);
            long kvBytes = kvCacheBytes(m.config(), config);
            System.getLogger("genset.serve").log(System.Logger.Level.INFO, "KV caches of " + id + ": " + config.parallel() + " slots of " + ctx
                    + " positions, keys " + config.cacheTypeK().label() + ", values " + config.cacheTypeV().label() + ", " + (kvBytes >= 1 << 20 ? kvBytes / (1 << 20) + " MiB" : kvBytes / 1024 + " KiB"));
            long cacheRam = s.config().promptCacheBytes();
            System.getLogger("genset.serve").log(System.Logger.Level.INFO, cacheRam == 0 ? "prompt cache of " + id + " is off"
                    : "prompt cache of " + id + ": up to " + cacheRam / (1 << 20) + " MiB, shared with the other models (--cache-ram; 0 turns it off)");
            if (config.warmup()) {
                long ns = m.warmUp(p, config.cacheTypeK(), config.cacheTypeV(), config.parallel());
                System.getLogger("genset.serve").log(System.Logger.Level.INFO, "warmed up " + id + " in " + ns / 1_000_000 + " ms");
            }
            this.template = m.chatTemplate();
            this.templateStops = stopsFor(template, m.tokenizer());
            this.fim = fimTokens(m.gguf(), m.tokenizer());
            this.fimRepo = fimRepoTokens(m.gguf(), m.tokenizer());
            this.reasons = ReasoningSplit.usedBy(m.gguf().getString("tokenizer.chat_template", null));
            this.model = m;
            this.pool = p;
            this.scheduler = s;
            state = State.READY;
        } catch (Throwable e) {
            failure = e.getMessage() == null ? e.toString() : e.getMessage();
            state = State.FAILED;
            System.getLogger("genset.serve").log(System.Logger.Level.ERROR, "cannot load " + path + ": " + failure);
        }
    }

    /** The context of each slot: as configured, else the model's, at most 4096. */
    static int contextSize(dev.genset.engine.model.ModelConfig model, ServerConfig config) {
        return config.contextSize() != null ? config.contextSize() : Math.min(model.contextLength(), 4096);
    }

    /**
     * The memory a model takes once loaded, for the memory budget: its file (the weights, mapped or
     * repacked once with the file's pages released) and its slots' KV caches. The prompt cache is
     * left out: it has a bound of its own (--cache-ram) and fills only as slots move on. A file
     * whose header cannot be read counts as its size (loading it will say what is wrong).
     */
    static long memoryNeeded(Path path, ServerConfig config) throws java.io.IOException {
        long file = java.nio.file.Files.size(path);
        try (GgufFile gguf = GgufFile.open(path)) {
            var model = dev.genset.engine.model.ModelConfig.fromGguf(gguf);
            return file + kvCacheBytes(model, config);
        } catch (RuntimeException unreadable) {
            return file;
        }
    }

    /** The slots' KV caches together, at their context and storage types. */
    static long kvCacheBytes(dev.genset.engine.model.ModelConfig model, ServerConfig config) {
        return dev.genset.engine.model.KvCache.bytes(model, contextSize(model, config), config.cacheTypeK(), config.cacheTypeV()) * config.parallel();
    }

    /**
     * The prompt cache's size: as asked, but at most a quarter of the machine's memory (it lives
     * outside the Java heap, filled as slots move on, and llama.cpp's default of 8 GiB is more
     * than many machines can spare beside their models).
     */
    static long promptCacheBytes(long asked) {
        long physical = java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getTotalMemorySize() : Runtime.getRuntime().maxMemory() * 4;
        return Math.min(asked, physical / 4);
    }

    /** Blocks until loading ends (tests, startup with --wait). */
    void awaitLoaded(Duration timeout) throws Exception {
        loading.get(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    State state() {
        return state;
    }

    String failure() {
        return failure;
    }

    /** The model's parts for a request, or 503 while it loads. */
    Model model() {
        ready();
        return model;
    }

    Scheduler scheduler() {
        ready();
        return scheduler;
    }

    Tokenizer tokenizer() {
        return model().tokenizer();
    }

    ChatTemplate template() {
        ready();
        return template;
    }

    List<String> templateStops() {
        return templateStops;
    }

    /** Whether the model's replies open with a reasoning between {@code <think>} tags (its template says so). */
    boolean reasons() {
        ready();
        return reasons;
    }

    int[] fim() {
        ready();
        return fim;
    }

    /** The repository-level fill-in-the-middle tokens (repository name, file separator), or null if the model lacks one. */
    int[] fimRepo() {
        ready();
        return fimRepo;
    }

    private void ready() {
        switch (state) {
            case READY -> {}
            case LOADING -> throw ApiException.unavailable("Model '" + id + "' is loading; try again shortly.");
            case UNLOADED -> throw ApiException.unavailable("Model '" + id + "' was unloaded; try again.");
            case FAILED -> throw new ApiException(503, "unavailable_error", "Model '" + id + "' failed to load: " + failure, "model", "model_load_failed");
        }
    }

    /**
     * The embeddings of {@code inputs}, computed one after another on the model's embedding thread
     * (a platform thread made on first use: a forward pass on a request's virtual thread would hold
     * one of the few carrier threads for its whole length). Cancelling the result stops the work
     * at its next batch.
     */
    Future<List<float[]>> embed(List<int[]> inputs) {
        ready();
        synchronized (this) {
            if (closed) throw ApiException.unavailable("Model '" + id + "' was unloaded; try again.");
            if (embedThread == null) {
                embedder = new Embedder(model, pool, Math.min(config.batchSize(), 64), Embedder.Pooling.of(model.gguf()));
                embedThread = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("genset-embed-" + id).daemon().factory());
            }
            Embedder e = embedder;
            return embedThread.submit(() -> {
                List<float[]> out = new ArrayList<>(inputs.size());
                for (int[] tokens : inputs) out.add(e.embed(tokens));
                return out;
            });
        }
    }

    /** Stop strings for a built-in chat format whose turn markers are not tokens of this vocabulary. */
    private static List<String> stopsFor(ChatTemplate t, Tokenizer tok) {
        List<String> markers = switch (t.name()) {
            case "chatml" -> List.of("<|im_end|>", "<|im_start|>");
            case "llama3" -> List.of("<|eot_id|>", "<|start_header_id|>");
            case "llama2" -> List.of("[INST]");
            default -> List.of();
        };
        List<String> stops = new ArrayList<>();
        for (String m : markers) if (tok.tokenId(m) < 0) stops.add(m);
        return List.copyOf(stops);
    }

    private static final List<List<String>> FIM_TEXTS = List.of(
            List.of("<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"),
            List.of("<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"),
            List.of("<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"));
    private static final List<List<String>> FIM_KEYS = List.of(
            List.of("tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.prefix_token_id"),
            List.of("tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.suffix_token_id"),
            List.of("tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.middle_token_id"));

    /** The fill-in-the-middle tokens (prefix, suffix, middle), from metadata or known token texts; null if any is missing. */
    static int[] fimTokens(GgufFile gguf, Tokenizer tok) {
        return specialTokens(gguf, tok, FIM_KEYS, FIM_TEXTS);
    }

    /** For each k, the token metadata keys.get(k) names, else the first of texts.get(k) the vocabulary has; null if any is missing. */
    private static int[] specialTokens(GgufFile gguf, Tokenizer tok, List<List<String>> keys, List<List<String>> texts) {
        int[] ids = new int[keys.size()];
        for (int k = 0; k < ids.length; k++) {
            int id = -1;
            for (String key : keys.get(k)) {
                long v = gguf.getLong(key, -1);
                if (v >= 0 && v < tok.vocabSize()) { id = (int) v; break; }
            }
            for (int i = 0; id < 0 && i < texts.get(k).size(); i++) id = tok.tokenId(texts.get(k).get(i));
            if (id < 0) return null;
            ids[k] = id;
        }
        return ids;
    }

    /** The repository name and file separator tokens of repository-level fill-in-the-middle (Qwen2.5-Coder's), or null. */
    static int[] fimRepoTokens(GgufFile gguf, Tokenizer tok) {
        return specialTokens(gguf, tok, List.of(List.of("tokenizer.ggml.fim_rep_token_id"), List.of("tokenizer.ggml.fim_sep_token_id")),
                List.of(List.of("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"),
                        List.of("<|file_sep|>", "<|fim_sep|>", "<fim-file-sep>", "<file_sep>", "<filename>")));
    }

    /** Stops the scheduler, letting running sequences finish for up to {@code grace}. */
    void shutdown(Duration grace) {
        if (scheduler != null) scheduler.shutdown(grace);
    }

    /** Runs when the model is closed (unloaded). */
    void onClose(Runnable r) {
        this.onClose = r;
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        if (state == State.READY) state = State.UNLOADED;
        onClose.run();
        loading.cancel(false);
        if (scheduler != null) scheduler.close();
        ExecutorService embedding;
        synchronized (this) {
            embedding = embedThread;
        }
        if (embedding != null) {
            embedding.shutdownNow();
            try {
                embedding.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS); // the pool and model stay until it is done with them
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (pool != null) pool.close();
        if (model != null) model.close();
    }
}
