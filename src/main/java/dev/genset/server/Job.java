package dev.genset.server;

import dev.genset.engine.batch.GenerationRequest;
import dev.genset.engine.batch.PromptTooLongException;
import dev.genset.engine.batch.QueueFullException;
import dev.genset.engine.batch.Scheduler;
import dev.genset.engine.batch.SchedulerClosedException;
import dev.genset.engine.batch.Sequence;
import dev.genset.engine.batch.SequenceEvent;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The sequences of one HTTP request (one per choice), their events merged into one queue tagged
 * with the choice index, and the latency metrics they feed.
 */
final class Job {
    record Tagged(int choice, SequenceEvent event) {}

    private final LinkedBlockingQueue<Tagged> events = new LinkedBlockingQueue<>();
    private final List<Sequence> sequences = new ArrayList<>();
    private final long startNanos;
    private final long[] lastTokenNanos;
    private final SequenceEvent.Done[] ends;
    private final ServerMetrics metrics;
    private final String model;
    private int open;

    private Job(int choices, long startNanos, ServerMetrics metrics, String model) {
        this.startNanos = startNanos;
        this.lastTokenNanos = new long[choices];
        this.ends = new SequenceEvent.Done[choices];
        this.metrics = metrics;
        this.model = model;
    }

    /** Submits every request; if one is refused, cancels those already queued and throws the API error. */
    static Job submit(Scheduler scheduler, List<GenerationRequest> requests, long startNanos, ServerMetrics metrics, String model) {
        Job job = new Job(requests.size(), startNanos, metrics, model);
        try {
            for (int i = 0; i < requests.size(); i++) {
                final int choice = i;
                job.sequences.add(scheduler.submit(requests.get(i), e -> job.events.add(new Tagged(choice, e))));
                job.open++;
            }
        } catch (RuntimeException e) {
            job.cancel();
            throw map(e);
        }
        return job;
    }

    /** The API error for an exception from the engine. */
    static ApiException map(Throwable e) {
        return switch (e) {
            case ApiException a -> a;
            case QueueFullException q -> new ApiException(429, "rate_limit_error",
                    "The server is busy (" + q.capacity() + " requests are waiting for a slot); retry shortly.", null, "queue_full").retryAfter("1");
            case PromptTooLongException p -> new ApiException(400, "exceed_context_size_error",
                    "The request exceeds the available context size: " + p.getMessage() + ".", "messages", "context_length_exceeded")
                    .extra("n_prompt_tokens", p.promptTokens()).extra("n_ctx", p.contextSize());
            case SchedulerClosedException c -> ApiException.unavailable("The server is shutting down.");
            case IllegalArgumentException i -> ApiException.invalid(null, i.getMessage());
            default -> ApiException.server("Internal error: " + e);
        };
    }

    int choices() {
        return lastTokenNanos.length;
    }

    /** Whether every sequence has ended. */
    boolean done() {
        return open == 0;
    }

    /** The next event, or null after {@code timeout}; records latencies and tokens as they pass. */
    Tagged next(Duration timeout) throws InterruptedException {
        Tagged t = events.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        if (t == null) return null;
        long now = System.nanoTime();
        switch (t.event()) {
            case SequenceEvent.Text x when x.tokens() > 0 -> {
                int c = t.choice();
                if (lastTokenNanos[c] == 0) metrics.timeToFirstToken(model, now - startNanos);
                else {
                    long per = (now - lastTokenNanos[c]) / x.tokens();
                    for (int k = 0; k < x.tokens(); k++) metrics.interTokenLatency(model, per);
                }
                lastTokenNanos[c] = now;
            }
            case SequenceEvent.Done d -> {
                open--;
                ends[t.choice()] = d;
                metrics.generatedTokens(model, d.completionTokens());
                metrics.promptTokens(model, d.promptTokens(), d.cachedTokens());
                metrics.finished(model, d.timedOut() ? "timeout" : d.reason().apiName());
            }
            case SequenceEvent.Failed f -> {
                open--;
                metrics.finished(model, "error");
            }
            default -> {}
        }
        return t;
    }

    /**
     * The tokens the ended sequences used: each prompt once ({@code perPrompt} choices share one),
     * every generated token; a sequence cancelled before it started counts nothing.
     */
    dev.genset.gateway.Usage usage(int perPrompt) {
        long prompt = 0, cached = 0, completion = 0;
        for (int i = 0; i < ends.length; i++) {
            SequenceEvent.Done d = ends[i];
            if (d == null) continue;
            completion += d.completionTokens();
        }
        for (int g = 0; g < ends.length; g += perPrompt) { // the prompt of a group: any of its choices that started
            for (int i = g; i < Math.min(ends.length, g + perPrompt); i++) {
                SequenceEvent.Done d = ends[i];
                if (d == null || Metering.promptTokens(d) == 0) continue;
                prompt += d.promptTokens();
                cached += Math.min(d.cachedTokens(), d.promptTokens());
                break;
            }
        }
        return new dev.genset.gateway.Usage(prompt, completion, cached, "local", null);
    }

    /** How each sequence ended (null for one that has not). */
    List<SequenceEvent.Done> ends() {
        return java.util.Arrays.asList(ends.clone());
    }

    void cancel() {
        for (Sequence s : sequences) s.cancel();
    }

    /** Cancels what still runs and consumes the remaining events (so the metrics see how it ended), waiting at most a few seconds. */
    void cancelAndDrain() {
        cancel();
        long deadline = System.nanoTime() + 5_000_000_000L;
        try {
            while (!done() && System.nanoTime() < deadline) next(Duration.ofMillis(100));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
