package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.genset.gateway.route.Outcome;
import dev.genset.gateway.route.ResponseSink;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * OpenAI's Responses API ({@code POST /v1/responses}, {@code GET} and {@code DELETE /v1/responses/{id}}),
 * which newer clients and agent SDKs speak instead of chat completions. A request is put in chat
 * completions' shape and runs the chat path (a model served here, or routed upstream by the gateway
 * with fallback, metered and booked as a chat request is); its answer comes back as a response
 * object, or streamed as the Responses API's typed events as it is generated. Responses are kept
 * ({@link ResponseStore}: the database, else memory; unless {@code store} is false) for
 * {@code previous_response_id}, which continues the conversation they ended, within their owner's scope.
 *
 * <p>Function tools, {@code tool_choice}, {@code text.format} (JSON mode and schemas, enforced by
 * constrained decoding), logprobs and the sampling parameters map onto chat's; hosted tools (web or
 * file search, code interpreter), images and files, and background mode are refused with a 400.
 */
final class ResponsesEndpoint {
    private static final Set<String> FIELDS = Set.of("model", "input", "instructions", "max_output_tokens", "temperature", "top_p", "stream",
            "stream_options", "tools", "tool_choice", "parallel_tool_calls", "text", "previous_response_id", "store", "metadata", "user",
            "top_logprobs", "include", "truncation", "reasoning", "service_tier", "safety_identifier", "prompt_cache_key", "background",
            "max_tool_calls", "keep_alive",
            // the engine's sampling extensions, as on chat completions
            "seed", "top_k", "min_p", "repeat_penalty", "repeat_last_n", "presence_penalty", "frequency_penalty", "stop", "logit_bias",
            "ignore_eos", "cache_salt");
    private static final Set<String> PASSED_TO_CHAT = Set.of("model", "temperature", "top_p", "parallel_tool_calls", "user", "keep_alive",
            "seed", "top_k", "min_p", "repeat_penalty", "repeat_last_n", "presence_penalty", "frequency_penalty", "stop", "logit_bias",
            "ignore_eos", "cache_salt");

    private final OpenAiEndpoints openai;
    private final Upstream upstream;
    private final ResponseStore store;
    private final java.util.function.Supplier<String> defaultModel;

    /** @param defaultModel the id of the model a request that names none gets */
    ResponsesEndpoint(OpenAiEndpoints openai, Upstream upstream, ResponseStore store, java.util.function.Supplier<String> defaultModel) {
        this.openai = openai;
        this.defaultModel = defaultModel;
        this.upstream = upstream;
        this.store = store;
    }

    // ---- POST /v1/responses --------------------------------------------------------------------

