package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.genset.gateway.GatewayException;
import dev.genset.gateway.route.Outcome;
import dev.genset.gateway.route.ResponseSink;
import dev.genset.gateway.route.Router;
import dev.genset.gateway.route.TokenCounter;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.OutputStream;

/**
 * Requests for models this server does not hold but the gateway routes to OpenAI-compatible
 * upstreams: admitted like local ones, passed through (a stream chunk by chunk as it arrives) and
 * booked with the usage the upstream reported (or counted where it reported none).
 */
final class Upstream {
    private final Router router; // null: no gateway
    private final ModelRegistry models;

    Upstream(Router router, ModelRegistry models) {
        this.router = router;
        this.models = models;
    }

    /** Whether a request for {@code model} goes upstream: not served here, routed by the gateway. */
    boolean handles(String model) {
        return router != null && model != null && !model.isEmpty() && router.routes(model) && !models.has(model);
    }

    java.util.List<String> models() {
        if (router == null) return java.util.List.of();
        return router.models().stream().filter(m -> !models.has(m)).toList();
    }

    /** Forwards a chat or completions request ({@code path} "/chat/completions" or "/completions"). */
    void forward(String path, Json j, ServerResponse res, Call call) {
        ObjectNode body = j.node();
        String model = body.path("model").asText();
        boolean stream = body.path("stream").asBoolean(false);
        long prompt = TokenCounter.ESTIMATE.count(model, promptText(body));
        JsonNode max = body.hasNonNull("max_completion_tokens") ? body.get("max_completion_tokens") : body.get("max_tokens");
        long maxTokens = max != null && max.canConvertToLong() ? Math.max(0, max.asLong()) : 0;
        int n = body.path("n").asInt(1);
        Metering meter = call.meter();
        meter.admit(model, prompt, maxTokens > 0 ? maxTokens * Math.max(1, n) : 0);
        Sink sink = stream ? new Sink(res, meter) : null;
        Router.Result r;
        try {
            r = router.forward(model, path, body, prompt, sink, null);
        } catch (GatewayException e) {
            throw Metering.map(e);
        } finally {
            if (sink != null) sink.close();
        }
        Outcome o = r.outcome();
        meter.usage(o.usage());
        if (o.streamed()) { // sent as it came, complete or not
            if (!o.complete()) meter.incomplete(); // cut or stalled upstream: booked as an error, with what was produced
            return;
        }
        if (o.body() != null && o.status() > 0) {
            res.status(o.status());
            res.header("Content-Type", "application/json");
            res.send(o.body());
            return;
        }
        throw new ApiException(502, "upstream_error", "The upstream of model '" + model + "' failed: " + o.error(), null, "upstream_error");
    }

    /** The text of the prompt or messages, to estimate its tokens for admission. */
    private static String promptText(ObjectNode body) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode m : body.path("messages")) {
            JsonNode c = m.path("content");
            if (c.isTextual()) sb.append(c.textValue()).append('\n');
            else for (JsonNode part : c) sb.append(part.path("text").asText("")).append('\n');
        }
        JsonNode p = body.path("prompt");
        if (p.isTextual()) sb.append(p.textValue());
        else for (JsonNode e : p) sb.append(e.isTextual() ? e.textValue() : e.isNumber() ? "abcd" : e.toString());
        return sb.toString();
    }

    /** Writes the upstream's events to the client as they arrive. */
    private static final class Sink implements ResponseSink, AutoCloseable {
        private final ServerResponse res;
        private final Metering meter;
        private OutputStream out;

        Sink(ServerResponse res, Metering meter) {
            this.res = res;
            this.meter = meter;
        }

        @Override
        public void start(int status, String contentType) throws IOException {
            res.status(status);
            res.header("Content-Type", contentType == null ? "text/event-stream; charset=utf-8" : contentType);
            res.header("Cache-Control", "no-cache");
            res.header("X-Accel-Buffering", "no");
            out = res.outputStream();
        }

        @Override
        public void chunk(byte[] data) throws IOException {
            try {
                out.write(data);
                out.flush();
            } catch (IOException | RuntimeException e) {
                meter.clientGone();
                throw new IOException("client went away", e);
            }
        }

        @Override
        public void close() {
            if (out == null) return;
            try {
                out.close();
            } catch (IOException | RuntimeException ignored) {
                // the client is gone
            }
        }
    }
}
