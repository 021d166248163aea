package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.genset.gateway.GatewayException;
import dev.genset.gateway.Usage;
import dev.genset.gateway.route.Deployment;
import dev.genset.gateway.route.Outcome;
import dev.genset.gateway.route.ResponseSink;
import dev.genset.gateway.route.Router;
import dev.genset.gateway.route.TokenCounter;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;

/**
 * Requests the gateway routes over deployments: for models this server does not hold, and for
 * any model with a local deployment among its deployments. Admitted like local ones; an upstream's
 * answer is passed through (a stream chunk by chunk as it arrives) and booked with the usage it
 * reported (or counted where it reported none); a local deployment runs the local path, and what
 * it fails with before sending anything (a full queue, a loading model, an engine error) falls
 * back to the next deployment as an upstream's failure does.
 */
final class Upstream {
    private static final System.Logger LOG = System.getLogger("genset.serve");

    /** The local chat or completions path, answering into a {@link Reply}. */
    @FunctionalInterface
    interface LocalPath {
        void serve(Json j, Reply reply, Call call) throws IOException, InterruptedException;
    }

    private final Router router; // null: no gateway
    private final ModelRegistry models;

    Upstream(Router router, ModelRegistry models) {
        this.router = router;
        this.models = models;
    }

    /**
     * Whether a request for {@code model} goes through the router: it has deployments, and either
     * one of them is local or the model is not served here (a model held here whose deployments
     * are all upstream is served here, as before it had any).
     */
    boolean handles(String model) {
        if (router == null || model == null || model.isEmpty() || !router.routes(model)) return false;
        for (Deployment d : router.deployments(model)) if (d.isLocal()) return true;
        return !models.has(model);
    }

    java.util.List<String> models() {
        if (router == null) return java.util.List.of();
        return router.models().stream().filter(m -> !models.has(m)).toList();
    }

    /**
     * Routes a chat or completions request ({@code path} "/chat/completions" or "/completions");
     * {@code local} serves its local deployments.
     */
    void forward(String path, Json j, ServerResponse res, Call call, LocalPath local) {
        ObjectNode body = j.node();
        String model = body.path("model").asText();
        boolean stream = body.path("stream").asBoolean(false);
        Outcome o;
        try (Sink sink = stream ? new Sink(res, call.meter()) : null) {
            o = route(path, body, call, sink, local);
        }
        if (o.streamed()) return; // sent as it came, complete or not
        if (o.body() != null && o.status() > 0) {
            res.status(o.status());
            res.header("Content-Type", "application/json");
            res.send(o.body());
            return;
        }
        throw failed(model, o);
    }

    /** The error for a routed request that got no answer at all. */
    static ApiException failed(String model, Outcome o) {
        return new ApiException(502, "upstream_error", "The upstream of model '" + model + "' failed: " + o.error(), null, "upstream_error");
    }

    /**
     * A whole (not streamed) OpenAI answer as JSON, which must hold {@code field}; no answer, an
     * error status or anything else is thrown as the error the client gets.
     */
    static JsonNode whole(String model, Outcome o, String field) {
        if (o.body() == null || o.status() <= 0) throw failed(model, o);
        JsonNode answer = answer(model, o);
        if (o.status() < 200 || o.status() >= 300 || !answer.has(field)) throw upstreamError(o.status(), answer);
        return answer;
    }

    /** The error for a routed request answered with an error (or not at all) instead of a stream or a whole answer. */
    static ApiException error(String model, Outcome o) {
        if (o.body() == null || o.status() <= 0) return failed(model, o);
        return upstreamError(o.status(), answer(model, o));
    }

    /** The upstream's answer as JSON; anything else (a proxy's error page) is the upstream's failure, a 502. */
    private static JsonNode answer(String model, Outcome o) {
        try {
            return Json.MAPPER.readTree(o.body());
        } catch (java.io.IOException notJson) {
            return Json.MAPPER.createObjectNode().put("error", "the upstream of model '" + model + "' answered " + o.status() + " with a body that is not JSON");
        }
    }

    /** The upstream's error as the client's: its message, and its type, param and code where it gives them. */
    private static ApiException upstreamError(int status, JsonNode answer) {
        JsonNode e = answer.path("error");
        String message = e.path("message").asText(e.asText("the upstream answered " + status));
        int code = status >= 400 ? status : 502;
        return new ApiException(code, e.path("type").asText(code < 500 ? "invalid_request_error" : "upstream_error"), message,
                e.path("param").asText(null), e.path("code").asText("upstream_error"));
    }

