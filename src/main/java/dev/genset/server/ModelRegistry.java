package dev.genset.server;

import dev.genset.engine.batch.PromptCacheBudget;
import dev.genset.models.KeepAlive;
import dev.genset.models.Manifest;
import dev.genset.models.ModelManager;
import dev.genset.models.ModelNotFoundException;
import dev.genset.models.ModelRef;
import dev.genset.models.ModelStore;
import dev.genset.models.ModelStoreException;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The models a server offers: the configured ones (the first is the default for requests that name
 * none), preloaded and kept loaded unless a request's keep_alive says otherwise, and every model of
 * the store, loaded on first request and unloaded after its keep-alive by a {@link ModelManager}
 * (which also keeps the loaded models within the memory budget).
 */
final class ModelRegistry implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("genset.serve");

    /** A model's public state: loaded (with its instance), loading, or failed to load. */
    record Status(String id, ServedModel.State state, ServedModel model, String failure, boolean configured) {}

    private final ServerConfig config;
    private final ModelStore store;
    private final Map<String, Path> configured = new LinkedHashMap<>();
    private final ModelManager<ServedModel> manager;
    private final Map<String, ServedModel> live = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<Void>> loads = new ConcurrentHashMap<>();
    private final Map<String, String> failures = new ConcurrentHashMap<>();
    private final Consumer<ServedModel> onLoad;
    /** The models' prompt caches share one --cache-ram: loading more models does not multiply it. */
    private final PromptCacheBudget promptCache;

    ModelRegistry(ServerConfig config, ServeOptions options, Consumer<ServedModel> onLoad) {
        this.config = config;
        this.promptCache = new PromptCacheBudget(ServedModel.promptCacheBytes(config.promptCacheBytes()));
        this.store = options.store();
        this.onLoad = onLoad;
        for (Path p : config.models()) {
            String id = options.names().getOrDefault(p, ServedModel.idOf(p));
            if (configured.containsKey(id)) throw new IllegalArgumentException("two models have the id '" + id + "': " + configured.get(id) + " and " + p);
            configured.put(id, p);
        }
        this.manager = ModelManager.<ServedModel>builder(this::pathOf, this::load)
                .keepAlive(options.keepAlive()).memoryBudget(options.memoryBudget()).sizer(p -> ServedModel.memoryNeeded(p, config)).build();
    }

    /** Starts loading the configured models, kept loaded until a request's keep_alive says otherwise. */
    void preload() {
        for (String id : configured.keySet()) startLoad(id, KeepAlive.FOREVER);
    }

    /** Waits for the loads under way (startup). */
    void awaitLoads(Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (CompletableFuture<Void> f : new ArrayList<>(loads.values()))
            f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    }

    // ---- names ---------------------------------------------------------------------------------

    /** The public id a request's model name means (the default for none), else 404. */
    String idOf(String name) {
        if (name == null || name.isEmpty()) {
            if (configured.isEmpty()) throw ApiException.invalid("model", "missing_required_parameter", "Missing required parameter: 'model'.");
            return configured.keySet().iterator().next();
        }
        String id = served(name);
        if (id != null) return id;
        throw ApiException.notFound("model", "model_not_found", "The model '" + name + "' does not exist. Available: " + String.join(", ", available()) + ".");
    }

    /** The id a request naming {@code name} is served under here, or null (asked per request: one parse, no regex). */
    private String served(String name) {
        if (configured.containsKey(name)) return name;
        String file = name.substring(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
        if (file.regionMatches(true, file.length() - 5, ".gguf", 0, 5)) file = file.substring(0, file.length() - 5);
        if (configured.containsKey(file)) return file;
        ModelRef ref;
        try {
            ref = ModelRef.parse(name);
        } catch (IllegalArgumentException notAModelName) {
            return null;
        }
        String id = ref.toString();
        if (configured.containsKey(id)) return id;
        return store != null && find(ref).isPresent() ? id : null;
    }

    /** Whether a request naming {@code name} is served here (asked for every routed request: no exception, no listing). */
    boolean has(String name) {
        if (name == null || name.isEmpty()) return !configured.isEmpty();
        return served(name) != null;
    }

    Optional<Manifest> manifest(String id) {
        if (store == null || !ModelRef.isValid(id)) return Optional.empty();
        return find(ModelRef.parse(id));
    }

    private Optional<Manifest> find(ModelRef ref) {
        try {
            return store.find(ref);
        } catch (ModelStoreException e) {
            return Optional.empty();
        }
    }

    /** The configured ids, then the store's names. */
    List<String> available() {
        List<String> ids = new ArrayList<>(configured.keySet());
        for (Manifest m : storeModels()) if (!ids.contains(m.ref().toString())) ids.add(m.ref().toString());
        return ids;
    }

    List<Manifest> storeModels() {
        if (store == null) return List.of();
        try {
            return store.list();
        } catch (ModelStoreException e) {
            return List.of();
        }
    }

    ModelStore store() {
        return store;
    }

    Path pathOf(String id) throws IOException {
        Path p = configured.get(id);
        if (p != null) return p;
        Manifest m = manifest(id).orElseThrow(() -> new ModelNotFoundException(id, "model '" + id + "' not found"));
        return store.blobPath(m.sha256());
    }

    boolean isConfigured(String id) {
        return configured.containsKey(id);
    }

    // ---- loading -------------------------------------------------------------------------------

    private ServedModel load(String id, Path path) throws Exception {
        ServedModel m = new ServedModel(id, path, config, promptCache);
        m.awaitLoaded(Duration.ofHours(1));
        if (m.state() != ServedModel.State.READY) {
            String why = m.failure();
            m.close();
            throw new IOException(why);
        }
        m.onClose(() -> live.remove(id, m));
        live.put(id, m);
        failures.remove(id);
        onLoad.accept(m);
        LOG.log(System.Logger.Level.INFO, "loaded model " + id);
        return m;
    }

    /** Loads a model in the background (once at a time), holding it only for the load. */
    CompletableFuture<Void> startLoad(String id, KeepAlive keepAlive) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        CompletableFuture<Void> running = loads.putIfAbsent(id, f);
        if (running != null) return running;
        Thread.ofVirtual().name("genset-load-" + id).start(() -> {
            try (var lease = manager.acquire(id, keepAlive)) {
                failures.remove(id);
            } catch (Throwable e) {
                String why = e.getMessage() == null ? e.toString() : e.getMessage();
                failures.put(id, why); // the model logged why
            } finally {
                loads.remove(id, f);
                f.complete(null);
            }
        });
        return f;
    }

    private boolean isLoaded(String id) throws IOException {
        Path p = pathOf(id).toAbsolutePath().normalize();
        for (ModelManager.Loaded l : manager.loaded()) if (l.path().equals(p)) return true;
        return false;
    }

    /**
     * Holds the model a request names for the request's duration. A model not in memory starts
     * loading; with {@code wait} the call waits for it, else it answers 503 at once (retry shortly).
     */
    ModelManager<ServedModel>.Lease acquire(String name, KeepAlive keepAlive, boolean wait) {
        String id = idOf(name);
        try {
            if (!wait && !isLoaded(id)) {
                startLoad(id, keepAlive);
                throw unavailable(id);
            }
            return manager.acquire(id, keepAlive);
        } catch (ApiException e) {
            throw e;
        } catch (ModelManager.CapacityException e) {
            throw new ApiException(503, "unavailable_error", e.getMessage(), "model", "insufficient_memory").retryAfter("5");
        } catch (ModelNotFoundException e) {
            throw ApiException.notFound("model", "model_not_found", e.getMessage());
        } catch (IllegalStateException e) {
            throw ApiException.unavailable("The server is shutting down.");
        } catch (IOException e) {
            String why = e.getMessage() == null ? e.toString() : e.getMessage();
            failures.put(id, why);
            throw new ApiException(503, "unavailable_error", "Model '" + id + "' failed to load: " + why, "model", "model_load_failed");
        }
    }

    private ApiException unavailable(String id) {
        String f = failures.get(id);
        if (f != null) return new ApiException(503, "unavailable_error", "Model '" + id + "' failed to load: " + f, "model", "model_load_failed");
        return new ApiException(503, "unavailable_error", "Model '" + id + "' is loading; try again shortly.", "model", "model_loading").retryAfter("1");
    }

    /** Unloads a model now if no request uses it, else when its last request ends; whether it was loaded. */
    boolean unload(String name) {
        String id = idOf(name);
        try {
            return manager.unload(id);
        } catch (IOException e) {
            return false;
        }
    }

    /** The models in memory (Ollama's /api/ps), most recently used first. */
    List<ModelManager.Loaded> loaded() {
        return manager.loaded();
    }

    /** A loaded model by id, or null. */
    ServedModel live(String id) {
        return live.get(id);
    }

    /** Loaded models. */
    List<ServedModel> all() {
        return new ArrayList<>(live.values());
    }

    /** Every model with a state: loaded, loading or failed (configured ones, and others while they load or after they failed). */
    List<Status> statuses() {
        List<Status> out = new ArrayList<>();
        List<String> ids = new ArrayList<>(configured.keySet());
        for (String id : live.keySet()) if (!ids.contains(id)) ids.add(id);
        for (String id : loads.keySet()) if (!ids.contains(id)) ids.add(id);
        for (String id : failures.keySet()) if (!ids.contains(id)) ids.add(id);
        for (String id : ids) {
            ServedModel m = live.get(id);
            boolean conf = configured.containsKey(id);
            if (m != null && m.state() == ServedModel.State.READY) out.add(new Status(id, ServedModel.State.READY, m, null, conf));
            else if (loads.containsKey(id)) out.add(new Status(id, ServedModel.State.LOADING, null, null, conf));
            else if (failures.containsKey(id)) out.add(new Status(id, ServedModel.State.FAILED, null, failures.get(id), conf));
            else if (conf) out.add(new Status(id, ServedModel.State.UNLOADED, null, null, true));
        }
        return out;
    }

    @Override
    public void close() {
        manager.close();
        for (ServedModel m : all()) m.close(); // still held by requests that outlived the grace period
    }
}
