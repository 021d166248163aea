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
import java.util.Set;
import java.util.UUID;

/**
 * Anthropic's Messages API ({@code POST /v1/messages}), as llama.cpp's server and LiteLLM offer it, so
 * that clients written for Claude (its SDKs, coding agents) use the models here. A request is turned
 * into a chat completion (system, messages, tool use and tool results, tools and tool choice, stop
 * sequences, sampling), served as one is (the engine or the gateway's routes, metered and booked the
 * same way), and the answer turned back: content blocks of {@code thinking}, {@code text} and
 * {@code tool_use}, {@code stop_reason} and {@code usage}; a stream as Anthropic's events
 * ({@code message_start}, {@code content_block_start}, {@code content_block_delta} of text, thinking
 * or {@code input_json_delta}, {@code content_block_stop}, {@code message_delta}, {@code message_stop}).
 * Errors come in Anthropic's shape. Images, documents and Anthropic's server tools are refused.
 */
final class AnthropicEndpoints {
    private static final Set<String> FIELDS = Set.of("model", "max_tokens", "messages", "system", "stop_sequences", "stream", "temperature",
            "top_p", "top_k", "metadata", "tools", "tool_choice", "thinking", "service_tier");

    /** Counts the prompt tokens of a chat request for a model served here. */
    @FunctionalInterface
    interface PromptCounter {
        int count(Json chat, Call call);
    }

    private final Upstream upstream;
    private final Upstream.LocalPath chatLocal;
    private final PromptCounter counter;

    AnthropicEndpoints(Upstream upstream, Upstream.LocalPath chatLocal, PromptCounter counter) {
        this.upstream = upstream;
        this.chatLocal = chatLocal;
        this.counter = counter;
    }

    /** POST /v1/messages/count_tokens: the prompt's tokens as the model's template renders the request ({@code {"input_tokens": n}}). */
    void countTokens(byte[] body, ServerResponse res, Call call) {
        try {
            Json j = Json.parseObject(body);
            j.allowOnly(Set.of("model", "messages", "system", "tools", "tool_choice", "thinking"));
            String model = j.requiredString("model");
            ObjectNode request = j.node().deepCopy();
            request.put("max_tokens", 1);
            ObjectNode chat = chatRequest(Json.of(request, ""), model);
            OpenAiEndpoints.send(res, Json.MAPPER.createObjectNode().put("input_tokens", counter.count(Json.of(chat, ""), call)));
        } catch (ApiException e) {
            sendError(res, e);
        }
    }

