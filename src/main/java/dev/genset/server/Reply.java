package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.genset.gateway.Usage;
import dev.genset.gateway.route.Outcome;
import dev.genset.gateway.route.ResponseSink;
import io.helidon.webserver.http.ServerResponse;

/**
 * Where a locally generated response goes: straight to the client, or back to the router as one
 * attempt at a local deployment (a whole response as the outcome's body, a stream through the
 * router's sink), so a failure before anything was sent can fall back to another deployment.
 */
sealed interface Reply {
    /** A whole response, status 200. */
    void send(JsonNode json);

    /** An event stream (opened by the caller). */
    Sse stream();

    record Direct(ServerResponse res) implements Reply {
        @Override
        public void send(JsonNode json) {
            OpenAiEndpoints.send(res, json);
        }

        @Override
        public Sse stream() {
            return new Sse(res);
        }
    }

    final class Routed implements Reply {
        private final ResponseSink sink; // null when the request is not streamed
        private byte[] body;
        private Sse sse;

        Routed(ResponseSink sink) {
            this.sink = sink;
        }

        @Override
        public void send(JsonNode json) {
            body = Json.bytes(json);
        }

        @Override
        public Sse stream() {
            if (sink == null) throw new IllegalStateException("a stream without a sink");
            return sse = new Sse(sink);
        }

        /** Whether bytes may have reached the client: from then on there is no falling back. */
        boolean started() {
            return sse != null && sse.opened();
        }

        /**
         * What the attempt came to. Usage is booked from the request's job at settlement, as for a
         * request served directly, so the outcome carries none. A stream the client left counts as
         * complete: the engine did its part, and the request is booked as cancelled all the same.
         */
        Outcome outcome(String deployment) {
            if (body != null) return new Outcome(200, body, Usage.NONE, -1, false, true, null);
            if (sse == null) return Outcome.failed(deployment + ": no response", false);
            boolean complete = sse.finished() || sse.broken();
            return new Outcome(200, null, Usage.NONE, -1, sse.opened(), complete, complete ? null : deployment + ": the stream ended with an error");
        }
    }
}