    void create(byte[] body, ServerResponse res, Call call) throws IOException, InterruptedException {
        Json j = Json.parseObject(body);
        j.allowOnly(FIELDS);
        String owner = call.meter().cacheScope(null);
        ObjectNode chat = Json.MAPPER.createObjectNode();
        for (String f : PASSED_TO_CHAT) if (j.has(f)) chat.set(f, j.get(f));

        ArrayNode conversation = Json.MAPPER.createArrayNode(); // what a follow-up continues from: no instructions
        String previousId = j.string("previous_response_id", null);
        if (previousId != null) {
            ResponseStore.Entry previous = store.get(previousId, owner);
            if (previous == null) throw ApiException.notFound("previous_response_id", "previous_response_not_found",
                    "Previous response with id '" + previousId + "' not found.");
            conversation.addAll(previous.conversation().deepCopy());
        }
        ResponsesInput.messages(j.get("input"), conversation);
        ArrayNode inputItems = ResponsesInput.items(j.get("input"));
        ArrayNode messages = chat.putArray("messages");
        JsonNode instructions = j.get("instructions");
        if (instructions != null && !instructions.isNull()) {
            if (!instructions.isTextual()) throw j.wrongType("instructions", "a string", instructions);
            messages.addObject().put("role", "system").put("content", instructions.textValue());
        }
        messages.addAll(conversation.deepCopy());
        if (messages.isEmpty()) throw ApiException.invalid("input", "missing_required_parameter", "Missing required parameter: 'input'.");

        Integer maxOutput = j.integer("max_output_tokens", 1, Integer.MAX_VALUE);
        if (maxOutput != null) chat.put("max_completion_tokens", maxOutput);
        ResponsesInput.tools(j, chat);
        ResponsesInput.format(j, chat);
        Integer topLogprobs = j.integer("top_logprobs", 0, 20);
        List<String> includeList = j.stringOrStrings("include", 16);
        // only the output's logprobs can be included here; other values name what this server has none of (hosted tools, reasoning)
        Set<String> include = includeList == null ? Set.of() : new HashSet<>(includeList);
        if (include.contains("message.output_text.logprobs") || topLogprobs != null && topLogprobs > 0) {
            chat.put("logprobs", true);
            if (topLogprobs != null) chat.put("top_logprobs", topLogprobs);
        }
        if (j.bool("background", false))
            throw ApiException.invalid("background", "unsupported_parameter", "Background responses are not supported by this server.");
        String truncation = j.string("truncation", "disabled");
        if (!truncation.equals("disabled") && !truncation.equals("auto"))
            throw ApiException.invalid("truncation", "invalid_value", "Invalid value: '" + truncation + "'. Supported values are: 'disabled' and 'auto'.");
        Json reasoning = j.object("reasoning");
        if (reasoning != null) {
            reasoning.allowOnly(Set.of("effort", "summary", "generate_summary"));
            reasoning.string("effort", null);
            reasoning.string("summary", null);
        }
        Json streamOptions = j.object("stream_options");
        if (streamOptions != null) streamOptions.allowOnly(Set.of("include_obfuscation")).bool("include_obfuscation", false);
        Json metadata = j.object("metadata");
        if (metadata != null && metadata.node().size() > 16)
            throw ApiException.invalid("metadata", "invalid_value", "Invalid 'metadata': at most 16 keys are allowed, got " + metadata.node().size() + ".");
        j.integer("max_tool_calls", 1, Integer.MAX_VALUE);
        j.string("service_tier", null);
        j.string("safety_identifier", null);
        j.string("prompt_cache_key", null);
        boolean keep = j.bool("store", true);
        boolean stream = j.bool("stream", false);

        String model = j.string("model", null);
        ResponseObject r = new ResponseObject(j, model != null ? model : defaultModel.get(), previousId, keep);
        if (stream) {
            chat.put("stream", true);
            chat.putObject("stream_options").put("include_usage", true);
            try (ResponsesStream sink = new ResponsesStream(res, call.meter(), r)) {
                Outcome o;
                if (upstream.handles(model)) {
                    o = upstream.route("/chat/completions", chat, call, sink, openai.chatPath());
                    if (!o.streamed()) throw Upstream.error(model, o);
                } else {
                    serveLocally(chat, new Reply.Routed(sink), call, truncation.equals("auto"));
                }
                if (sink.completed() && keep) keepResponse(r, conversation, inputItems, owner);
            }
            return;
        }
        JsonNode answer;
        if (upstream.handles(model)) {
            answer = Upstream.whole(model, upstream.route("/chat/completions", chat, call, null, openai.chatPath()), "choices");
        } else {
            Reply.Routed reply = new Reply.Routed(null);
            serveLocally(chat, reply, call, truncation.equals("auto"));
            answer = Json.MAPPER.readTree(reply.outcome("local").body());
        }
        r.fromChat(answer);
        if (keep) keepResponse(r, conversation, inputItems, owner);
        OpenAiEndpoints.send(res, r.json());
    }

    /**
     * Runs the chat path here. With {@code truncation: "auto"}, a conversation longer than the
     * context loses its oldest turns (a function call with its outputs) until it fits, as OpenAI
     * drops items from the start; the instructions stay.
     */
    private void serveLocally(ObjectNode chat, Reply reply, Call call, boolean truncate) throws IOException, InterruptedException {
        while (true) {
            try {
                openai.chatPath().serve(Json.of(chat.deepCopy(), ""), reply, call);
                return;
            } catch (ApiException e) {
                if (!truncate || !"exceed_context_size_error".equals(e.type()) || !dropOldestTurn((ArrayNode) chat.get("messages"))) throw e;
            }
        }
    }

    /** Removes the first message after the instructions, and tool outputs left answering nothing; false when one message is all there is. */
    static boolean dropOldestTurn(ArrayNode messages) {
        int first = messages.size() > 0 && messages.get(0).path("role").asText().equals("system") ? 1 : 0;
        if (messages.size() - first <= 1) return false;
        messages.remove(first);
        while (messages.size() - first > 1 && messages.get(first).path("role").asText().equals("tool")) messages.remove(first);
        return true;
    }

    private void keepResponse(ResponseObject r, ArrayNode conversation, ArrayNode inputItems, String owner) {
        conversation.add(r.assistantMessage());
        store.put(r.id, new ResponseStore.Entry(owner, r.json().deepCopy(), conversation, inputItems));
    }

    // ---- GET and DELETE /v1/responses/{id} -----------------------------------------------------

    void get(String id, ServerResponse res, Call call) {
        ResponseStore.Entry e = store.get(id, call.meter().cacheScope(null));
        if (e == null) throw notFound(id);
        OpenAiEndpoints.send(res, e.response());
    }