    void messages(byte[] body, ServerResponse res, Call call) throws IOException {
        AnthropicSink sink = null;
        try {
            Json j = Json.parseObject(body);
            j.allowOnly(FIELDS);
            String model = j.requiredString("model");
            ObjectNode chat = chatRequest(j, model);
            boolean stream = j.bool("stream", false);
            boolean routed = upstream.handles(model);
            if (!stream) {
                Outcome o;
                if (routed) o = upstream.route("/chat/completions", chat, call, null, chatLocal);
                else {
                    Reply.Routed reply = new Reply.Routed(null);
                    chatLocal.serve(Json.of(chat, ""), reply, call);
                    o = reply.outcome(model);
                }
                OpenAiEndpoints.send(res, message(Upstream.whole(model, o, "choices"), model));
                return;
            }
            chat.put("stream", true);
            chat.putObject("stream_options").put("include_usage", true);
            sink = new AnthropicSink(res, call.meter(), model);
            if (routed) {
                Outcome o = upstream.route("/chat/completions", chat, call, sink, chatLocal);
                if (!o.streamed()) throw Upstream.error(model, o);
                if (!o.complete()) sink.error(ApiException.server("the upstream stream broke off: " + o.error()));
            } else chatLocal.serve(Json.of(chat, ""), new Reply.Routed(sink), call);
            if (sink.opened()) sink.end(); // a stream that ended without [DONE] still gets its closing events
            sink.close();
        } catch (ApiException e) {
            if (sink != null && sink.opened()) {
                try {
                    sink.error(e);
                } catch (IOException gone) {
                    // the client left
                }
                sink.close();
                return;
            }
            sendError(res, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiException.unavailable("The server is shutting down.");
        } catch (IOException clientGone) {
            // booked by the sink
        }
    }

    private static void sendError(ServerResponse res, ApiException e) {
        res.status(e.status());
        if (e.retryAfter() != null) res.header("Retry-After", e.retryAfter());
        res.header("Content-Type", "application/json");
        res.send(Json.bytes(error(e)));
    }

    /** Anthropic's error body: {@code {"type": "error", "error": {"type", "message"}}}. */
    static ObjectNode error(ApiException e) {
        String type = switch (e.status()) {
            case 400 -> "invalid_request_error";
            case 401 -> "authentication_error";
            case 403 -> "permission_error";
            case 404 -> "not_found_error";
            case 413 -> "request_too_large";
            case 429 -> "rate_limit_error";
            case 503, 529 -> "overloaded_error";
            default -> "api_error";
        };
        ObjectNode r = Json.MAPPER.createObjectNode().put("type", "error");
        r.putObject("error").put("type", type).put("message", e.getMessage());
        return r;
    }

    /** The request as a chat completion. */
    private static ObjectNode chatRequest(Json j, String model) {
        ObjectNode c = Json.MAPPER.createObjectNode().put("model", model);
        Integer maxTokens = j.integer("max_tokens", 1, Integer.MAX_VALUE);
        if (maxTokens == null) throw ApiException.invalid("max_tokens", "missing_required_parameter", "max_tokens: Field required");
        c.put("max_tokens", maxTokens);
        ArrayNode messages = c.putArray("messages");
        JsonNode system = j.get("system");
        if (system != null) messages.addObject().put("role", "system").put("content", text(system, "system"));
        ArrayNode given = j.array("messages");
        if (given == null || given.isEmpty()) throw ApiException.invalid("messages", "missing_required_parameter", "messages: at least one message is required");
        for (int i = 0; i < given.size(); i++) message(given.get(i), "messages." + i, messages);
        Double temperature = j.number("temperature", 0, 1), topP = j.number("top_p", 0, 1);
        if (temperature != null) c.put("temperature", temperature);
        if (topP != null) c.put("top_p", topP);
        Integer topK = j.integer("top_k", 0, Integer.MAX_VALUE);
        if (topK != null) c.put("top_k", topK);
        List<String> stop = j.stringOrStrings("stop_sequences", SamplingParams.MAX_STOP);
        if (stop != null && !stop.isEmpty()) stop.forEach(c.putArray("stop")::add);
        Json metadata = j.object("metadata");
        if (metadata != null && metadata.string("user_id", null) != null) c.put("user", metadata.string("user_id", null));
        j.string("service_tier", null);
        ArrayNode tools = j.array("tools");
        if (tools != null && !tools.isEmpty()) {
            ArrayNode out = c.putArray("tools");
            for (int i = 0; i < tools.size(); i++) {
                JsonNode t = tools.get(i);
                if (t.hasNonNull("type") && !t.get("type").asText().equals("custom"))
                    throw ApiException.invalid("tools." + i + ".type", "unsupported_value", "tools." + i + ": Anthropic's server tools ('" + t.get("type").asText() + "') are not supported; declare the tool with an input_schema.");
                if (!t.path("name").isTextual()) throw ApiException.invalid("tools." + i + ".name", "missing_required_parameter", "tools." + i + ".name: Field required");
                ObjectNode fn = out.addObject().put("type", "function").putObject("function").put("name", t.get("name").asText());
                if (t.path("description").isTextual()) fn.put("description", t.get("description").asText());
                fn.set("parameters", t.has("input_schema") ? t.get("input_schema") : Json.MAPPER.createObjectNode().put("type", "object"));
            }
        }
        Json choice = j.object("tool_choice");
        if (choice != null) {
            String type = choice.requiredString("type");
            switch (type) {
                case "auto" -> c.put("tool_choice", "auto");
                case "any" -> c.put("tool_choice", "required");
                case "none" -> c.put("tool_choice", "none");
                case "tool" -> c.putObject("tool_choice").put("type", "function").putObject("function").put("name", choice.requiredString("name"));
                default -> throw ApiException.invalid("tool_choice.type", "invalid_value", "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'");
            }
            if (choice.bool("disable_parallel_tool_use", false)) c.put("parallel_tool_calls", false);
        }
        Json thinking = j.object("thinking");
        if (thinking != null && "disabled".equals(thinking.string("type", null)))
            c.putObject("chat_template_kwargs").put("enable_thinking", false); // Qwen3's switch, as llama.cpp's server and vLLM take it
        return c;
    }

    /** One of Anthropic's messages as chat messages: tool results become tool messages, tool uses an assistant's tool calls. */
    private static void message(JsonNode m, String where, ArrayNode out) {
        String role = m.path("role").asText("");
        if (!role.equals("user") && !role.equals("assistant"))
            throw ApiException.invalid(where + ".role", "invalid_value", where + ".role: Input should be 'user' or 'assistant'");
        JsonNode content = m.get("content");
        if (content == null) throw ApiException.invalid(where + ".content", "missing_required_parameter", where + ".content: Field required");
        if (content.isTextual()) {
            out.addObject().put("role", role).put("content", content.textValue());
            return;
        }
        if (!content.isArray()) throw ApiException.invalid(where + ".content", "invalid_type", where + ".content: Input should be a string or a list of content blocks");
        StringBuilder text = new StringBuilder();
        ArrayNode calls = Json.MAPPER.createArrayNode();
        for (int k = 0; k < content.size(); k++) {
            JsonNode b = content.get(k);
            String type = b.path("type").asText("");
            switch (type) {
                case "text" -> text.append(b.path("text").asText(""));
                case "thinking", "redacted_thinking" -> {} // a model's earlier thinking is not shown to it again
                case "tool_use" -> {
                    if (!role.equals("assistant")) throw ApiException.invalid(where + ".content." + k, "invalid_value", where + ": tool_use blocks belong to assistant messages");
                    JsonNode input = b.path("input");
                    calls.addObject().put("id", b.path("id").asText("")).put("type", "function").putObject("function")
                            .put("name", b.path("name").asText("")).put("arguments", input.isMissingNode() ? "{}" : Json.write(input));
                }
                case "tool_result" -> {
                    if (!role.equals("user")) throw ApiException.invalid(where + ".content." + k, "invalid_value", where + ": tool_result blocks belong to user messages");
                    JsonNode c = b.path("content");
                    String result = c.isMissingNode() ? "" : text(c, where + ".content." + k + ".content");
                    if (b.path("is_error").asBoolean(false)) result = "Error: " + result;
                    out.addObject().put("role", "tool").put("tool_call_id", b.path("tool_use_id").asText("")).put("content", result);
                }
                default -> throw ApiException.invalid(where + ".content." + k + ".type", "unsupported_content_type",
                        where + ".content." + k + ": content blocks of type '" + type + "' are not supported (text, tool_use and tool_result are)");
            }
        }
        if (!text.isEmpty() || !calls.isEmpty()) {
            ObjectNode o = out.addObject().put("role", role).put("content", text.toString());
            if (!calls.isEmpty()) o.set("tool_calls", calls);
        }
    }

    /** A string, or text blocks joined. */
    private static String text(JsonNode v, String where) {
        if (v.isTextual()) return v.textValue();
        if (!v.isArray()) throw ApiException.invalid(where, "invalid_type", where + ": Input should be a string or a list of text blocks");
        StringBuilder b = new StringBuilder();
        for (JsonNode block : v) {
            if (!"text".equals(block.path("type").asText()))
                throw ApiException.invalid(where, "unsupported_content_type", where + ": only text blocks are supported here");
            b.append(block.path("text").asText(""));
        }
        return b.toString();
    }

    /** A chat completion as Anthropic's message. */
    private static ObjectNode message(JsonNode completion, String model) {
        JsonNode choice = completion.path("choices").path(0), msg = choice.path("message");
        ObjectNode r = opening(model);
        ArrayNode content = r.putArray("content");
        String reasoning = msg.path("reasoning_content").asText("");
        if (!reasoning.isEmpty()) content.addObject().put("type", "thinking").put("thinking", reasoning).put("signature", "");
        String text = msg.path("content").asText("");
        if (!text.isEmpty()) content.addObject().put("type", "text").put("text", text);
        for (JsonNode call : msg.path("tool_calls")) {
            JsonNode fn = call.path("function");
            content.addObject().put("type", "tool_use").put("id", call.path("id").asText("")).put("name", fn.path("name").asText(""))
                    .set("input", arguments(fn.path("arguments").asText("{}")));
        }
        String stopWord = choice.path("stop_reason").isTextual() ? choice.get("stop_reason").asText() : null;
        r.put("stop_reason", stopReason(choice.path("finish_reason").asText("stop"), stopWord));
        if (stopWord != null) r.put("stop_sequence", stopWord);
        else r.putNull("stop_sequence");
        r.set("usage", usage(completion.path("usage")));
        return r;
    }

    private static JsonNode arguments(String json) {
        try {
            JsonNode v = Json.MAPPER.readTree(json);
            return v != null && v.isObject() ? v : Json.MAPPER.createObjectNode();
        } catch (IOException notJson) {
            return Json.MAPPER.createObjectNode();
        }
    }

    /** The message's opening fields; content, stop and usage follow. */
    private static ObjectNode opening(String model) {
        return Json.MAPPER.createObjectNode().put("id", "msg_" + UUID.randomUUID().toString().replace("-", "").substring(0, 24))
                .put("type", "message").put("role", "assistant").put("model", model);
    }

    /** Anthropic's stop reason for a chat finish reason and the stop string that ended the reply (or null). */
    private static String stopReason(String finish, String stopWord) {
        return switch (finish) {
            case "length" -> "max_tokens";
            case "tool_calls" -> "tool_use";
            default -> stopWord != null ? "stop_sequence" : "end_turn";
        };
    }

    /** Anthropic's usage: input tokens not read from the cache, and those read from it, apart. */
    private static ObjectNode usage(JsonNode u) {
        int prompt = u.path("prompt_tokens").asInt(0), cached = u.path("prompt_tokens_details").path("cached_tokens").asInt(0);
        return Json.MAPPER.createObjectNode().put("input_tokens", prompt - cached).put("output_tokens", u.path("completion_tokens").asInt(0))
                .put("cache_creation_input_tokens", 0).put("cache_read_input_tokens", cached);
    }

    /** Turns a chat completion's chunks into Anthropic's events as they come. */
    private static final class AnthropicSink extends ClientStream implements ResponseSink {
        private final String model;
        private final SseData lines = new SseData();
        private boolean started, ended;
        private int index = -1;       // the open content block, -1 for none
        private String blockType;     // "text", "thinking" or "tool_use"
        private final List<Integer> toolBlocks = new ArrayList<>(); // content block of each tool call index
        private String finish, stopWord;
        private JsonNode usage = Json.MAPPER.createObjectNode();

        AnthropicSink(ServerResponse res, Metering meter, String model) {
            super(res, meter);
            this.model = model;
        }

        @Override
        public void start(int status, String contentType) {
            if (!opened()) open(200, "text/event-stream; charset=utf-8", "Cache-Control", "no-cache", "X-Accel-Buffering", "no");
        }

        @Override
        public void chunk(byte[] data) throws IOException {
            for (String payload : lines.feed(data)) {
                if (payload.isEmpty()) continue;
                if (payload.equals("[DONE]")) {
                    end();
                    continue;
                }
                JsonNode e;
                try {
                    e = Json.MAPPER.readTree(payload);
                } catch (com.fasterxml.jackson.core.JsonProcessingException notJson) {
                    continue;
                }
                if (e.has("error")) {
                    JsonNode err = e.get("error");
                    error(new ApiException(err.path("code").canConvertToInt() ? err.path("code").asInt() : 500, err.path("type").asText("api_error"),
                            err.path("message").asText("error"), null, null));
                    continue;
                }
                begin();
                if (e.hasNonNull("usage")) usage = e.get("usage");
                JsonNode choice = e.path("choices").path(0);
                if (choice.isMissingNode()) continue;
                JsonNode delta = choice.path("delta");
                String thinking = delta.path("reasoning_content").asText("");
                if (!thinking.isEmpty()) {
                    open("thinking", Json.MAPPER.createObjectNode().put("type", "thinking").put("thinking", "").put("signature", ""));
                    event("content_block_delta", Json.MAPPER.createObjectNode().put("type", "content_block_delta").put("index", index)
                            .set("delta", Json.MAPPER.createObjectNode().put("type", "thinking_delta").put("thinking", thinking)));
                }
                String text = delta.path("content").asText("");
                if (!text.isEmpty()) {
                    open("text", Json.MAPPER.createObjectNode().put("type", "text").put("text", ""));
                    event("content_block_delta", Json.MAPPER.createObjectNode().put("type", "content_block_delta").put("index", index)
                            .set("delta", Json.MAPPER.createObjectNode().put("type", "text_delta").put("text", text)));
                }
                for (JsonNode piece : delta.path("tool_calls")) {
                    int i = piece.path("index").asInt(toolBlocks.size());
                    if (i >= toolBlocks.size()) { // a new call: a tool_use block of its own
                        closeBlock();
                        JsonNode fn = piece.path("function");
                        open("tool_use", Json.MAPPER.createObjectNode().put("type", "tool_use").put("id", piece.path("id").asText(""))
                                .put("name", fn.path("name").asText("")).set("input", Json.MAPPER.createObjectNode()));
                        toolBlocks.add(index);
                    }
                    String args = piece.path("function").path("arguments").asText("");
                    if (!args.isEmpty())
                        event("content_block_delta", Json.MAPPER.createObjectNode().put("type", "content_block_delta").put("index", toolBlocks.get(i))
                                .set("delta", Json.MAPPER.createObjectNode().put("type", "input_json_delta").put("partial_json", args)));
                }
                if (choice.hasNonNull("finish_reason")) finish = choice.get("finish_reason").asText();
                if (choice.path("stop_reason").isTextual()) stopWord = choice.get("stop_reason").asText();
            }
        }

        /** message_start, once. */
        private void begin() throws IOException {
            if (started) return;
            started = true;
            start(200, null);
            ObjectNode m = opening(model);
            m.putArray("content");
            m.putNull("stop_reason").putNull("stop_sequence");
            m.putObject("usage").put("input_tokens", 0).put("output_tokens", 0);
            event("message_start", Json.MAPPER.createObjectNode().put("type", "message_start").set("message", m));
        }

        /** Opens a content block of {@code type} unless one is open already. */
        private void open(String type, ObjectNode block) throws IOException {
            if (index >= 0 && type.equals(blockType) && !type.equals("tool_use")) return;
            closeBlock();
            index++;
            blockType = type;
            event("content_block_start", Json.MAPPER.createObjectNode().put("type", "content_block_start").put("index", index).set("content_block", block));
        }

        private void closeBlock() throws IOException {
            if (blockType == null) return;
            event("content_block_stop", Json.MAPPER.createObjectNode().put("type", "content_block_stop").put("index", index));
            blockType = null;
        }

        /** The stream's end (once): the open block closed, message_delta with the stop reason and usage, message_stop. */
        void end() throws IOException {
            if (ended) return;
            begin();
            closeBlock();
            ended = true;
            ObjectNode d = Json.MAPPER.createObjectNode().put("type", "message_delta");
            ObjectNode delta = d.putObject("delta").put("stop_reason", stopReason(finish == null ? "stop" : finish, stopWord));
            if (stopWord != null) delta.put("stop_sequence", stopWord);
            else delta.putNull("stop_sequence");
            d.set("usage", usage(usage));
            event("message_delta", d);
            event("message_stop", Json.MAPPER.createObjectNode().put("type", "message_stop"));
        }

        void error(ApiException e) throws IOException {
            if (ended) return;
            ended = true;
            start(200, null);
            event("error", AnthropicEndpoints.error(e));
        }

        private void event(String name, JsonNode data) throws IOException {
            write(("event: " + name + "\ndata: " + Json.write(data) + "\n\n").getBytes(StandardCharsets.UTF_8));
        }
    }
}
