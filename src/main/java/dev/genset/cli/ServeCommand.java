package dev.genset.cli;

import dev.genset.gateway.Gateway;
import dev.genset.gateway.GatewayConfig;
import dev.genset.models.KeepAlive;
import dev.genset.models.ModelRef;
import dev.genset.models.ModelStore;
import dev.genset.server.GensetServer;
import dev.genset.server.ServeOptions;
import dev.genset.server.ServerConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

@Command(name = "serve", description = {
        "Serve models over an OpenAI-compatible HTTP API with continuous batching.",
        "Endpoints: POST /v1/chat/completions, /v1/completions, /tokenize, /detokenize; GET /v1/models, /health, /metrics; the admin API under /admin.",
        "Requests need an API key (Authorization: Bearer KEY) once any key exists; they are metered against its limits and budgets."})
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = {"-m", "--model"}, paramLabel = "MODEL", description = {"GGUF file or model store name (name:tag) to load at start and keep loaded "
            + "(repeatable; default: $GENSET_MODEL, else the bundled stories260K; the first is the default for requests that name none).",
            "Requests name a file's model by its file name without .gguf, a store model by name:tag; every store model can be requested and loads on first use."})
    List<String> models = new ArrayList<>();

    @Option(names = "--keep-alive", paramLabel = "DURATION", defaultValue = "5m", description = "How long a model loaded on request stays loaded after its last request "
            + "(5m, 30s, 1h; 0 unloads at once, -1 keeps it loaded; a request's keep_alive overrides it; default: ${DEFAULT-VALUE}).")
    String keepAlive;

    @Option(names = "--memory-budget", paramLabel = "BYTES", description = "Memory all loaded models may take together (e.g. 8G), each counted as its file and its slots' KV caches; "
            + "the least recently used idle model is unloaded to make room (default: unlimited).")
    String memoryBudget;

    @Option(names = {"-np", "--parallel"}, paramLabel = "N", defaultValue = "4", description = "Sequences decoded together per model (slots; default: ${DEFAULT-VALUE}).")
    int parallel;

    @Option(names = {"-c", "--ctx-size"}, paramLabel = "C", description = "Context size of each slot in tokens (default: the model's, at most 4096).")
    Integer contextSize;

    @Option(names = {"-t", "--threads"}, paramLabel = "K", description = "Worker threads per model (default: $GENSET_THREADS, else all cores).")
    Integer threads;

    @Option(names = {"-b", "--batch-size"}, paramLabel = "B", defaultValue = "128", description = "Rows in one forward pass at most (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @picocli.CommandLine.Mixin
    KvCacheOptions kvCacheOptions = new KvCacheOptions();

    @picocli.CommandLine.Mixin
    HugePagesOption hugePages = new HugePagesOption();

    @Option(names = {"-cram", "--cache-ram"}, paramLabel = "MiB", defaultValue = "8192", description = "Memory for computed prompts kept after "
            + "their slot moved on, so a later prompt starting the same way (the next turn of a chat, a system prompt) skips computing it; "
            + "shared by the models the server holds, at most a quarter of the machine's memory; 0 keeps none, -1 as much as that allows (default: ${DEFAULT-VALUE}).")
    long cacheRamMiB;

    @Option(names = "--no-warmup", description = "Do not run each model's forward pass once at load (the warm-up makes the JIT compile the kernels then, not during the first request).")
    boolean noWarmup;

    @Option(names = "--queue", paramLabel = "Q", defaultValue = "64", description = "Requests per model that may wait for a slot before the server answers 429 (default: ${DEFAULT-VALUE}).")
    int queue;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "600", description = "Stop a generation after this long (default: ${DEFAULT-VALUE}).")
    long timeoutSeconds;

    @Option(names = "--max-body", paramLabel = "BYTES", defaultValue = "16777216", description = "Largest request body accepted (default: ${DEFAULT-VALUE}).")
    long maxBody;

    @Option(names = "--shutdown-grace", paramLabel = "SECONDS", defaultValue = "30", description = "On shutdown, let running generations finish for this long (default: ${DEFAULT-VALUE}).")
    long graceSeconds;

    @Option(names = "--db", paramLabel = "URL", description = "Database of keys, limits and usage: a JDBC URL (jdbc:postgresql://..., jdbc:sqlite:FILE), "
            + "postgres://user:pass@host/db or a SQLite file (default: $GENSET_DB_URL, else genset.db in $GENSET_HOME or ~/.genset).")
    String db;

    @Option(names = "--redis", paramLabel = "URL", description = "Redis for rate limits shared by several servers (default: $GENSET_REDIS_URL, else in-process).")
    String redis;

    @Option(names = "--admin-key-file", paramLabel = "FILE", description = "File holding the key of the /admin API (default: $GENSET_ADMIN_KEY; without one /admin refuses every call).")
    Path adminKeyFile;

    @Option(names = "--open", description = "Serve without API keys on a non-loopback address while no key exists (keys are required once one exists).")
    boolean open;

    @Override
    public Integer call() throws Exception {
        hugePages.apply();
        List<String> named = new ArrayList<>(models);
        if (named.isEmpty()) {
            String env = System.getenv("GENSET_MODEL");
            named.add(env != null && !env.isBlank() ? env : ModelOptions.bundledModel().toString());
        }
        ModelStore store = ModelStore.atDefaultHome();
        List<Path> paths = new ArrayList<>();
        Map<Path, String> names = new HashMap<>();
        for (String m : named) {
            Path file = Path.of(m);
            if (Files.isRegularFile(file)) {
                paths.add(file);
                continue;
            }
            boolean looksLikeFile = m.toLowerCase(java.util.Locale.ROOT).endsWith(".gguf") || m.startsWith("/") || m.startsWith(".")
                    || m.contains("\\") || !dev.genset.models.ModelRef.isValid(m);
            if (looksLikeFile) throw new java.nio.file.NoSuchFileException(m);
            Path blob = store.resolve(m); // a store name, else a one-line error
            paths.add(blob);
            names.put(blob, ModelRef.parse(m).toString());
        }
        KeepAlive keep = KeepAlive.parse(keepAlive);
        long budget = memoryBudget == null ? Long.MAX_VALUE : parseBytes(memoryBudget);
        int k = threads != null ? threads : envThreads();
        if (k < 1) throw new IllegalArgumentException("--threads must be at least 1");
        if (timeoutSeconds < 1) throw new IllegalArgumentException("--timeout must be at least 1 second");
        ServerConfig config = new ServerConfig(host, port, paths, parallel, contextSize, k, batchSize, queue,
                Duration.ofSeconds(timeoutSeconds), maxBody, Duration.ofSeconds(Math.max(0, graceSeconds)), !noWarmup, promptCacheBytes(cacheRamMiB),
                kvCacheOptions.keyType(), kvCacheOptions.valueType());
        String adminKey = null;
        if (adminKeyFile != null) {
            adminKey = Files.readString(adminKeyFile).strip();
            if (adminKey.isEmpty()) throw new IllegalArgumentException("--admin-key-file " + adminKeyFile + " is empty");
        }
        Gateway gateway = Gateway.open(GatewayConfig.resolve(db, redis, adminKey, System.getenv()));
        GensetServer server;
        try {
            server = GensetServer.start(config, new ServeOptions(gateway, open, store, keep == null ? KeepAlive.DEFAULT : keep, names, budget)
                    .withCapture(gateway == null ? null : dev.genset.data.CaptureLog.atDefaultHome()));
        } catch (RuntimeException e) {
            gateway.close();
            throw e;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.err.println("genset: shutting down (letting running generations finish)");
            server.close();
            gateway.close();
            stopped.countDown();
        }, "genset-shutdown"));
        System.err.printf("genset: listening on http://%s:%d (%d slot%s per model)%n", host, server.port(), parallel, parallel == 1 ? "" : "s");
        System.err.println("genset: " + (gateway.keysRequired() ? "API keys required" : "no API keys yet: open to requests without a key")
                + "; usage in " + gateway.config().database().describe() + (gateway.config().adminKey() == null ? "; /admin disabled (no admin key)" : "; /admin enabled"));
        server.awaitModels(Duration.ofHours(1));
        System.err.println("genset: models ready");
        stopped.await();
        return 0;
    }

    /** "8G", "512M", "1.5T" or a number of bytes. */
    static long parseBytes(String s) {
        String t = s.trim().toUpperCase(java.util.Locale.ROOT).replaceFirst("I?B$", "");
        long unit = 1;
        if (!t.isEmpty()) {
            switch (t.charAt(t.length() - 1)) {
                case 'K' -> unit = 1L << 10;
                case 'M' -> unit = 1L << 20;
                case 'G' -> unit = 1L << 30;
                case 'T' -> unit = 1L << 40;
                default -> {}
            }
        }
        if (unit > 1) t = t.substring(0, t.length() - 1);
        try {
            double v = Double.parseDouble(t);
            if (v <= 0) throw new NumberFormatException();
            return (long) (v * unit);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--memory-budget " + s + ": use a size such as 8G, 512M or a number of bytes");
        }
    }

    /** --cache-ram's MiB as bytes: -1 for as much as the server allows. */
    static long promptCacheBytes(long mib) {
        if (mib == -1) return Long.MAX_VALUE;
        if (mib < 0) throw new IllegalArgumentException("--cache-ram must be a number of MiB, 0 for none or -1 for no limit of its own: " + mib);
        if (mib > Long.MAX_VALUE >> 20) return Long.MAX_VALUE;
        return mib << 20;
    }

    private static int envThreads() {
        String env = System.getenv("GENSET_THREADS");
        if (env != null && !env.isBlank()) return Integer.parseInt(env.trim());
        return Runtime.getRuntime().availableProcessors();
    }
}
