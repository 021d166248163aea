package dev.genset.server;

import dev.genset.models.KeepAlive;
import dev.genset.models.ModelManager;

import java.util.ArrayList;
import java.util.List;

/**
 * One request as an endpoint sees it: when it began, its passage through the gateway, and the
 * models it holds (released when the request ends, which starts their keep-alive).
 */
final class Call {
    private final long start;
    private final Metering meter;
    private final ModelRegistry models;
    private final ClientWatch client;
    private final List<ModelManager<ServedModel>.Lease> leases = new ArrayList<>();

    Call(long start, Metering meter, ModelRegistry models, ClientWatch client) {
        this.start = start;
        this.meter = meter;
        this.models = models;
        this.client = client;
    }

    long start() {
        return start;
    }

    Metering meter() {
        return meter;
    }

    /**
     * The model a request names (null: the default), held until the request ends. A model not in
     * memory starts loading; with {@code wait} this waits for it, else answers 503 at once.
     */
    ServedModel model(String name, KeepAlive keepAlive, boolean wait) {
        var lease = models.acquire(name, keepAlive, wait);
        leases.add(lease);
        return lease.model();
    }

    ServedModel model(String name, KeepAlive keepAlive) {
        return model(name, keepAlive, false);
    }

    /** A non-streamed reply's job: cancelled if the client closes the connection before the reply is sent, freeing its slots. */
    void watchClient(Job job) {
        client.start(job::cancel);
    }

    /** Work for a non-streamed reply that is not a job (embeddings): {@code cancel} runs if the client closes the connection first. */
    void watchClient(Runnable cancel) {
        client.start(cancel);
    }

    /** Whether the client went away while its non-streamed reply was generated. */
    boolean clientGone() {
        return client.gone();
    }

    /** Releases the models (their keep-alive starts now). */
    void release() {
        for (var l : leases) l.close();
        leases.clear();
    }

    /** A request's keep_alive: a duration ("5m", "30s"), seconds as a number, 0 to unload at once, negative to keep loaded. */
    static KeepAlive keepAlive(com.fasterxml.jackson.databind.JsonNode v) {
        if (v == null || v.isNull()) return null;
        try {
            if (v.isNumber()) return v.asDouble() < 0 ? KeepAlive.FOREVER : KeepAlive.of(java.time.Duration.ofMillis(Math.round(v.asDouble() * 1000)));
            if (v.isTextual()) return KeepAlive.parse(v.textValue());
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid("keep_alive", "invalid_value", e.getMessage());
        }
        throw ApiException.invalid("keep_alive", "invalid_type", "Invalid type for 'keep_alive': expected a duration string or a number of seconds, but got " + Json.describe(v) + " instead.");
    }
}