    /**
     * Admits an OpenAI-shaped request, routes it and books its usage; the caller answers the
     * client. A stream went to {@code sink} as it came ({@link Outcome#streamed()}); otherwise the
     * outcome carries the deployment's whole answer, or none.
     */
    Outcome route(String path, ObjectNode body, Call call, ResponseSink sink, LocalPath local) {
        String model = body.path("model").asText();
        long prompt = TokenCounter.ESTIMATE.count(model, promptText(body));
        JsonNode max = body.hasNonNull("max_completion_tokens") ? body.get("max_completion_tokens") : body.get("max_tokens");
        long maxTokens = max != null && max.canConvertToLong() ? Math.max(0, max.asLong()) : 0;
        int n = body.path("n").asInt(1);
        Metering meter = call.meter();
        meter.admit(model, prompt, maxTokens > 0 ? maxTokens * Math.max(1, n) : 0);
        Router.Result r;
        try {
            r = router.forward(model, path, body, prompt, sink, (d, b, s) -> serveLocally(d, b, s, local, call));
        } catch (GatewayException e) {
            throw Metering.map(e);
        }
        Outcome o = r.outcome();
        if (r.deployment().isLocal()) meter.servedBy(r.deployment().name()); // booked from its job, as a direct request is
        else {
            meter.usage(o.usage());
            meter.routed(o);
        }
        if (o.streamed() && !o.complete()) meter.incomplete(); // cut or stalled upstream: booked as an error, with what was produced
        return o;
    }

    /**
     * One attempt at a local deployment: the local path with the deployment's model. An error it
     * raises before anything was sent becomes the outcome's status and body (a 400 goes to the
     * client as it is; a 429 or 5xx falls back), and its job, if it had started one, is no part of
     * the request's usage. A model the deployment names but this server does not have is the
     * deployment's failure, not the client's.
     */
    private static Outcome serveLocally(Deployment d, ObjectNode body, ResponseSink sink, LocalPath local, Call call) {
        ObjectNode b = body.deepCopy(); // the next deployment gets the client's body as it was
        b.put("model", d.targetModel());
        Reply.Routed reply = new Reply.Routed(sink);
        ApiException failure;
        try {
            local.serve(Json.of(b, ""), reply, call);
            return reply.outcome(d.name());
        } catch (ApiException e) {
            failure = e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failure = ApiException.unavailable("The server is shutting down.");
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "local deployment " + d.name() + " failed", e);
            failure = ApiException.server("Internal error: " + e);
        }
        if (reply.started()) return reply.outcome(d.name());
        call.meter().dropJob();
        if ("model_not_found".equals(failure.code())) return Outcome.failed(d.name() + ": " + failure.getMessage(), false);
        long retryAfterMs = failure.retryAfter() == null ? -1 : Long.parseLong(failure.retryAfter()) * 1000;
        return new Outcome(failure.status(), Json.bytes(failure.toJson()), Usage.NONE, retryAfterMs, false, false, d.name() + ": " + failure.getMessage());
    }

    /** The text of the prompt or messages, to estimate its tokens for admission. */
    private static String promptText(ObjectNode body) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode m : body.path("messages")) {
            JsonNode c = m.path("content");
            if (c.isTextual()) sb.append(c.textValue()).append('\n');
            else for (JsonNode part : c) sb.append(part.path("text").asText("")).append('\n');
        }
        for (String field : new String[] {"prompt", "input"}) { // completions; embeddings
            JsonNode p = body.path(field);
            if (p.isTextual()) sb.append(p.textValue());
            else for (JsonNode e : p) sb.append(e.isTextual() ? e.textValue() : e.isNumber() ? "abcd" : e.toString());
        }
        return sb.toString();
    }

    /** Writes the upstream's events to the client as they arrive. */
    private static final class Sink extends ClientStream implements ResponseSink {
        Sink(ServerResponse res, Metering meter) {
            super(res, meter);
        }

        @Override
        public void start(int status, String contentType) {
            open(status, contentType == null ? "text/event-stream; charset=utf-8" : contentType, "Cache-Control", "no-cache", "X-Accel-Buffering", "no");
        }

        @Override
        public void chunk(byte[] data) throws IOException {
            write(data);
        }
    }
}
