package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.genset.gateway.route.Outcome;
import dev.genset.gateway.route.ResponseSink;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * Ollama's {@code /api/chat} and {@code /api/generate} for models the gateway routes to
 * upstream providers: the request is put in OpenAI's shape (an upstream speaks only that), routed,
 * metered and booked as an OpenAI request is, and the answer comes back in Ollama's shape, a
 * stream as newline-delimited JSON as it arrives. Ollama-only features that an OpenAI upstream
 * cannot honour ({@code context}, {@code keep_alive}, images) are left out.
 */
final class OllamaRouting {
    private OllamaRouting() {}

    /** A routed {@code /api/chat}. */
    static void chat(Json j, ServerResponse res, Call call, Upstream upstream, Upstream.LocalPath local) throws IOException {
        String model = j.requiredString("model");
        ObjectNode body = openAiBody(j, model);
        ArrayNode messages = body.putArray("messages");
        ArrayNode given = j.array("messages");
        for (int i = 0; i < given.size(); i++) {
            JsonNode m = given.get(i);
            String role = m.path("role").asText("");
            if (role.isEmpty()) throw ApiException.invalid("messages[" + i + "].role", "missing_required_parameter", "Missing 'role' in messages[" + i + "].");
            messages.addObject().put("role", role).put("content", m.path("content").asText(""));
        }
        run("/chat/completions", body, model, true, j.bool("stream", true), res, call, upstream, local);
    }

    /** A routed {@code /api/generate}: a chat of system and prompt, or with {@code raw} a plain completion. */
    static void generate(Json j, ServerResponse res, Call call, Upstream upstream, Upstream.LocalPath chatLocal, Upstream.LocalPath completionsLocal)
            throws IOException {
        String model = j.requiredString("model");
        ObjectNode body = openAiBody(j, model);
        String prompt = j.string("prompt", ""), system = j.string("system", null);
        boolean raw = j.bool("raw", false);
        if (raw) {
            body.put("prompt", system == null ? prompt : system + "\n" + prompt);
            String suffix = j.string("suffix", null);
            if (suffix != null) body.put("suffix", suffix);
        } else {
            ArrayNode messages = body.putArray("messages");
            if (system != null) messages.addObject().put("role", "system").put("content", system);
            messages.addObject().put("role", "user").put("content", prompt);
        }
        run(raw ? "/completions" : "/chat/completions", body, model, false, j.bool("stream", true), res, call, upstream,
                raw ? completionsLocal : chatLocal);
    }

    /** The answer to an empty chat or prompt (Ollama's "load the model"): nothing to load for a routed model. */
    static void loaded(String model, boolean chat, ServerResponse res) {
        ObjectNode r = part(model, chat, "");
        r.put("done_reason", "load").put("done", true);
        OpenAiEndpoints.send(res, r);
    }

    /** The model and the sampling options that have OpenAI names. */
    private static ObjectNode openAiBody(Json j, String model) {
        ObjectNode body = Json.MAPPER.createObjectNode().put("model", model);
        Json options = j.object("options");
        if (options != null) {
            for (String f : new String[] {"temperature", "top_p", "seed", "stop", "presence_penalty", "frequency_penalty"}) {
                JsonNode v = options.get(f);
                if (v != null && !v.isNull()) body.set(f, v);
            }
            Integer numPredict = options.integer("num_predict", -2, Integer.MAX_VALUE);
            if (numPredict != null && numPredict >= 0) body.put("max_tokens", numPredict);
        }
        JsonNode format = j.get("format");
        if (format != null && format.isTextual() && format.textValue().equals("json")) body.putObject("response_format").put("type", "json_object");
        else if (format != null && format.isObject())
            body.putObject("response_format").put("type", "json_schema").putObject("json_schema").put("name", "format").set("schema", format);
        else if (format != null && !format.isNull() && !(format.isTextual() && format.textValue().isEmpty()))
            throw ApiException.invalid("format", "invalid_value", "'format' must be \"json\" or a JSON schema.");
        return body;
    }

