package dev.genset.gateway.route;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.genset.gateway.GatewayException;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * Routes a public model name to its deployments: an order to try them in (priority with
 * fallback, smooth weighted round-robin, or least busy), retries with backoff on 429, 5xx and
 * timeouts (honouring Retry-After), a circuit breaker per deployment, and when every deployment
 * is exhausted a {@link GatewayException} that passes the soonest Retry-After on. A local
 * deployment that fails moves on to the next deployment at once: the engine says exactly why it
 * cannot serve (a full queue, a model still loading, an error), so waiting to ask it again helps
 * less than asking another deployment now.
 */
public final class Router {
    public enum Strategy {
        PRIORITY, WEIGHTED, LEAST_BUSY;

        public static Strategy parse(String s) {
            if (s == null || s.isBlank()) return PRIORITY;
            return switch (s.trim().toLowerCase(Locale.ROOT).replace('_', '-')) {
                case "priority", "fallback" -> PRIORITY;
                case "weighted", "weighted-round-robin", "round-robin" -> WEIGHTED;
                case "least-busy" -> LEAST_BUSY;
                default -> throw new IllegalArgumentException("unknown strategy " + s + " (priority, weighted or least-busy)");
            };
        }
    }

    /**
     * Serves an attempt on a local deployment (the engine); the server provides it. It answers as
     * an upstream does: a whole response as the outcome's body, a stream through the sink, a
     * failure as its status (a 429 or 503 with a Retry-After when the engine is busy or loading).
     */
    @FunctionalInterface
    public interface LocalHandler {
        Outcome serve(Deployment d, ObjectNode body, ResponseSink sink) throws Exception;
    }

    /** A routed request's outcome and where it was served. */
    public record Result(Deployment deployment, Outcome outcome, int attempts) {}

    /**
     * @param retriesPerDeployment retries of one deployment before falling back to the next
     * @param backoffMs            first backoff, doubled per retry (with jitter) when no Retry-After is given
     * @param maxWaitMs            a longer Retry-After moves on to the next deployment at once
     * @param breakerThreshold     failures in a row that open a deployment's breaker
     * @param breakerCoolDownMs    how long an open breaker rests its deployment
     */
    public record Options(int retriesPerDeployment, long backoffMs, long maxWaitMs, int breakerThreshold, long breakerCoolDownMs) {
        public static final Options DEFAULTS = new Options(1, 250, 5_000, 3, 30_000);
    }

    private record Route(Strategy strategy, List<Deployment> deployments) {}

    private final Map<String, Route> routes = new ConcurrentHashMap<>();
    private final Map<String, CircuitBreaker> breakers = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();
    private final Map<String, long[]> wrrState = new HashMap<>(); // per model: current weights, under its lock
    private final UpstreamClient upstream;
    private final Options options;
    private final LongSupplier clock;

    public Router(UpstreamClient upstream, Options options) {
        this(upstream, options, System::currentTimeMillis);
    }

    public Router(UpstreamClient upstream, Options options, LongSupplier clockMs) {
        this.upstream = upstream;
        this.options = options == null ? Options.DEFAULTS : options;
        this.clock = clockMs;
    }

    /** Replaces every route with the deployments and strategies in the store (sealed keys opened with GENSET_MASTER_KEY). */
    public void load(dev.genset.store.Store store) {
        load(store, dev.genset.gateway.SecretBox.fromEnvironment());
    }

    /**
     * Replaces every route with the deployments and strategies in the store.
     *
     * @param secrets opens sealed upstream keys; null when no master key is configured
     * @throws IllegalStateException if a sealed key does not open (no or another master key); the routes are left as they were
     */
    public void load(dev.genset.store.Store store, dev.genset.gateway.SecretBox secrets) {
        dev.genset.store.Deployments repo = new dev.genset.store.Deployments(store);
        Map<String, List<Deployment>> byModel = new LinkedHashMap<>();
        for (dev.genset.store.Deployments.Row r : repo.list()) {
            String apiKey = dev.genset.gateway.SecretBox.open(secrets, r.apiKey(), dev.genset.gateway.admin.AdminService.deploymentContext(r.name()));
            byModel.computeIfAbsent(r.model(), k -> new ArrayList<>()).add(new Deployment(r.name(), r.model(), r.provider(), r.baseUrl(),
                    apiKey, r.upstreamModel(), r.priority(), r.weight(), r.timeoutMs() == null ? null : java.time.Duration.ofMillis(r.timeoutMs())));
        }
        routes.keySet().removeIf(m -> !byModel.containsKey(m));
        byModel.forEach((model, ds) -> route(model, Strategy.parse(repo.strategy(model)), ds));
    }

