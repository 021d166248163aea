package dev.genset.server;

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

    void request(String endpoint, int status) {
        Counter.builder("genset.requests").description("HTTP requests by endpoint and status")
                .tag("endpoint", endpoint).tag("status", Integer.toString(status)).register(registry).increment();
    }

    void promptTokens(String model, int n, int cached) {
        Counter.builder("genset.prompt.tokens").description("Prompt tokens received").tag("model", model).register(registry).increment(n);
        Counter.builder("genset.prompt.tokens.cached").description("Prompt tokens served from a slot's cache").tag("model", model).register(registry).increment(cached);
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

    /** Gauges that read a model's scheduler when scraped (zero while it loads). */
    void watch(ServedModel m) {
        Gauge.builder("genset.queue.depth", m, x -> x.state() == ServedModel.State.READY ? x.scheduler().queued() : 0)
                .description("Requests waiting for a slot").tag("model", m.id).register(registry);
        Gauge.builder("genset.slots.busy", m, x -> x.state() == ServedModel.State.READY ? x.scheduler().busySlots() : 0)
                .description("Slots generating or evaluating a prompt").tag("model", m.id).register(registry);
        Gauge.builder("genset.slots.total", m, x -> x.state() == ServedModel.State.READY ? x.scheduler().config().slots() : 0)
                .description("Slots (sequences decoded together)").tag("model", m.id).register(registry);
        Gauge.builder("genset.model.ready", m, x -> x.state() == ServedModel.State.READY ? 1 : 0)
                .description("1 once the model is loaded").tag("model", m.id).register(registry);
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