    private static void run(String path, ObjectNode body, String model, boolean chat, boolean stream, ServerResponse res, Call call,
                            Upstream upstream, Upstream.LocalPath local) throws IOException {
        long t0 = System.nanoTime();
        if (!stream) {
            Outcome o = upstream.route(path, body, call, null, local);
            if (o.body() == null || o.status() <= 0) throw Upstream.failed(model, o);
            JsonNode answer = Json.MAPPER.readTree(o.body());
            if (o.status() < 200 || o.status() >= 300) throw upstreamError(o.status(), answer);
            JsonNode choice = answer.path("choices").path(0);
            String text = choice.has("message") ? choice.path("message").path("content").asText("") : choice.path("text").asText("");
            OpenAiEndpoints.send(res, last(part(model, chat, text), choice.path("finish_reason").asText("stop"), o, t0));
            return;
        }
        body.put("stream", true);
        body.putObject("stream_options").put("include_usage", true);
        Outcome o;
        try (NdjsonSink sink = new NdjsonSink(res, call.meter(), model, chat)) {
            o = upstream.route(path, body, call, sink, local);
            if (o.streamed()) {
                try {
                    if (o.complete()) sink.line(last(part(model, chat, ""), sink.finishReason, o, t0));
                    else sink.line(Json.MAPPER.createObjectNode().put("error", "the upstream stream broke off: " + o.error()));
                } catch (IOException clientGone) {
                    // booked as such by the sink
                }
                return;
            }
        }
        // not streamed: the upstream answered with an error (or not at all) before any event
        if (o.body() == null || o.status() <= 0) throw Upstream.failed(model, o);
        throw upstreamError(o.status(), Json.MAPPER.readTree(o.body()));
    }

    private static ApiException upstreamError(int status, JsonNode answer) {
        String message = answer.path("error").path("message").asText(answer.path("error").asText("the upstream answered " + status));
        int code = status >= 400 ? status : 502;
        return new ApiException(code, code < 500 ? "invalid_request_error" : "upstream_error", message, null, "upstream_error");
    }

    private static ObjectNode part(String model, boolean chat, String text) {
        ObjectNode r = Json.MAPPER.createObjectNode().put("model", model).put("created_at", Instant.now().toString());
        if (chat) r.putObject("message").put("role", "assistant").put("content", text);
        else r.put("response", text);
        return r.put("done", false);
    }

    /** The closing object: Ollama's counts from the usage the request was booked with. */
    private static ObjectNode last(ObjectNode part, String finishReason, Outcome o, long t0) {
        return part.put("done", true).put("done_reason", finishReason == null || finishReason.isEmpty() ? "stop" : finishReason)
                .put("total_duration", System.nanoTime() - t0).put("load_duration", 0)
                .put("prompt_eval_count", o.usage().promptTokens()).put("eval_count", o.usage().completionTokens());
    }

    /** Turns the upstream's server-sent chunks into Ollama's lines, one per piece of text, as they come. */
    private static final class NdjsonSink extends ClientStream implements ResponseSink {
        private final String model;
        private final boolean chat;
        private final StringBuilder pending = new StringBuilder();
        String finishReason;

        NdjsonSink(ServerResponse res, Metering meter, String model, boolean chat) {
            super(res, meter);
            this.model = model;
            this.chat = chat;
        }

        @Override
        public void start(int status, String contentType) {
            open(status, "application/x-ndjson");
        }

        @Override
        public void chunk(byte[] data) throws IOException {
            pending.append(new String(data, StandardCharsets.UTF_8));
            for (int nl; (nl = pending.indexOf("\n")) >= 0; ) {
                String l = pending.substring(0, nl).trim();
                pending.delete(0, nl + 1);
                if (!l.startsWith("data:")) continue;
                String payload = l.substring(5).trim();
                if (payload.isEmpty() || payload.equals("[DONE]")) continue;
                JsonNode event;
                try {
                    event = Json.MAPPER.readTree(payload);
                } catch (com.fasterxml.jackson.core.JsonProcessingException notJson) {
                    continue; // nothing an Ollama client could use
                }
                if (event.has("error")) {
                    line(Json.MAPPER.createObjectNode().put("error", event.path("error").path("message").asText(event.path("error").asText())));
                    continue;
                }
                JsonNode choice = event.path("choices").path(0);
                // a chat chunk's text is in its delta, a completion chunk's in "text", whichever shape the client gets
                String text = choice.has("delta") ? choice.path("delta").path("content").asText("") : choice.path("text").asText("");
                if (choice.hasNonNull("finish_reason")) finishReason = choice.get("finish_reason").asText();
                if (!text.isEmpty()) line(part(model, chat, text));
            }
        }

        void line(JsonNode json) throws IOException {
            if (!opened()) start(200, null);
            write((Json.write(json) + "\n").getBytes(StandardCharsets.UTF_8));
        }
    }
}