    /** Sets (replaces) a model's deployments and strategy. */
    public void route(String model, Strategy strategy, List<Deployment> deployments) {
        if (deployments.isEmpty()) {
            routes.remove(model);
            return;
        }
        for (Deployment d : deployments)
            if (!d.model().equals(model)) throw new IllegalArgumentException("deployment " + d.name() + " serves " + d.model() + ", not " + model);
        routes.put(model, new Route(strategy, List.copyOf(deployments)));
        synchronized (wrrState) {
            wrrState.remove(model);
        }
    }

    public boolean routes(String model) {
        return routes.containsKey(model);
    }

    public List<String> models() {
        return List.copyOf(routes.keySet());
    }

    public List<Deployment> deployments(String model) {
        Route r = routes.get(model);
        return r == null ? List.of() : r.deployments();
    }

    public CircuitBreaker.State breakerState(String deployment) {
        CircuitBreaker b = breakers.get(deployment);
        return b == null ? CircuitBreaker.State.CLOSED : b.state();
    }

    private CircuitBreaker breaker(Deployment d) {
        return breakers.computeIfAbsent(d.name(), k -> new CircuitBreaker(options.breakerThreshold(), options.breakerCoolDownMs(), clock));
    }

    private AtomicInteger busy(Deployment d) {
        return inFlight.computeIfAbsent(d.name(), k -> new AtomicInteger());
    }

    /** The order to try a model's deployments in, by its strategy (breakers not yet consulted). */
    public List<Deployment> order(String model) {
        Route r = routes.get(model);
        if (r == null) return List.of();
        List<Deployment> byPriority = new ArrayList<>(r.deployments());
        byPriority.sort(Comparator.comparingInt(Deployment::priority));
        return switch (r.strategy()) {
            case PRIORITY -> byPriority;
            case LEAST_BUSY -> {
                List<Deployment> l = new ArrayList<>(byPriority);
                l.sort(Comparator.comparingInt(d -> busy(d).get())); // stable: ties keep priority order
                yield l;
            }
            case WEIGHTED -> {
                Deployment first = pickWeighted(model, r.deployments());
                List<Deployment> l = new ArrayList<>();
                l.add(first);
                for (Deployment d : byPriority) if (d != first) l.add(d);
                yield l;
            }
        };
    }

    /** Smooth weighted round-robin: over any window of total-weight picks, each deployment gets its weight. */
    private Deployment pickWeighted(String model, List<Deployment> ds) {
        synchronized (wrrState) {
            long[] current = wrrState.computeIfAbsent(model, k -> new long[ds.size()]);
            long total = 0;
            int best = 0;
            for (int i = 0; i < ds.size(); i++) {
                current[i] += ds.get(i).weight();
                total += ds.get(i).weight();
                if (current[i] > current[best]) best = i;
            }
            current[best] -= total;
            return ds.get(best);
        }
    }

