package dev.genset.server;

import dev.genset.engine.tensor.ReadAhead;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** The server's Prometheus metrics: requests, tokens, queue and slots, latencies. */
final class ServerMetrics {
    private static final Duration[] TTFT_BUCKETS = durations(5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000);
    private static final Duration[] ITL_BUCKETS = durations(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2500);

    final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    ServerMetrics() {
        // the engine's measured choices are the machine's, two for the process (see ReadAhead): products
        // of one activation row (decoding one sequence) and of several (prompts, steps of several sequences)
        for (boolean batches : new boolean[] {false, true}) {
            String products = batches ? "batches" : "one_row";
            Gauge.builder("genset.engine.read.ahead", () -> ReadAhead.reading(batches)).tag("products", products)
                    .description("1 while products read repacked weights ahead, 0 while not (measured per process)").register(registry);
            Gauge.builder("genset.engine.read.ahead.gain", () -> ReadAhead.measuredGain(batches)).tag("products", products)
                    .description("How many times faster the chosen way measured than the other in the last trial (NaN before it)").register(registry);
        }
    }

    void request(String endpoint, int status) {
        Counter.builder("genset.requests").description("HTTP requests by endpoint and status")
                .tag("endpoint", endpoint).tag("status", Integer.toString(status)).register(registry).increment();
    }

    void promptTokens(String model, int n, int cached) {
        Counter.builder("genset.prompt.tokens").description("Prompt tokens received").tag("model", model).register(registry).increment(n);
        Counter.builder("genset.prompt.tokens.cached").description("Prompt tokens not computed: found in a slot's cache or copied from another slot").tag("model", model).register(registry).increment(cached);
    }

    void generatedTokens(String model, int n) {
        Counter.builder("genset.generated.tokens").description("Tokens generated").tag("model", model).register(registry).increment(n);
    }

    void finished(String model, String reason) {
        Counter.builder("genset.sequences.finished").description("Generations by how they ended (stop, length, cancelled, timeout, error)")
                .tag("model", model).tag("reason", reason).register(registry).increment();
    }

    void timeToFirstToken(String model, long nanos) {
        Timer.builder("genset.time.to.first.token").description("Time from request to first generated token")
                .tag("model", model).serviceLevelObjectives(TTFT_BUCKETS).register(registry).record(nanos, TimeUnit.NANOSECONDS);
    }

    void interTokenLatency(String model, long nanos) {
        Timer.builder("genset.inter.token.latency").description("Time between consecutive generated tokens of a sequence")
                .tag("model", model).serviceLevelObjectives(ITL_BUCKETS).register(registry).record(nanos, TimeUnit.NANOSECONDS);
    }

    void requestDuration(String endpoint, long nanos) {
        Timer.builder("genset.request.duration").description("Time to answer a generation request in full")
                .tag("endpoint", endpoint).serviceLevelObjectives(TTFT_BUCKETS).register(registry).record(nanos, TimeUnit.NANOSECONDS);
    }

    private final java.util.Map<String, ServedModel> watched = new java.util.concurrent.ConcurrentHashMap<>();

    /** Gauges of a loaded model; a model loaded again under the same id takes over its gauges. */
    void watch(ServedModel m) {
        String id = m.id;
        if (watched.put(id, m) != null) return;
        Gauge.builder("genset.queue.depth", watched, w -> read(w.get(id), x -> x.scheduler().queued()))
                .description("Requests waiting for a slot").tag("model", id).register(registry);
        Gauge.builder("genset.slots.busy", watched, w -> read(w.get(id), x -> x.scheduler().busySlots()))
                .description("Slots generating or evaluating a prompt").tag("model", id).register(registry);
        Gauge.builder("genset.slots.total", watched, w -> read(w.get(id), x -> x.scheduler().config().slots()))
                .description("Slots (sequences decoded together)").tag("model", id).register(registry);
        Gauge.builder("genset.model.ready", watched, w -> read(w.get(id), x -> 1))
                .description("1 while the model is loaded").tag("model", id).register(registry);
        Gauge.builder("genset.prompt.cache.prompts", watched, w -> read(w.get(id), x -> x.scheduler().stats().cachedPrompts()))
                .description("Computed prompts kept after their slot moved on (--cache-ram)").tag("model", id).register(registry);
        Gauge.builder("genset.prompt.cache.size", watched, w -> read(w.get(id), x -> x.scheduler().stats().cachedPromptBytes()))
                .description("Memory their keys and values take").baseUnit("bytes").tag("model", id).register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder("genset.prompt.cache.restored", watched,
                        w -> read(w.get(id), x -> x.scheduler().stats().restoredTokens()))
                .description("Prompt tokens copied from the prompt cache instead of computed").baseUnit("tokens").tag("model", id).register(registry);
    }

    private static double read(ServedModel m, java.util.function.ToDoubleFunction<ServedModel> f) {
        if (m == null || m.state() != ServedModel.State.READY) return 0;
        try {
            return f.applyAsDouble(m);
        } catch (RuntimeException e) { // unloaded meanwhile
            return 0;
        }
    }

    String scrape() {
        return registry.scrape();
    }

    private static Duration[] durations(long... millis) {
        Duration[] d = new Duration[millis.length];
        for (int i = 0; i < millis.length; i++) d[i] = Duration.ofMillis(millis[i]);
        return d;
    }
}
