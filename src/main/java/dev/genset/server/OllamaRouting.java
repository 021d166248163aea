package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.genset.gateway.route.Outcome;
import dev.genset.gateway.route.ResponseSink;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Ollama's {@code /api/chat} and {@code /api/generate} for models the gateway routes to
 * upstream providers: the request is put in OpenAI's shape (an upstream speaks only that), routed,
 * metered and booked as an OpenAI request is, and the answer comes back in Ollama's shape, a
 * stream as newline-delimited JSON as it arrives; tool calls go both ways (OpenAI's ids and
 * string arguments made from and into Ollama's id-less calls with object arguments). Ollama-only
 * features that an OpenAI upstream cannot honour ({@code context}, {@code keep_alive}, images) are
 * left out.
 */
final class OllamaRouting {
    private OllamaRouting() {}

    /** A routed {@code /api/chat}. */
    static void chat(Json j, ServerResponse res, Call call, Upstream upstream, Upstream.LocalPath local) throws IOException {
        String model = j.requiredString("model");
        ObjectNode body = openAiBody(j, model);
        ArrayNode messages = body.putArray("messages");
        ArrayNode given = j.array("messages");
        // Ollama's tool calls carry no ids and its tool results name no call: OpenAI's need both, so
        // each call gets an id here and each result answers the earliest open call (of its tool, if named)
        List<String[]> open = new ArrayList<>(); // {id, tool name}
        for (int i = 0; i < given.size(); i++) {
            JsonNode m = given.get(i);
            String role = m.path("role").asText("");
            if (role.isEmpty()) throw ApiException.invalid("messages[" + i + "].role", "missing_required_parameter", "Missing 'role' in messages[" + i + "].");
            ObjectNode out = messages.addObject().put("role", role).put("content", m.path("content").asText(""));
            JsonNode calls = m.path("tool_calls");
            if (role.equals("assistant") && calls.isArray() && !calls.isEmpty()) {
                ArrayNode oc = out.putArray("tool_calls");
                for (int k = 0; k < calls.size(); k++) {
                    JsonNode fn = calls.get(k).path("function");
                    JsonNode args = fn.path("arguments");
                    String id = "call_" + i + "_" + k, name = fn.path("name").asText("");
                    oc.addObject().put("id", id).put("type", "function").putObject("function").put("name", name)
                            .put("arguments", args.isTextual() ? args.textValue() : args.isMissingNode() ? "{}" : Json.write(args));
                    open.add(new String[] {id, name});
                }
            } else if (role.equals("tool")) {
                String tool = m.path("tool_name").asText(m.path("name").asText(""));
                String[] answered = null;
                for (String[] c : open) if (tool.isEmpty() || c[1].equals(tool)) { answered = c; break; }
                if (answered == null && !open.isEmpty()) answered = open.getFirst();
                if (answered == null) throw ApiException.invalid("messages[" + i + "]", "invalid_value", "A tool result in messages[" + i + "] answers no tool call before it.");
                open.remove(answered);
                out.put("tool_call_id", answered[0]);
            }
        }
        JsonNode tools = j.get("tools");
        if (tools != null && tools.isArray() && !tools.isEmpty()) body.set("tools", tools); // Ollama's tools are OpenAI's
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
        ObjectNode r = OllamaEndpoints.part(model, chat, "");
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
            JsonNode answer = Upstream.whole(model, o, "choices");
            JsonNode choice = answer.path("choices").path(0);
            String text = choice.has("message") ? choice.path("message").path("content").asText("") : choice.path("text").asText("");
            ObjectNode whole = OllamaEndpoints.part(model, chat, text);
            if (chat) addToolCalls(whole, choice.path("message").path("tool_calls"));
            OpenAiEndpoints.send(res, last(whole, choice.path("finish_reason").asText("stop"), o, t0));
            return;
        }
        body.put("stream", true);
        body.putObject("stream_options").put("include_usage", true);
        Outcome o;
        try (NdjsonSink sink = new NdjsonSink(res, call.meter(), model, chat)) {
            o = upstream.route(path, body, call, sink, local);
            if (o.streamed()) {
                try {
                    if (o.complete() && !sink.toolCalls.isEmpty()) { // Ollama sends a stream's tool calls whole, in one line
                        ObjectNode calls = OllamaEndpoints.part(model, chat, "");
                        addToolCalls(calls, sink.toolCalls);
                        sink.line(calls);
                    }
                    if (o.complete()) sink.line(last(OllamaEndpoints.part(model, chat, ""), sink.finishReason, o, t0));
                    else sink.line(Json.MAPPER.createObjectNode().put("error", "the upstream stream broke off: " + o.error()));
                } catch (IOException clientGone) {
                    // booked as such by the sink
                }
                return;
            }
        }
        // not streamed: the upstream answered with an error (or not at all) before any event
        throw Upstream.error(model, o);
    }

    /** OpenAI's tool calls (arguments as a JSON string) as Ollama's (arguments as an object) in the message of {@code line}. */
    private static void addToolCalls(ObjectNode line, JsonNode calls) {
        if (!calls.isArray() || calls.isEmpty()) return;
        ArrayNode out = ((ObjectNode) line.get("message")).putArray("tool_calls");
        for (JsonNode c : calls) {
            JsonNode fn = c.path("function");
            JsonNode args;
            try {
                args = Json.MAPPER.readTree(fn.path("arguments").asText("{}"));
            } catch (com.fasterxml.jackson.core.JsonProcessingException notJson) {
                args = fn.path("arguments"); // passed on as the upstream wrote it
            }
            out.addObject().putObject("function").put("name", fn.path("name").asText("")).set("arguments", args == null ? Json.MAPPER.createObjectNode() : args);
        }
    }

    /** The closing object: Ollama's counts from the usage the request was booked with. */
    private static ObjectNode last(ObjectNode part, String finishReason, Outcome o, long t0) {
        boolean stop = finishReason == null || finishReason.isEmpty() || finishReason.equals("tool_calls");
        return part.put("done", true).put("done_reason", stop ? "stop" : finishReason)
                .put("total_duration", System.nanoTime() - t0).put("load_duration", 0)
                .put("prompt_eval_count", o.usage().promptTokens()).put("eval_count", o.usage().completionTokens());
    }

    /** Turns the upstream's server-sent chunks into Ollama's lines, one per piece of text, as they come. */
    private static final class NdjsonSink extends ClientStream implements ResponseSink {
        private final String model;
        private final boolean chat;
        private final SseData lines = new SseData();
        String finishReason;
        /** Tool calls streamed in pieces, by index: OpenAI's shape, arguments joined. */
        final ArrayNode toolCalls = Json.MAPPER.createArrayNode();

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
            for (String payload : lines.feed(data)) {
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
                for (JsonNode d : choice.path("delta").path("tool_calls")) gather(d);
                if (!text.isEmpty()) line(OllamaEndpoints.part(model, chat, text));
            }
        }

        /** One piece of a streamed tool call: the first names it, the rest add to its arguments. */
        private void gather(JsonNode piece) {
            int index = piece.path("index").asInt(toolCalls.size());
            while (toolCalls.size() <= index) toolCalls.addObject().putObject("function").put("name", "").put("arguments", "");
            ObjectNode fn = (ObjectNode) toolCalls.get(index).get("function");
            JsonNode f = piece.path("function");
            if (f.hasNonNull("name")) fn.put("name", fn.get("name").asText() + f.get("name").asText());
            if (f.hasNonNull("arguments")) fn.put("arguments", fn.get("arguments").asText() + f.get("arguments").asText());
        }

        void line(JsonNode json) throws IOException {
            if (!opened()) start(200, null);
            write((Json.write(json) + "\n").getBytes(StandardCharsets.UTF_8));
        }
    }
}