    /**
     * Serves a request on the model's deployments.
     *
     * @param path         the endpoint under the base URL, e.g. {@code /chat/completions}
     * @param body         the client's JSON body ({@code "stream": true} streams into the sink)
     * @param promptTokens the prompt's length as counted for admission
     * @param sink         where a stream goes (null if not streamed)
     * @param local        serves local deployments, or null if there are none
     * @return the outcome of the attempt that answered: success, a stream that broke after it began,
     *         or an upstream's non-retryable error (4xx) to pass to the client
     * @throws GatewayException when every deployment failed or rests: 429 with the soonest Retry-After
     *                          if upstreams asked for one, else 502 (504 if they timed out), or 404 for an unknown model
     */
    public Result forward(String model, String path, ObjectNode body, long promptTokens, ResponseSink sink, LocalHandler local) {
        List<Deployment> order = order(model);
        if (order.isEmpty()) throw new GatewayException(404, "invalid_request_error", "model_not_found", "The model " + model + " does not exist.");
        int attempts = 0;
        long soonestRetry = Long.MAX_VALUE;
        boolean sawTimeout = false, saw429 = false, sawLocalUnavailable = false, anyTried = false;
        String lastError = null;
        for (Deployment d : order) {
            CircuitBreaker breaker = breaker(d);
            if (!breaker.allow()) continue;
            anyTried = true;
            for (int attempt = 0; attempt <= options.retriesPerDeployment(); attempt++) {
                attempts++;
                Outcome o;
                AtomicInteger busy = busy(d);
                busy.incrementAndGet();
                try {
                    o = d.isLocal() ? serveLocal(local, d, body, sink) : upstream.send(d, path, body, promptTokens, sink);
                } finally {
                    busy.decrementAndGet();
                }
                if (o.ok()) {
                    breaker.success();
                    return new Result(d, o, attempts);
                }
                if (!o.retryable()) {
                    if (o.streamed()) breaker.failure(); // a stream that broke: the client has part of it
                    else breaker.success(); // the upstream works; the request was refused (4xx)
                    return new Result(d, o, attempts);
                }
                boolean localBusy = d.isLocal() && (o.status() == 429 || o.status() == 503) && o.retryAfterMs() >= 0;
                if (localBusy) breaker.success(); // the engine answered: it is full or loading, not failing
                else breaker.failure();
                lastError = o.error();
                if (o.status() == 429) saw429 = true;
                if (o.status() == 0 && o.error() != null && o.error().startsWith("timeout")) sawTimeout = true;
                if (d.isLocal() && o.status() == 503) sawLocalUnavailable = true;
                if (o.retryAfterMs() >= 0) soonestRetry = Math.min(soonestRetry, o.retryAfterMs());
                if (d.isLocal() || attempt == options.retriesPerDeployment() || !breaker.allow()) break;
                long wait = o.retryAfterMs() >= 0 ? o.retryAfterMs()
                        : options.backoffMs() * (1L << attempt) + ThreadLocalRandom.current().nextLong(options.backoffMs() / 2 + 1);
                if (wait > options.maxWaitMs()) break; // not worth waiting for: try the next deployment
                try {
                    Thread.sleep(wait);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new GatewayException(503, "server_error", "unavailable", "Interrupted while retrying.");
                }
            }
        }
        Map<String, String> headers = new LinkedHashMap<>();
        if (!anyTried) {
            long rest = Math.max(1, (options.breakerCoolDownMs() + 999) / 1000);
            headers.put("Retry-After", Long.toString(rest));
            throw new GatewayException(503, "server_error", "upstream_unavailable",
                    "Every deployment of " + model + " is resting after failures; try again later.", headers);
        }
        if (soonestRetry != Long.MAX_VALUE) headers.put("Retry-After", Long.toString(Math.max(1, (soonestRetry + 999) / 1000)));
        if (saw429)
            throw new GatewayException(429, "requests", "rate_limit_exceeded",
                    "Every deployment of " + model + " is rate limited or busy; try again later.", headers);
        if (sawTimeout)
            throw new GatewayException(504, "server_error", "upstream_timeout", "No deployment of " + model + " answered in time: " + lastError, headers);
        if (sawLocalUnavailable) // this server's own engine is loading or stopping: 503 as when served directly
            throw new GatewayException(503, "unavailable_error", "unavailable", "No deployment of " + model + " can serve now: " + lastError, headers);
        throw new GatewayException(502, "server_error", "upstream_error", "Every deployment of " + model + " failed: " + lastError, headers);
    }

    private static Outcome serveLocal(LocalHandler local, Deployment d, ObjectNode body, ResponseSink sink) {
        if (local == null) return Outcome.failed("no local engine for " + d.name(), false);
        try {
            return local.serve(d, body, sink);
        } catch (GatewayException e) {
            return new Outcome(e.status(), null, dev.genset.gateway.Usage.NONE,
                    e.retryAfter() == null ? -1 : Long.parseLong(e.retryAfter()) * 1000, false, false, e.getMessage());
        } catch (Exception e) {
            return Outcome.failed(d.name() + ": " + e.getMessage(), false);
        }
    }
}