    void delete(String id, ServerResponse res, Call call) {
        if (!store.delete(id, call.meter().cacheScope(null))) throw notFound(id);
        OpenAiEndpoints.send(res, Json.MAPPER.createObjectNode().put("id", id).put("object", "response").put("deleted", true));
    }

    /**
     * {@code GET /v1/responses/{id}/input_items}: the response's input items, newest first unless
     * {@code order=asc}, {@code limit} (1 to 100, default 20) at a time after the item {@code after}.
     */
    void inputItems(String id, Map<String, String> query, ServerResponse res, Call call) {
        ResponseStore.Entry e = store.get(id, call.meter().cacheScope(null));
        if (e == null) throw notFound(id);
        String order = query.getOrDefault("order", "desc");
        if (!order.equals("asc") && !order.equals("desc"))
            throw ApiException.invalid("order", "invalid_value", "Invalid value: '" + order + "'. Supported values are: 'asc' and 'desc'.");
        int limit;
        try {
            limit = Integer.parseInt(query.getOrDefault("limit", "20"));
        } catch (NumberFormatException notANumber) {
            throw ApiException.invalid("limit", "invalid_type", "Invalid 'limit': expected an integer.");
        }
        if (limit < 1 || limit > 100) throw ApiException.invalid("limit", "invalid_value", "Invalid 'limit': it must be between 1 and 100.");
        List<JsonNode> items = new java.util.ArrayList<>();
        e.inputItems().forEach(items::add);
        if (order.equals("desc")) java.util.Collections.reverse(items);
        int from = 0;
        String after = query.get("after");
        if (after != null) {
            while (from < items.size() && !items.get(from).path("id").asText().equals(after)) from++;
            if (from == items.size()) throw ApiException.invalid("after", "invalid_value", "No input item with id '" + after + "' in response '" + id + "'.");
            from++;
        }
        ObjectNode list = Json.MAPPER.createObjectNode().put("object", "list");
        ArrayNode data = list.putArray("data");
        for (int i = from; i < Math.min(items.size(), from + limit); i++) data.add(items.get(i));
        if (data.isEmpty()) list.putNull("first_id").putNull("last_id");
        else list.put("first_id", data.get(0).path("id").asText()).put("last_id", data.get(data.size() - 1).path("id").asText());
        list.put("has_more", from + limit < items.size());
        OpenAiEndpoints.send(res, list);
    }

    private static ApiException notFound(String id) {
        return ApiException.notFound("response_id", "not_found", "Response with id '" + id + "' not found.");
    }

    // ---- the streamed answer -------------------------------------------------------------------

    /**
     * Turns the chat path's server-sent chunks (from this server's engine or an upstream) into the
     * Responses API's events as they come: the response created, each output item added, text
     * and call-argument deltas, each item done, then the response completed (or incomplete, or
     * failed) with its usage. Every event names its type on an {@code event:} line and carries a
     * sequence number.
     */
    static final class ResponsesStream extends ClientStream implements ResponseSink {
        private final ResponseObject r;
        private final SseData lines = new SseData();
        private int sequence;
        private boolean completed, failed;

        ResponsesStream(ServerResponse res, Metering meter, ResponseObject r) {
            super(res, meter);
            this.r = r;
        }

        boolean completed() {
            return completed;
        }

        @Override
        public void start(int status, String contentType) throws IOException {
            open(200, "text/event-stream; charset=utf-8", "Cache-Control", "no-cache", "X-Accel-Buffering", "no");
            ObjectNode created = r.json();
            created.put("status", "in_progress");
            created.putNull("usage");
            event("response.created", Json.MAPPER.createObjectNode().set("response", created));
            event("response.in_progress", Json.MAPPER.createObjectNode().set("response", created.deepCopy()));
        }

        @Override
        public void chunk(byte[] data) throws IOException {
            for (String payload : lines.feed(data)) {
                if (completed || failed) continue;
                if (payload.equals("[DONE]")) {
                    finish();
                    continue;
                }
                JsonNode chunk;
                try {
                    chunk = Json.MAPPER.readTree(payload);
                } catch (IOException notJson) {
                    continue;
                }
                if (chunk.has("error")) {
                    fail(chunk.get("error"));
                    continue;
                }
                r.model(chunk.path("model").asText(null));
                if (chunk.hasNonNull("usage")) r.usage(chunk.get("usage"));
                JsonNode choice = chunk.path("choices").path(0);
                if (choice.isMissingNode()) continue;
                JsonNode delta = choice.path("delta");
                String thought = delta.path("reasoning_content").asText("");
                if (!thought.isEmpty()) reasoning(thought);
                String text = delta.path("content").asText("");
                JsonNode logprobs = choice.path("logprobs").path("content");
                if (!text.isEmpty() || logprobs.isArray() && !logprobs.isEmpty()) text(text, logprobs);
                for (JsonNode piece : delta.path("tool_calls")) call(piece);
                if (choice.hasNonNull("finish_reason")) r.finishReason = choice.get("finish_reason").asText();
            }
        }

