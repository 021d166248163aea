package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.genset.engine.batch.Scheduler;
import dev.genset.engine.model.Model;
import dev.genset.engine.tokenizer.Tokenizer;
import dev.genset.gateway.Gateway;
import dev.genset.gateway.admin.AdminHttpService;
import dev.genset.store.Keys;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.helidon.webserver.http1.Http1Config;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code genset serve}: an OpenAI-compatible HTTP server (Helidon SE, a virtual thread per
 * request) over one continuous-batching {@link Scheduler} per model. Each route is a plain
 * function from the request to the response; the engine knows nothing of HTTP.
 */
public final class GensetServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("genset.serve");

    private final ServerConfig config;
    private final ModelRegistry models;
    private final ServerMetrics metrics = new ServerMetrics();
    private final OpenAiEndpoints openai;
    private final EmbeddingsEndpoint embeddings;
    private final ResponsesEndpoint responses;
    private final OllamaEndpoints ollama;
    private final LlamaCppEndpoints llamaCpp;
    private final AnthropicEndpoints anthropic;
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean draining;
    private final WebServer server;
    private final Gateway gateway; // null: no keys, no metering (embedded use and tests)
    private final dev.genset.data.CaptureLog capture; // null: requests are never captured
    private final Keys keys;
    private final boolean openAccess;
    private final Upstream upstream;
    private final java.util.concurrent.ScheduledExecutorService routeReloader; // null without a gateway

    private GensetServer(ServerConfig config, ServeOptions options) {
        Gateway gateway = options.gateway();
        boolean openFlag = options.open();
        this.config = config;
        this.gateway = gateway;
        this.capture = options.capture();
        this.keys = gateway == null ? null : new Keys(gateway.store());
        InetAddress bind = bindAddress(config.host());
        this.openAccess = openFlag || (bind != null && bind.isLoopbackAddress());
        if (gateway != null) {
            if (!gateway.keysRequired() && !gateway.openAccessAllowed(bind, openFlag))
                throw new IllegalStateException("refusing to serve on " + config.host() + " without API keys: anyone could use it. "
                        + "Create a key (genset keys create) or pass --open to serve without keys.");
            gateway.configureOpenAccess(bind, openFlag);
        }
        this.models = new ModelRegistry(config, options, metrics::watch);
        this.upstream = new Upstream(gateway == null ? null : gateway.router(), models);
        this.routeReloader = gateway == null ? null : java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "genset-route-reload");
            t.setDaemon(true);
            return t;
        });
        if (routeReloader != null) routeReloader.scheduleWithFixedDelay(() -> { // deployments added or removed while serving
            try {
                gateway.reloadRoutes();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "reloading upstream routes failed: " + e.getMessage());
            }
        }, 30, 30, java.util.concurrent.TimeUnit.SECONDS);
        this.openai = new OpenAiEndpoints(models, metrics, config.requestTimeout(), upstream);
        this.embeddings = new EmbeddingsEndpoint(upstream, metrics);
        this.responses = new ResponsesEndpoint(openai, upstream, gateway == null ? new ResponseStore.InMemory(RESPONSES_KEPT, RESPONSES_CHARS)
                : new ResponseStore.InDatabase(new dev.genset.store.StoredResponses(gateway.store()), RESPONSES_RETENTION), () -> {
            try {
                return models.idOf(null);
            } catch (ApiException none) {
                return "";
            }
        });
        this.ollama = new OllamaEndpoints(models, metrics, config.requestTimeout(), upstream, openai.chatPath(), openai.completionsPath(), embeddings);
        this.llamaCpp = new LlamaCppEndpoints(metrics, config.requestTimeout());
        this.anthropic = new AnthropicEndpoints(upstream, openai.chatPath(), openai::chatPromptTokens);
        this.server = WebServer.builder()
                .host(config.host())
                .port(config.port())
                .shutdownHook(false)
                .connectionOptions(o -> o.tcpNoDelay(true)) // stream each token at once, not when the client's ack comes
                .addProtocol(Http1Config.builder().addReceiveListener(ClientWatch.LISTENER).build())
                .routing(this::routes)
                .build();
    }

    /** Starts listening at once without a gateway (no keys, no metering); models load in the background. */
    public static GensetServer start(ServerConfig config) {
        return start(config, ServeOptions.none());
    }

    /** With a gateway (see {@link #start(ServerConfig, ServeOptions)}). */
    public static GensetServer start(ServerConfig config, Gateway gateway, boolean openFlag) {
        return start(config, ServeOptions.none().withGateway(gateway, openFlag));
    }

    /**
     * Starts listening at once; models load in the background (requests for them get 503 meanwhile).
     * With a gateway, requests need an API key once any key exists, are admitted against its limits
     * and budgets and booked in its usage ledger, and its admin API is served under /admin; while no
     * key exists, only a loopback address (or {@code openFlag}) serves without keys.
     *
     * Configured models load at once and stay loaded; the store's models load on their first
     * request and unload after their keep-alive.
     *
     * @throws IllegalStateException on a non-loopback host with no keys and no {@code open} flag
     */
    public static GensetServer start(ServerConfig config, ServeOptions options) {
        GensetServer s = new GensetServer(config, options);
        try {
            s.server.start();
            s.models.preload();
        } catch (RuntimeException e) {
            if (s.routeReloader != null) s.routeReloader.shutdownNow();
            s.models.close();
            throw e;
        }
        return s;
    }

    public int port() {
        return server.port();
    }

    public ServerConfig config() {
        return config;
    }

    /** Waits until every model has loaded or failed. */
    public void awaitModels(Duration timeout) throws Exception {
        models.awaitLoads(timeout);
    }

    /** The scheduler of a loaded model (for tests and diagnostics). */
    public Scheduler scheduler(String modelId) {
        ServedModel m = models.live(models.idOf(modelId));
        if (m == null) throw new IllegalStateException("model " + modelId + " is not loaded");
        return m.scheduler();
    }

    private static InetAddress bindAddress(String host) {
        try {
            return InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            return null;
        }
    }

    private void routes(HttpRouting.Builder r) {
        if (gateway != null) r.register("/admin", new AdminHttpService(gateway.admin(), gateway.config().adminKey()));
        r.post("/v1/chat/completions", handler("chat", true, openai::chat))
                .post("/chat/completions", handler("chat", true, openai::chat))
                .post("/v1/completions", handler("completions", true, openai::completions))
                .post("/completions", handler("completions", true, openai::completions))
                .post("/v1/responses", handler("responses", true, responses::create))
                .post("/responses", handler("responses", true, responses::create))
                .get("/v1/responses/{id}", (req, res) -> handler("responses", false,
                        (b, rs, c) -> responses.get(req.path().pathParameters().get("id"), rs, c)).handle(req, res))
                .get("/v1/responses/{id}/input_items", (req, res) -> handler("responses", false,
                        (b, rs, c) -> responses.inputItems(req.path().pathParameters().get("id"), query(req), rs, c)).handle(req, res))
                .delete("/v1/responses/{id}", (req, res) -> handler("responses", false,
                        (b, rs, c) -> responses.delete(req.path().pathParameters().get("id"), rs, c)).handle(req, res))
                .post("/v1/embeddings", handler("embeddings", true, embeddings::embeddings))
                .post("/embeddings", handler("embeddings", true, embeddings::embeddings))
                .post("/v1/messages", handler("messages", true, anthropic::messages))
                .post("/v1/messages/count_tokens", handler("count_tokens", false, anthropic::countTokens))
                .post("/completion", handler("completion", true, llamaCpp::completion))
                .post("/infill", handler("infill", true, llamaCpp::infill))
                .post("/apply-template", handler("apply_template", false, llamaCpp::applyTemplate))
                .get("/props", handler("props", false, llamaCpp::props))
                .get("/slots", (req, res) -> handler("slots", false, false, (b, rs, c) -> llamaCpp.slots(query(req), rs, c)).handle(req, res))
                .post("/tokenize", handler("tokenize", false, this::tokenize))
                .post("/detokenize", handler("detokenize", false, this::detokenize))
                .get("/v1/models", handler("models", false, this::listModels))
                .get("/models", handler("models", false, this::listModels))
                .get("/health", handler("health", false, false, this::health))
                .get("/v1/health", handler("health", false, false, this::health))
                .post("/api/generate", ollama("ollama_generate", true, true, ollama::generate))
                .post("/api/chat", ollama("ollama_chat", true, true, ollama::chat))
                .post("/api/embed", ollama("ollama_embed", true, true, ollama::embed))
                .post("/api/embeddings", ollama("ollama_embeddings", true, true, ollama::embeddings))
                .get("/api/tags", ollama("ollama_tags", false, true, ollama::tags))
                .post("/api/show", ollama("ollama_show", false, true, ollama::show))
                .get("/api/ps", ollama("ollama_ps", false, true, ollama::ps))
                .post("/api/pull", ollama("ollama_pull", false, false, ollama::pull))
                .delete("/api/delete", ollama("ollama_delete", false, false, ollama::delete))
                .get("/api/version", ollama("ollama_version", false, false, ollama::version))
                .get("/metrics", (req, res) -> {
                    res.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
                    res.send(metrics.scrape().getBytes(StandardCharsets.UTF_8));
                })
                .any((req, res) -> {
                    ApiException e = ApiException.notFound(null, "unknown_url",
                            "Unknown request URL: " + req.prologue().method().text() + " " + req.path().path() + ".");
                    metrics.request("unknown", 404);
                    sendError(res, e);
                });
    }

    /** Without a database, responses kept for previous_response_id and GET /v1/responses/{id}, the least recently used dropped beyond this... */
    static final int RESPONSES_KEPT = 10_000;
    /** ... and beyond this many characters of their JSON together (conversations grow with every turn). */
    static final long RESPONSES_CHARS = 256L << 20;
    /** With a database, responses are kept there this long, as OpenAI keeps them. */
    static final java.time.Duration RESPONSES_RETENTION = java.time.Duration.ofDays(30);

    /** A request's query parameters, the first value of each. */
    private static java.util.Map<String, String> query(ServerRequest req) {
        java.util.Map<String, String> q = new java.util.HashMap<>();
        for (String name : req.query().names()) q.put(name, req.query().first(name).orElse(""));
        return q;
    }

    @FunctionalInterface
    interface Endpoint {
        void handle(byte[] body, ServerResponse res, Call call) throws Exception;
    }

    /** Wraps an endpoint: API key, body limit, errors in OpenAI's shape, metrics, draining, settlement. */
    private io.helidon.webserver.http.Handler handler(String name, boolean generates, Endpoint endpoint) {
        return handler(name, generates, true, endpoint);
    }

    private io.helidon.webserver.http.Handler handler(String name, boolean generates, boolean keyed, Endpoint endpoint) {
        return handler(name, generates, keyed, false, endpoint);
    }

    /** Ollama's routes: the same, with errors as {@code {"error": "message"}}. */
    private io.helidon.webserver.http.Handler ollama(String name, boolean generates, boolean keyed, Endpoint endpoint) {
        return handler(name, generates, keyed, true, endpoint);
    }

    private io.helidon.webserver.http.Handler handler(String name, boolean generates, boolean keyed, boolean ollamaErrors, Endpoint endpoint) {
        return (req, res) -> {
            long start = System.nanoTime();
            inFlight.incrementAndGet();
            int status = 200;
            Call call = null;
            Metering meter = new Metering(gateway, keys, authorization(req), res)
                    .openAccess(openAccess).capture(capture, name);
            ClientWatch client = ClientWatch.of(req, res);
            try {
                if (keyed) meter.authenticate();
                if (generates && draining) throw ApiException.unavailable("The server is shutting down.");
                String method = req.prologue().method().text();
                byte[] body = method.equals("POST") || method.equals("DELETE") ? readBody(req) : new byte[0];
                meter.requestBody(body);
                call = new Call(start, meter, models, client);
                endpoint.handle(body, res, call);
                status = res.status().code();
            } catch (ApiException e) {
                if (client.gone()) e = ApiException.clientClosed(); // its generation was cancelled for that, not for the reason it ended with
                status = e.status();
                sendError(res, ollamaErrors, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                status = 503;
                sendError(res, ollamaErrors, ApiException.unavailable("The server is shutting down."));
            } catch (Throwable e) {
                status = 500;
                LOG.log(System.Logger.Level.ERROR, "internal error in " + name, e);
                sendError(res, ollamaErrors, ApiException.server("Internal error: " + e));
            } finally {
                if (client.gone()) meter.clientGone();
                try {
                    meter.settle(status);
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.ERROR, "settling a request's usage failed", e);
                }
                if (call != null) call.release();
                inFlight.decrementAndGet();
                metrics.request(name, status);
                if (generates) metrics.requestDuration(name, System.nanoTime() - start);
            }
            if (client.mustClose()) throw new CloseConnectionException("the connection is still read by its client watch");
        };
    }

    private static final io.helidon.http.HeaderName X_API_KEY = HeaderNames.create("x-api-key");

    /** The caller's key: OpenAI's {@code Authorization: Bearer KEY}, or Anthropic's {@code x-api-key: KEY} (what its SDKs send). */
    private static String authorization(ServerRequest req) {
        String bearer = req.headers().first(HeaderNames.AUTHORIZATION).orElse(null);
        if (bearer != null) return bearer;
        String key = req.headers().first(X_API_KEY).orElse(null);
        return key == null ? null : "Bearer " + key;
    }

    private byte[] readBody(ServerRequest req) throws IOException {
        long max = config.maxBodyBytes();
        OptionalLong declared = req.headers().contentLength();
        if (declared.isPresent() && declared.getAsLong() > max) throw tooLarge(declared.getAsLong(), max);
        if (!req.content().hasEntity()) return new byte[0];
        // read into an array of the declared size (a 16 KB buffer and a copy per request were a fifth of what a routed request
        // allocated), growing it only for a body without a length or longer than it said
        int limit = (int) Math.min(max, Integer.MAX_VALUE - 8);
        byte[] buf = new byte[(int) Math.min(limit, declared.isPresent() ? declared.getAsLong() : 1024)];
        int total = 0;
        try (InputStream in = req.content().inputStream()) {
            while (true) {
                if (total == buf.length) {
                    int b = in.read();
                    if (b < 0) break;
                    if (total >= limit) throw tooLarge(-1, max);
                    buf = Arrays.copyOf(buf, (int) Math.min(limit, Math.max(1024, 2L * buf.length)));
                    buf[total++] = (byte) b;
                    continue;
                }
                int n = in.read(buf, total, buf.length - total);
                if (n < 0) break;
                total += n;
            }
        }
        return total == buf.length ? buf : Arrays.copyOf(buf, total);
    }

    private static ApiException tooLarge(long size, long max) {
        return new ApiException(413, "invalid_request_error",
                "The request body " + (size >= 0 ? "(" + size + " bytes) " : "") + "is larger than the server's limit of " + max + " bytes.",
                null, "request_too_large");
    }

    static void sendError(ServerResponse res, ApiException e) {
        sendError(res, false, e);
    }

    static void sendError(ServerResponse res, boolean ollamaShape, ApiException e) {
        if (res.isSent()) return;
        try {
            res.status(e.status());
            res.header("Content-Type", "application/json");
            if (e.retryAfter() != null) res.header(HeaderNames.RETRY_AFTER, e.retryAfter());
            for (var h : e.headers().entrySet()) res.header(h.getKey(), h.getValue());
            res.send(Json.bytes(ollamaShape ? Json.MAPPER.createObjectNode().put("error", e.getMessage()) : e.toJson()));
        } catch (RuntimeException ignored) {
            // headers already went out (a stream): nothing more can be said in HTTP terms
        }
    }

    // ---- small endpoints -------------------------------------------------------------------------

    /** The models the caller may use: local ones (loaded, then available in the store), then those routed upstream, each id once. */
    private void listModels(byte[] body, ServerResponse res, Call call) {
        ObjectNode r = Json.MAPPER.createObjectNode();
        r.put("object", "list");
        ArrayNode data = r.putArray("data");
        java.util.Set<String> listed = new java.util.HashSet<>();
        for (ModelRegistry.Status st : models.statuses()) {
            if (!call.meter().allowsModel(st.id()) || !listed.add(st.id())) continue;
            ObjectNode o = data.addObject();
            ServedModel m = st.model();
            o.put("id", st.id()).put("object", "model").put("created", m != null ? m.created : 0).put("owned_by", "genset");
            ObjectNode meta = o.putObject("meta");
            meta.put("status", st.state().name().toLowerCase(java.util.Locale.ROOT));
            if (m != null) {
                try {
                    Model model = m.model();
                    meta.put("n_vocab", model.config().vocabSize()).put("n_ctx_train", model.config().contextLength())
                            .put("n_ctx", m.scheduler().contextSize()).put("n_embd", model.config().dim())
                            .put("size", model.weightBytes()).put("slots", m.scheduler().config().slots())
                            .put("chat_template", m.template().name());
                } catch (ApiException unloadedMeanwhile) {
                    meta.put("status", "unloaded");
                }
            }
        }
        for (var man : models.storeModels()) { // available, loaded on first request
            String id = man.ref().toString();
            if (!call.meter().allowsModel(id) || !listed.add(id)) continue;
            long created = 0;
            try {
                created = java.time.Instant.parse(man.created()).getEpochSecond();
            } catch (RuntimeException ignored) {
                // no date
            }
            ObjectNode o = data.addObject().put("id", id).put("object", "model").put("created", created).put("owned_by", "genset");
            o.putObject("meta").put("status", "available").put("size", man.size());
        }
        for (String id : upstream.models())
            if (call.meter().allowsModel(id) && listed.add(id))
                data.addObject().put("id", id).put("object", "model").put("created", 0).put("owned_by", "upstream");
        OpenAiEndpoints.send(res, r);
    }

    private void health(byte[] body, ServerResponse res, Call call) {
        ObjectNode r = Json.MAPPER.createObjectNode();
        int idle = 0, busy = 0, queued = 0;
        boolean loading = false, failed = false;
        ArrayNode list = Json.MAPPER.createArrayNode();
        for (ModelRegistry.Status st : models.statuses()) {
            ObjectNode o = list.addObject().put("id", st.id()).put("status", st.state().name().toLowerCase(java.util.Locale.ROOT));
            switch (st.state()) {
                case LOADING -> loading |= st.configured();
                case FAILED -> {
                    failed |= st.configured();
                    o.put("error", st.failure());
                }
                case READY -> {
                    try {
                        Scheduler.Stats s = st.model().scheduler().stats();
                        o.put("slots_total", s.slots()).put("slots_processing", s.busySlots()).put("slots_idle", s.slots() - s.busySlots())
                                .put("queued", s.queued());
                        idle += s.slots() - s.busySlots();
                        busy += s.busySlots();
                        queued += s.queued();
                    } catch (ApiException unloadedMeanwhile) {
                        o.put("status", "unloaded");
                    }
                }
                case UNLOADED -> {}
            }
        }
        if (loading || failed) {
            ApiException e = loading ? ApiException.unavailable("Loading model") : new ApiException(503, "unavailable_error", "A model failed to load", null, "model_load_failed");
            ObjectNode err = e.toJson();
            err.put("status", loading ? "loading model" : "error");
            err.set("models", list);
            res.status(503);
            if (e.retryAfter() != null) res.header(HeaderNames.RETRY_AFTER, e.retryAfter());
            res.header("Content-Type", "application/json");
            res.send(Json.bytes(err));
            return;
        }
        r.put("status", draining ? "shutting down" : "ok").put("slots_idle", idle).put("slots_processing", busy).put("queued", queued);
        r.set("models", list);
        OpenAiEndpoints.send(res, r);
    }

    private void tokenize(byte[] body, ServerResponse res, Call call) {
        Json j = Json.parseObject(body).allowOnly(Set.of("content", "add_special", "parse_special", "with_pieces", "model", "keep_alive"));
        ServedModel m = call.model(j.string("model", null), Call.keepAlive(j.get("keep_alive")));
        String content = j.requiredString("content");
        boolean addSpecial = j.bool("add_special", false), parseSpecial = j.bool("parse_special", true), withPieces = j.bool("with_pieces", false);
        Tokenizer tok = m.tokenizer();
        int[] ids = tok.encode(content, addSpecial, parseSpecial);
        ObjectNode r = Json.MAPPER.createObjectNode();
        ArrayNode tokens = r.putArray("tokens");
        for (int id : ids) {
            if (!withPieces) {
                tokens.add(id);
                continue;
            }
            byte[] piece = tok.tokenBytes(id, true);
            ObjectNode o = tokens.addObject().put("id", id);
            String s = validUtf8(piece);
            if (s != null) o.put("piece", s);
            else {
                ArrayNode b = o.putArray("piece");
                for (byte x : piece) b.add(x & 0xFF);
            }
        }
        OpenAiEndpoints.send(res, r);
    }

    private void detokenize(byte[] body, ServerResponse res, Call call) {
        Json j = Json.parseObject(body).allowOnly(Set.of("tokens", "model", "keep_alive"));
        ServedModel m = call.model(j.string("model", null), Call.keepAlive(j.get("keep_alive")));
        ArrayNode arr = j.array("tokens");
        if (arr == null) throw ApiException.invalid("tokens", "missing_required_parameter", "Missing required parameter: 'tokens'.");
        Tokenizer tok = m.tokenizer();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < arr.size(); i++) {
            JsonNode e = arr.get(i);
            if (!e.isIntegralNumber()) throw ApiException.invalid("tokens[" + i + "]", "invalid_type",
                    "Invalid type for 'tokens[" + i + "]': expected a token id (integer), but got " + Json.describe(e) + " instead.");
            long id = e.longValue();
            if (id < 0 || id >= tok.vocabSize()) throw ApiException.invalid("tokens[" + i + "]", "invalid_value",
                    "Invalid token id " + e + " at 'tokens[" + i + "]': the vocabulary has ids 0.." + (tok.vocabSize() - 1) + ".");
            out.writeBytes(tok.tokenBytes((int) id, true));
        }
        OpenAiEndpoints.send(res, Json.MAPPER.createObjectNode().put("content", out.toString(StandardCharsets.UTF_8)));
    }

    private static String validUtf8(byte[] b) {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(b)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            return null;
        }
    }

    // ---- shutdown --------------------------------------------------------------------------------

    /**
     * Graceful shutdown: new generation requests get 503, running generations (and their streams)
     * finish for up to the configured grace period, then the server stops.
     */
    @Override
    public void close() {
        draining = true;
        Duration grace = config.shutdownGrace();
        long deadline = System.nanoTime() + grace.toNanos();
        for (ServedModel m : models.all()) m.shutdown(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        // Let handlers write the last events of their streams.
        while (inFlight.get() > 0 && System.nanoTime() < deadline + 2_000_000_000L) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        server.stop();
        if (routeReloader != null) routeReloader.shutdownNow();
        models.close();
    }
}
