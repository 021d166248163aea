package dev.genset.cli;

import dev.genset.gateway.Gateway;
import dev.genset.gateway.GatewayConfig;
import dev.genset.server.GensetServer;
import dev.genset.server.ServerConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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

    @Option(names = {"-m", "--model"}, paramLabel = "PATH", description = "GGUF model to serve (repeatable; default: $GENSET_MODEL, else the bundled stories260K). Requests name a model by its file name without .gguf.")
    List<Path> models = new ArrayList<>();

    @Option(names = {"-np", "--parallel"}, paramLabel = "N", defaultValue = "4", description = "Sequences decoded together per model (slots; default: ${DEFAULT-VALUE}).")
    int parallel;

    @Option(names = {"-c", "--ctx-size"}, paramLabel = "C", description = "Context size of each slot in tokens (default: the model's, at most 4096).")
    Integer contextSize;

    @Option(names = {"-t", "--threads"}, paramLabel = "K", description = "Worker threads per model (default: $GENSET_THREADS, else all cores).")
    Integer threads;

    @Option(names = {"-b", "--batch-size"}, paramLabel = "B", defaultValue = "128", description = "Rows in one forward pass at most (default: ${DEFAULT-VALUE}).")
    int batchSize;

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
        List<Path> paths = new ArrayList<>(models);
        if (paths.isEmpty()) {
            String env = System.getenv("GENSET_MODEL");
            paths.add(env != null && !env.isBlank() ? Path.of(env) : ModelOptions.bundledModel());
        }
        for (Path p : paths) if (!Files.exists(p)) throw new NoSuchFileException(p.toString());
        int k = threads != null ? threads : envThreads();
        if (k < 1) throw new IllegalArgumentException("--threads must be at least 1");
        if (timeoutSeconds < 1) throw new IllegalArgumentException("--timeout must be at least 1 second");
        ServerConfig config = new ServerConfig(host, port, paths, parallel, contextSize, k, batchSize, queue,
                Duration.ofSeconds(timeoutSeconds), maxBody, Duration.ofSeconds(Math.max(0, graceSeconds)));
        String adminKey = null;
        if (adminKeyFile != null) {
            adminKey = Files.readString(adminKeyFile).strip();
            if (adminKey.isEmpty()) throw new IllegalArgumentException("--admin-key-file " + adminKeyFile + " is empty");
        }
        Gateway gateway = Gateway.open(GatewayConfig.resolve(db, redis, adminKey, System.getenv()));
        GensetServer server;
        try {
            server = GensetServer.start(config, gateway, open);
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

    private static int envThreads() {
        String env = System.getenv("GENSET_THREADS");
        if (env != null && !env.isBlank()) return Integer.parseInt(env.trim());
        return Runtime.getRuntime().availableProcessors();
    }
}