        private void text(String text, JsonNode logprobs) throws IOException {
            ResponseObject.Item m = r.message();
            if (added(m)) event("response.content_part.added", part(m).set("part", ResponseObject.outputText("", Json.MAPPER.createArrayNode())));
            m.text.append(text);
            ArrayNode lp = ResponseObject.logprobs(logprobs);
            m.logprobs.addAll(lp);
            event("response.output_text.delta", part(m).put("delta", text).set("logprobs", lp));
        }

        private void reasoning(String text) throws IOException {
            ResponseObject.Item item = r.reasoning();
            added(item);
            item.text.append(text);
            event("response.reasoning_text.delta", part(item).put("delta", text));
        }

        /** Announces a text item (the message or the reasoning) with its first text: whether this was that first time. */
        private boolean added(ResponseObject.Item item) throws IOException {
            if (item.index >= 0) return false;
            item.index = r.items.indexOf(item);
            ObjectNode added = item.json(false);
            ((ArrayNode) added.get("content")).removeAll();
            event("response.output_item.added", at(item).set("item", added));
            return true;
        }

        private void call(JsonNode piece) throws IOException {
            ResponseObject.Item c = r.call(piece.path("index").asInt(0));
            JsonNode fn = piece.path("function");
            if (piece.hasNonNull("id")) c.callId = piece.get("id").asText();
            if (fn.hasNonNull("name")) c.name += fn.get("name").asText();
            String args = fn.path("arguments").asText("");
            if (c.index < 0) {
                c.index = r.items.indexOf(c);
                event("response.output_item.added", at(c).set("item", c.json(false).put("arguments", "")));
            }
            c.arguments.append(args);
            if (!args.isEmpty()) event("response.function_call_arguments.delta", at(c).put("item_id", c.id).put("delta", args));
        }

        private void finish() throws IOException {
            completed = true;
            for (ResponseObject.Item item : r.items) {
                if (item.index < 0) continue;
                if (item.kind == ResponseObject.Item.Kind.REASONING) {
                    event("response.reasoning_text.done", part(item).put("text", item.text.toString()));
                } else if (item.kind == ResponseObject.Item.Kind.MESSAGE) {
                    ObjectNode done = part(item).put("text", item.text.toString());
                    done.set("logprobs", item.logprobs.deepCopy());
                    event("response.output_text.done", done);
                    event("response.content_part.done", part(item).set("part", ResponseObject.outputText(item.text.toString(), item.logprobs)));
                } else {
                    event("response.function_call_arguments.done", at(item).put("item_id", item.id).put("name", item.name)
                            .put("arguments", item.arguments.toString()));
                }
                event("response.output_item.done", at(item).set("item", item.json(true)));
            }
            ObjectNode whole = r.json();
            event(whole.path("status").asText().equals("incomplete") ? "response.incomplete" : "response.completed",
                    Json.MAPPER.createObjectNode().set("response", whole));
        }

        private void fail(JsonNode error) throws IOException {
            failed = true;
            ObjectNode e = Json.MAPPER.createObjectNode();
            e.put("code", error.path("code").asText(error.path("type").asText("server_error")));
            e.put("message", error.path("message").asText(error.asText()));
            JsonNode param = error.get("param");
            if (param != null && !param.isNull()) e.set("param", param);
            else e.putNull("param");
            event("error", e.deepCopy());
            ObjectNode whole = r.json();
            whole.put("status", "failed");
            whole.set("error", Json.MAPPER.createObjectNode().put("code", e.get("code").asText()).put("message", e.get("message").asText()));
            event("response.failed", Json.MAPPER.createObjectNode().set("response", whole));
        }

        private static ObjectNode at(ResponseObject.Item item) {
            return Json.MAPPER.createObjectNode().put("output_index", item.index);
        }

        private static ObjectNode part(ResponseObject.Item item) {
            return at(item).put("item_id", item.id).put("content_index", 0);
        }

        private void event(String type, ObjectNode fields) throws IOException {
            ObjectNode e = Json.MAPPER.createObjectNode().put("type", type).put("sequence_number", sequence++);
            e.setAll(fields);
            write(("event: " + type + "\ndata: " + Json.write(e) + "\n\n").getBytes(StandardCharsets.UTF_8));
        }
    }
}
