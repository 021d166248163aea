package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.genset.engine.batch.GenerationRequest;
import dev.genset.engine.batch.JsonConstraint;
import dev.genset.engine.batch.JsonSchema;
import dev.genset.engine.batch.SequenceEvent;
import dev.genset.engine.batch.TokenInfo;
import dev.genset.engine.chat.ChatMessage;
import dev.genset.engine.chat.ChatTools;
import dev.genset.engine.chat.ToolCall;
import dev.genset.engine.generate.FinishReason;
import dev.genset.engine.grammar.Grammar;
import dev.genset.engine.grammar.GrammarConstraint;
import dev.genset.engine.grammar.GrammarException;
import dev.genset.engine.grammar.Regex;
import dev.genset.engine.sampling.TokenConstraint;
import dev.genset.engine.sampling.TokenLogprob;
import dev.genset.engine.tokenizer.Tokenizer;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * POST /v1/chat/completions and POST /v1/completions: each turns a JSON request into engine
 * sequences and their events into OpenAI's response or stream shapes.
 */
final class OpenAiEndpoints {
    static final String FINGERPRINT = "fp_genset";

    /** llama.cpp's server's grammar and JSON schema, vLLM's structured outputs (and the fields vLLM had for them before 0.12). */
    private static final Set<String> STRUCTURED_FIELDS = Set.of("grammar", "json_schema", "structured_outputs", "guided_json", "guided_regex",
            "guided_choice", "guided_grammar", "guided_decoding_backend", "guided_whitespace_pattern");
    private static final Set<String> CHAT_FIELDS = union(SamplingParams.FIELDS, Set.of("model", "keep_alive", "messages", "stream", "stream_options",
            "max_tokens", "max_completion_tokens", "logprobs", "top_logprobs", "response_format", "store", "metadata",
            "service_tier", "parallel_tool_calls", "tools", "tool_choice", "reasoning_format", "chat_template_kwargs"), STRUCTURED_FIELDS);
    private static final Set<String> COMPLETION_FIELDS = union(SamplingParams.FIELDS, Set.of("model", "keep_alive", "prompt", "suffix", "stream",
            "stream_options", "max_tokens", "echo", "logprobs", "best_of"), STRUCTURED_FIELDS);
    private static final Set<String> MESSAGE_FIELDS = Set.of("role", "content", "name", "tool_call_id", "tool_calls", "refusal");
    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");

    private final ModelRegistry models;
    private final ServerMetrics metrics;
    private final Duration timeout;
    private final Upstream upstream;

    OpenAiEndpoints(ModelRegistry models, ServerMetrics metrics, Duration timeout, Upstream upstream) {
        this.upstream = upstream;
        this.models = models;
        this.metrics = metrics;
        this.timeout = timeout;
    }

    /** The local chat path, for a routed request reaching a local deployment from another API's route. */
    Upstream.LocalPath chatPath() {
        return this::chat;
    }

    /** The local completions path (as {@link #chatPath}). */
    Upstream.LocalPath completionsPath() {
        return this::completions;
    }

    // ---- chat ----------------------------------------------------------------------------------

    void chat(byte[] body, ServerResponse res, Call call) throws IOException, InterruptedException {
        Json j = Json.parseObject(body);
        if (upstream.handles(j.node().path("model").asText(null))) {
            upstream.forward("/chat/completions", j, res, call, this::chat);
            return;
        }
        chat(j, new Reply.Direct(res), call);
    }

    /** The tokens of the prompt a chat request renders to (its messages and tools through the model's template), for a model served here. */
    int chatPromptTokens(Json j, Call call) {
        ServedModel model = call.model(j.string("model", null), null);
        Tokenizer tok = model.tokenizer();
        String text = chatPromptText(j, model);
        boolean hasBos = tok.bos() >= 0 && text.startsWith(tok.tokenText(tok.bos()));
        return tok.encode(text, !hasBos, true).length;
    }

    /** The prompt text a chat request's messages and tools render to through the model's template (llama.cpp's /apply-template). */
    static String chatPromptText(Json j, ServedModel model) {
        ToolCalls.Spec tools = tools(j);
        try {
            return ChatTools.apply(model.template(), messages(j), tools.forTemplate(), templateKwargs(j)).text();
        } catch (RuntimeException e) {
            throw ApiException.invalid("messages", "invalid_messages", "The model's chat template rejected the messages: " + e.getMessage());
        }
    }

    /** A chat completion by a model served here, answered into {@code target}. */
    private void chat(Json j, Reply target, Call call) throws IOException, InterruptedException {
        j.allowOnly(CHAT_FIELDS);
        ServedModel model = call.model(j.string("model", null), Call.keepAlive(j.get("keep_alive")));
        List<ChatMessage> messages = messages(j);
        boolean stream = j.bool("stream", false);
        boolean includeUsage = streamOptions(j, stream);
        Integer maxTokens = j.integer("max_completion_tokens", 1, Integer.MAX_VALUE);
        if (maxTokens == null) maxTokens = j.integer("max_tokens", 1, Integer.MAX_VALUE);
        boolean logprobs = j.bool("logprobs", false);
        Integer topLogprobs = j.integer("top_logprobs", 0, 20);
        if (topLogprobs != null && !logprobs)
            throw ApiException.invalid("top_logprobs", "invalid_value", "'top_logprobs' requires 'logprobs' to be true.");
        Supplier<TokenConstraint> constraint = responseFormat(j, model);
        String reasoningFormat = j.string("reasoning_format", "auto");
        if (!Set.of("auto", "deepseek", "none").contains(reasoningFormat))
            throw ApiException.invalid("reasoning_format", "invalid_value", "Invalid value: '" + reasoningFormat + "'. Supported values are: 'auto', 'deepseek' and 'none'.");
        ToolCalls.Spec tools = tools(j);
        Structured structured = structured(j, model);
        if (structured != null) {
            if (constraint != null) throw ApiException.invalid(structured.param, "Either 'response_format' or '" + structured.param + "' can be given, not both.");
            if (tools.active()) throw ApiException.invalid(structured.param, "'" + structured.param + "' cannot be combined with 'tools'.");
            constraint = structured.constraint;
        }
        SamplingParams sp = SamplingParams.parse(j);

        var template = model.template();
        ChatTools.Prompt rendered;
        try {
            rendered = ChatTools.apply(template, messages, tools.forTemplate(), templateKwargs(j));
        } catch (RuntimeException e) {
            throw ApiException.invalid("messages", "invalid_messages", "The model's chat template rejected the messages: " + e.getMessage());
        }
        String text = rendered.text();
        // a reasoning model's thinking goes to reasoning_content, as llama.cpp's server and vLLM return it; not when the
        // reply is constrained from its first token (a JSON format, a forced call), which leaves no room for thinking
        boolean constrainedFromStart = constraint != null || tools.active() && tools.forced();
        Boolean startsInside = !reasoningFormat.equals("none") && model.reasons() && !constrainedFromStart ? ReasoningSplit.opens(text) : null;
        if (tools.active() && tools.forced())
            constraint = JsonConstraint.factory(model.tokenizer(), tools.callSchema(rendered.argumentsKey()), rendered.callPrefix());
        else if (tools.active() && constraint == null) { // a call the model opens must be a valid one
            JsonSchema callSchema = tools.callSchema(rendered.argumentsKey());
            constraint = rendered.callPrefix().isEmpty()
                    ? JsonConstraint.lazyFactory(model.tokenizer(), callSchema, "{\"name\"", true) // Llama 3 and generic: a reply that opens as a call
                    : JsonConstraint.lazyFactory(model.tokenizer(), callSchema, rendered.callPrefix());
        }
        Tokenizer tok = model.tokenizer();
        boolean hasBos = tok.bos() >= 0 && text.startsWith(tok.tokenText(tok.bos()));
        int[] prompt = tok.encode(text, !hasBos, true);
        if (prompt.length == 0) throw ApiException.invalid("messages", "The prompt is empty.");

        List<String> stops = new ArrayList<>(sp.stopOrEmpty());
        stops.addAll(model.templateStops());
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < sp.n(); i++) {
            reqs.add(new GenerationRequest(prompt, maxTokens == null ? -1 : maxTokens, sp.toConfig(i), stops, sp.ignoreEos(),
                    logprobs ? (topLogprobs == null ? 0 : topLogprobs) : -1, false, sp.logitBias(), constraint, timeout,
                    call.meter().cacheScope(sp.cacheSalt())));
        }
        int ctx = model.scheduler().contextSize();
        call.meter().admit(model.id, prompt.length, (long) sp.n() * (maxTokens != null ? maxTokens : Math.max(1, ctx - prompt.length)));
        Job job = Job.submit(model.scheduler(), reqs, call.start(), metrics, model.id);
        call.meter().job(job, sp.n());
        String id = "chatcmpl-" + randomId();
        long created = System.currentTimeMillis() / 1000;
        if (stream) streamChat(job, target.stream(), call.meter(), id, created, model.id, includeUsage, logprobs, tok, tools, startsInside);
        else {
            call.watchClient(job);
            Outcome[] out = collect(job, sp.n());
            ObjectNode r = envelope(id, "chat.completion", created, model.id);
            ArrayNode choices = r.putArray("choices");
            for (int i = 0; i < out.length; i++) {
                ObjectNode c = choices.addObject();
                c.put("index", i);
                ObjectNode msg = c.putObject("message");
                String content = out[i].text.toString(), reasoning = "";
                if (startsInside != null) {
                    ReasoningSplit.Piece split = ReasoningSplit.of(content, startsInside);
                    reasoning = split.reasoning();
                    content = split.content();
                }
                ToolCalls.Reply reply = tools.active() ? ToolCalls.reply(content, tools) : ToolCalls.Reply.plain(content);
                msg.put("role", "assistant").put("content", reply.content()).putNull("refusal");
                if (!reasoning.isEmpty()) msg.put("reasoning_content", reasoning);
                if (!reply.calls().isEmpty()) msg.set("tool_calls", ToolCalls.json(reply.calls()));
                if (logprobs) chatLogprobs(c.putObject("logprobs"), out[i].logprobs, tok);
                else c.putNull("logprobs");
                c.put("finish_reason", reply.calls().isEmpty() ? out[i].done.reason().apiName() : "tool_calls");
                // vLLM's extension: the stop string that ended the choice (only when one did)
                if (out[i].done.stopWord() != null) c.put("stop_reason", out[i].done.stopWord());
            }
            r.set("usage", usage(out, 1));
            target.send(r);
        }
    }

    private static List<ChatMessage> messages(Json j) {
        ArrayNode arr = j.array("messages");
        if (arr == null) throw ApiException.invalid("messages", "missing_required_parameter", "Missing required parameter: 'messages'.");
        if (arr.isEmpty()) throw ApiException.invalid("messages", "empty_array", "Invalid 'messages': empty array. Expected an array with at least 1 item.");
        List<ChatMessage> out = new ArrayList<>();
        Set<String> callIds = new HashSet<>();
        boolean anyCalls = false;
        for (int i = 0; i < arr.size(); i++) {
            String path = "messages[" + i + "]";
            Json m = Json.element(arr.get(i), path, MESSAGE_FIELDS);
            String role = m.requiredString("role");
            if (!ROLES.contains(role)) throw ApiException.invalid(path + ".role", "invalid_value",
                    "Invalid value: '" + role + "'. Supported values are: 'system', 'developer', 'user', 'assistant' and 'tool'.");
            List<ToolCall> calls = List.of();
            if (m.has("tool_calls")) {
                if (!role.equals("assistant")) throw ApiException.invalid(path + ".tool_calls", "invalid_value",
                        "Invalid parameter: only messages with role 'assistant' can have 'tool_calls'.");
                calls = toolCalls(m.array("tool_calls"), path + ".tool_calls");
                for (ToolCall c : calls) callIds.add(c.id());
                anyCalls |= !calls.isEmpty();
            }
            String name = m.string("name", null);
            String toolCallId = m.string("tool_call_id", null);
            if (role.equals("tool")) {
                if (toolCallId == null) throw ApiException.invalid(path + ".tool_call_id", "missing_required_parameter", "Missing required parameter: '" + path + ".tool_call_id'.");
                if (!anyCalls) throw ApiException.invalid(path + ".role", "invalid_value",
                        "Invalid parameter: messages with role 'tool' must be a response to a preceding message with 'tool_calls'.");
                if (!callIds.contains(toolCallId)) throw ApiException.invalid(path + ".tool_call_id", "invalid_value",
                        "Invalid parameter: '" + path + ".tool_call_id' is '" + toolCallId + "', which is not the id of a preceding tool call.");
            } else if (toolCallId != null) {
                throw ApiException.invalid(path + ".tool_call_id", "invalid_value", "Invalid parameter: only messages with role 'tool' can have a 'tool_call_id'.");
            }
            m.string("refusal", null);
            JsonNode content = m.get("content");
            String text;
            if (content == null) {
                if (!role.equals("assistant")) throw ApiException.invalid(path + ".content", "missing_required_parameter", "Missing required parameter: '" + path + ".content'.");
                text = "";
            } else if (content.isTextual()) {
                text = content.textValue();
            } else if (content.isArray()) {
                StringBuilder sb = new StringBuilder();
                for (int k = 0; k < content.size(); k++) {
                    String pp = path + ".content[" + k + "]";
                    JsonNode part = content.get(k);
                    if (!part.isObject()) throw ApiException.invalid(pp, "invalid_type", "Invalid type for '" + pp + "': expected an object, but got " + Json.describe(part) + " instead.");
                    Json pj = Json.of((ObjectNode) part, pp);
                    String type = pj.requiredString("type");
                    if (!type.equals("text")) throw ApiException.invalid(pp + ".type", "unsupported_content_type",
                            "Content parts of type '" + type + "' are not supported; only 'text' is.");
                    pj.allowOnly(Set.of("type", "text"));
                    if (!sb.isEmpty()) sb.append('\n');
                    sb.append(pj.requiredString("text"));
                }
                text = sb.toString();
            } else {
                throw m.wrongType("content", "a string or an array of content parts", content);
            }
            out.add(new ChatMessage(role.equals("developer") ? "system" : role, text, calls, toolCallId, role.equals("tool") ? name : null));
        }
        return out;
    }

    /** An assistant message's {@code tool_calls}: {@code [{id, type: "function", function: {name, arguments}}]}. */
    private static List<ToolCall> toolCalls(ArrayNode arr, String path) {
        List<ToolCall> out = new ArrayList<>();
        for (int k = 0; k < arr.size(); k++) {
            String p = path + "[" + k + "]";
            Json c = Json.element(arr.get(k), p, Set.of("id", "type", "function", "index"));
            String id = c.requiredString("id");
            String type = c.string("type", "function");
            if (!type.equals("function")) throw ApiException.invalid(p + ".type", "invalid_value", "Invalid value: '" + type + "'. Supported values are: 'function'.");
            Json fn = c.object("function");
            if (fn == null) throw ApiException.invalid(p + ".function", "missing_required_parameter", "Missing required parameter: '" + p + ".function'.");
            fn.allowOnly(Set.of("name", "arguments"));
            String name = fn.requiredString("name");
            JsonNode args = fn.get("arguments");
            String arguments;
            if (args == null) arguments = "{}";
            else if (args.isTextual()) arguments = args.textValue();
            else if (args.isObject()) arguments = Json.write(args); // some clients send the object itself
            else throw fn.wrongType("arguments", "a string", args);
            out.add(new ToolCall(id, name, arguments));
        }
        return out;
    }

    /** A request's {@code chat_template_kwargs} (llama.cpp's and vLLM's): extra variables for the model's chat template. */
    static Map<String, Object> templateKwargs(Json j) {
        Json kwargs = j.object("chat_template_kwargs");
        if (kwargs == null) return Map.of();
        @SuppressWarnings("unchecked")
        Map<String, Object> vars = Json.MAPPER.convertValue(kwargs.node(), Map.class);
        for (String reserved : new String[] {"messages", "tools", "add_generation_prompt", "bos_token", "eos_token"})
            if (vars.containsKey(reserved)) throw ApiException.invalid("chat_template_kwargs." + reserved, "invalid_value",
                    "'" + reserved + "' is set by the server, not by chat_template_kwargs.");
        return vars;
    }

    private static boolean streamOptions(Json j, boolean stream) {
        Json so = j.object("stream_options");
        if (so == null) return false;
        if (!stream) throw ApiException.invalid("stream_options", "invalid_value", "The 'stream_options' parameter is only allowed when 'stream' is enabled.");
        so.allowOnly(Set.of("include_usage", "include_obfuscation"));
        so.bool("include_obfuscation", false);
        return so.bool("include_usage", false);
    }

    private static ToolCalls.Spec tools(Json j) {
        ToolCalls.Spec spec = ToolCalls.parse(j);
        j.bool("store", false);
        j.object("metadata");
        j.string("service_tier", null);
        return spec;
    }

    /** A constraint asked for by a field beside OpenAI's, and the field's name (for errors). */
    record Structured(String param, Supplier<TokenConstraint> constraint) {}

    /**
     * llama.cpp's server's {@code grammar} (GBNF) or {@code json_schema}, or vLLM's {@code structured_outputs} with one of
     * {@code choice}, {@code regex}, {@code json}, {@code grammar} or {@code json_object}, or the same
     * as vLLM took them before 0.12 ({@code guided_choice}, {@code guided_regex}, {@code guided_json},
     * {@code guided_grammar}; {@code guided_decoding_backend} names a backend and changes nothing here).
     * At most one; null if none (an empty grammar is none, as in llama.cpp).
     */
    static Structured structured(Json j, ServedModel model) {
        if (j.has("guided_whitespace_pattern"))
            throw ApiException.invalid("guided_whitespace_pattern", "unsupported_parameter", "'guided_whitespace_pattern' is not supported.");
        j.string("guided_decoding_backend", null);
        List<String> given = new ArrayList<>();
        for (String f : List.of("grammar", "json_schema", "structured_outputs", "guided_json", "guided_regex", "guided_choice", "guided_grammar"))
            if (j.has(f)) given.add(f);
        if (given.size() > 1) throw ApiException.invalid(given.get(1), "Only one of " + String.join(", ", given) + " can be given.");
        if (given.isEmpty()) return null;
        String field = given.getFirst();
        Tokenizer tok = model.tokenizer();
        if (field.equals("structured_outputs")) {
            Json so = j.object(field);
            so.allowOnly(Set.of("json", "regex", "choice", "grammar", "json_object"));
            List<String> keys = new ArrayList<>();
            for (String k : List.of("json", "regex", "choice", "grammar", "json_object")) if (so.has(k)) keys.add(k);
            if (keys.size() != 1)
                throw ApiException.invalid(field, "'structured_outputs' needs exactly one of json, regex, choice, grammar and json_object.");
            String key = keys.getFirst();
            if (key.equals("json_object")) {
                if (!so.bool(key, false)) return null;
                return new Structured(so.name(key), JsonConstraint.factory(tok));
            }
            return new Structured(so.name(key), constraint(so, key, key, tok));
        }
        String kind = field.equals("grammar") ? "grammar" : field.equals("json_schema") ? "json" : field.substring("guided_".length());
        if (field.equals("grammar") && j.string(field, "").isBlank()) return null;
        return new Structured(field, constraint(j, field, kind, tok));
    }

    /** The constraint of one structured-output field: kind json, regex, choice or grammar. */
    private static Supplier<TokenConstraint> constraint(Json j, String field, String kind, Tokenizer tok) {
        String param = j.name(field);
        try {
            return switch (kind) {
                case "json" -> {
                    JsonNode v = j.get(field);
                    JsonNode schema = v.isTextual() ? Json.MAPPER.readTree(v.textValue()) : v;
                    if (schema == null || !schema.isObject()) throw j.wrongType(field, "a JSON schema (an object, or a string holding one)", v);
                    yield JsonConstraint.factory(tok, JsonSchema.compile(schema));
                }
                case "regex" -> GrammarConstraint.factory(tok, Regex.grammar(j.requiredString(field)));
                case "choice" -> {
                    List<String> choices = j.stringOrStrings(field, 10_000);
                    if (choices.isEmpty() || !j.get(field).isArray())
                        throw ApiException.invalid(param, "invalid_value", "'" + param + "' must be a non-empty array of strings.");
                    StringBuilder g = new StringBuilder("root ::= ");
                    for (int i = 0; i < choices.size(); i++) g.append(i == 0 ? "" : " | ").append(Regex.quote(choices.get(i)));
                    yield GrammarConstraint.factory(tok, Grammar.parse(g.append('\n').toString()));
                }
                default -> GrammarConstraint.factory(tok, Grammar.parse(j.requiredString(field)));
            };
        } catch (GrammarException e) {
            throw ApiException.invalid(param, "invalid_grammar", "Invalid " + (kind.equals("regex") ? "regular expression" : "grammar") + ": " + e.getMessage() + ".");
        } catch (IllegalArgumentException e) { // a schema JsonSchema cannot compile
            throw ApiException.invalid(param, "invalid_json_schema", "Invalid JSON schema: " + e.getMessage());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw ApiException.invalid(param, "invalid_json_schema", "'" + param + "' is not valid JSON: " + e.getOriginalMessage());
        }
    }

    private static Supplier<TokenConstraint> responseFormat(Json j, ServedModel model) {
        Json rf = j.object("response_format");
        if (rf == null) return null;
        String type = rf.requiredString("type");
        return switch (type) {
            case "text" -> {
                rf.allowOnly(Set.of("type"));
                yield null;
            }
            case "json_object" -> {
                rf.allowOnly(Set.of("type"));
                yield JsonConstraint.factory(model.tokenizer());
            }
            case "json_schema" -> {
                rf.allowOnly(Set.of("type", "json_schema"));
                Json js = rf.object("json_schema");
                if (js == null) throw ApiException.invalid("response_format.json_schema", "missing_required_parameter", "Missing required parameter: 'response_format.json_schema'.");
                js.allowOnly(Set.of("name", "description", "schema", "strict"));
                js.requiredString("name");
                js.string("description", null);
                js.bool("strict", false);
                Json schema = js.object("schema");
                if (schema == null) yield JsonConstraint.factory(model.tokenizer());
                JsonSchema compiled;
                try {
                    compiled = JsonSchema.compile(schema.node());
                } catch (IllegalArgumentException e) {
                    throw ApiException.invalid("response_format.json_schema.schema", "invalid_json_schema", "Invalid JSON schema: " + e.getMessage());
                }
                yield JsonConstraint.factory(model.tokenizer(), compiled);
            }
            default -> throw ApiException.invalid("response_format.type", "invalid_value",
                    "Invalid value: '" + type + "'. Supported values are: 'text', 'json_object' and 'json_schema'.");
        };
    }

    /** @param startsInside null: replies are not split into reasoning and answer; else whether the prompt opened the reasoning */
    private void streamChat(Job job, Sse stream, Metering meter, String id, long created, String model, boolean includeUsage, boolean logprobs, Tokenizer tok,
                            ToolCalls.Spec tools, Boolean startsInside) throws InterruptedException {
        Outcome[] out = new Outcome[job.choices()];
        for (int i = 0; i < out.length; i++) out[i] = new Outcome();
        ReasoningSplit[] splits = new ReasoningSplit[out.length];
        List<List<TokenInfo>> splitHeld = new ArrayList<>();
        for (int i = 0; i < out.length; i++) {
            if (startsInside != null) splits[i] = new ReasoningSplit(startsInside);
            splitHeld.add(new ArrayList<>());
        }
        ToolCalls.Stream[] calls = new ToolCalls.Stream[out.length];
        List<List<TokenInfo>> heldLogprobs = new ArrayList<>();
        for (int i = 0; i < out.length; i++) {
            if (tools.active()) calls[i] = new ToolCalls.Stream(tools);
            heldLogprobs.add(new ArrayList<>());
        }
        try (Sse sse = stream) {
            try {
                sse.open();
                for (int i = 0; i < out.length; i++) {
                    ObjectNode delta = Json.MAPPER.createObjectNode().put("role", "assistant").put("content", "");
                    sse.data(chatChunk(id, created, model, i, delta, null, null, includeUsage));
                }
                while (!job.done()) {
                    Job.Tagged t = job.next(Duration.ofSeconds(1));
                    if (t == null) continue;
                    int c = t.choice();
                    switch (t.event()) {
                        case SequenceEvent.Text x -> {
                            out[c].add(x);
                            String text = x.text();
                            List<TokenInfo> infos = x.logprobs();
                            if (splits[c] != null) {
                                ReasoningSplit.Piece p = splits[c].push(text);
                                text = p.content();
                                if (!splitHeld.get(c).isEmpty()) {  // logprobs of text the split held back come with what it turned into
                                    splitHeld.get(c).addAll(infos);
                                    infos = List.copyOf(splitHeld.get(c));
                                    splitHeld.get(c).clear();
                                }
                                if (!p.reasoning().isEmpty()) {  // the tokens' logprobs go with the reasoning unless answer text came too
                                    ObjectNode lp = null;
                                    if (logprobs && text.isEmpty()) chatLogprobs(lp = Json.MAPPER.createObjectNode(), infos, tok);
                                    sse.data(chatChunk(id, created, model, c, Json.MAPPER.createObjectNode().put("reasoning_content", p.reasoning()), lp, null, includeUsage));
                                    if (text.isEmpty()) continue;
                                } else if (text.isEmpty()) {
                                    splitHeld.get(c).addAll(infos);
                                    continue;
                                }
                            }
                            List<ToolCalls.Delta> pieces = List.of();
                            if (calls[c] != null) { // held text waits, its logprobs with it
                                heldLogprobs.get(c).addAll(infos);
                                text = calls[c].push(text);
                                pieces = calls[c].deltas();
                                if (text.isEmpty() && pieces.isEmpty()) continue;
                                infos = List.copyOf(heldLogprobs.get(c));
                                heldLogprobs.get(c).clear();
                            }
                            if (text.isEmpty() && infos.isEmpty() && pieces.isEmpty()) continue;
                            ObjectNode lp = null;
                            if (logprobs) chatLogprobs(lp = Json.MAPPER.createObjectNode(), infos, tok);
                            if (!text.isEmpty() || pieces.isEmpty()) {
                                sse.data(chatChunk(id, created, model, c, Json.MAPPER.createObjectNode().put("content", text), lp, null, includeUsage));
                                lp = null;
                            }
                            for (ToolCalls.Delta piece : pieces) {
                                sse.data(chatChunk(id, created, model, c, toolCallDelta(piece), lp, null, includeUsage));
                                lp = null;
                            }
                        }
                        case SequenceEvent.Done d -> {
                            out[c].done = d;
                            ApiException err = endError(d);
                            if (err != null) {
                                job.cancelAndDrain();
                                sse.data(err.toJson());
                                return;
                            }
                            String finish = d.reason().apiName();
                            if (splits[c] != null) {  // what the split still held: an unfinished reasoning, or a few chars of answer
                                ReasoningSplit.Piece p = splits[c].flush();
                                ObjectNode flp = null;
                                if (logprobs && !splitHeld.get(c).isEmpty()) chatLogprobs(flp = Json.MAPPER.createObjectNode(), splitHeld.get(c), tok);
                                splitHeld.get(c).clear();
                                if (!p.reasoning().isEmpty()) {
                                    sse.data(chatChunk(id, created, model, c, Json.MAPPER.createObjectNode().put("reasoning_content", p.reasoning()), flp, null, includeUsage));
                                    flp = null;
                                }
                                if (!p.content().isEmpty() || flp != null)
                                    sse.data(chatChunk(id, created, model, c, Json.MAPPER.createObjectNode().put("content", p.content()), flp, null, includeUsage));
                            }
                            ObjectNode lp = null;
                            if (calls[c] != null) {
                                if (logprobs && !heldLogprobs.get(c).isEmpty()) chatLogprobs(lp = Json.MAPPER.createObjectNode(), heldLogprobs.get(c), tok);
                                ToolCalls.Reply reply = ToolCalls.reply(calls[c].text(), tools);
                                if (reply.calls().isEmpty() && calls[c].streamedCalls() == 0) {
                                    String rest = calls[c].content(reply);
                                    if (!rest.isEmpty() || lp != null)
                                        sse.data(chatChunk(id, created, model, c, Json.MAPPER.createObjectNode().put("content", rest), lp, null, includeUsage));
                                    lp = null;
                                } else {
                                    for (ToolCalls.Delta piece : calls[c].rest(reply)) {
                                        sse.data(chatChunk(id, created, model, c, toolCallDelta(piece), lp, null, includeUsage));
                                        lp = null;
                                    }
                                    // a call streamed whole stays one even if the text after it spoils the reply's parse
                                    if (!reply.calls().isEmpty() || calls[c].streamedWhole()) finish = "tool_calls";
                                }
                            }
                            ObjectNode last = chatChunk(id, created, model, c, Json.MAPPER.createObjectNode(), lp, finish, includeUsage);
                            if (d.stopWord() != null) ((ObjectNode) last.get("choices").get(0)).put("stop_reason", d.stopWord());
                            sse.data(last);
                        }
                        case SequenceEvent.Failed f -> {
                            job.cancelAndDrain();
                            sse.data(Job.map(f.error()).toJson());
                            return;
                        }
                        case SequenceEvent.PromptDone p -> {}
                    }
                }
                if (includeUsage) {
                    ObjectNode u = envelope(id, "chat.completion.chunk", created, model);
                    u.putArray("choices");
                    u.set("usage", usage(out, 1));
                    sse.data(u);
                }
                sse.done();
            } catch (IOException e) {
                meter.clientGone();
                job.cancelAndDrain(); // the client went away: free its slots
            }
        }
    }

    /** A piece of a streamed call as OpenAI sends it: first its index, id, type and name with empty arguments, then arguments fragments. */
    private static ObjectNode toolCallDelta(ToolCalls.Delta piece) {
        ObjectNode delta = Json.MAPPER.createObjectNode();
        ObjectNode call = delta.putArray("tool_calls").addObject().put("index", piece.index());
        if (piece.id() != null) call.put("id", piece.id()).put("type", "function");
        ObjectNode fn = call.putObject("function");
        if (piece.name() != null) fn.put("name", piece.name());
        fn.put("arguments", piece.arguments());
        return delta;
    }

    private static ObjectNode chatChunk(String id, long created, String model, int index, ObjectNode delta, ObjectNode logprobs,
                                        String finish, boolean includeUsage) {
        ObjectNode r = envelope(id, "chat.completion.chunk", created, model);
        ObjectNode c = r.putArray("choices").addObject();
        c.put("index", index);
        c.set("delta", delta);
        endChoice(c, logprobs, finish);
        if (includeUsage) r.putNull("usage");
        return r;
    }

    /** The fields every response and chunk starts with, in OpenAI's order. */
    private static ObjectNode envelope(String id, String object, long created, String model) {
        ObjectNode r = Json.MAPPER.createObjectNode();
        r.put("id", id).put("object", object).put("created", created).put("model", model).put("system_fingerprint", FINGERPRINT);
        return r;
    }

    /** A chunk's choice ends with its logprobs and finish reason, both explicit nulls until there is one. */
    private static void endChoice(ObjectNode c, ObjectNode logprobs, String finish) {
        if (logprobs == null) c.putNull("logprobs");
        else c.set("logprobs", logprobs);
        if (finish == null) c.putNull("finish_reason");
        else c.put("finish_reason", finish);
    }

    private static void chatLogprobs(ObjectNode target, List<TokenInfo> tokens, Tokenizer tok) {
        ArrayNode content = target.putArray("content");
        for (TokenInfo t : tokens) {
            ObjectNode o = content.addObject();
            tokenFields(o, t.bytes(), t.logprob());
            ArrayNode top = o.putArray("top_logprobs");
            for (TokenLogprob alt : t.top()) tokenFields(top.addObject(), tok.tokenBytes(alt.token()), alt.logprob());
        }
        target.putNull("refusal");
    }

    private static void tokenFields(ObjectNode o, byte[] bytes, float logprob) {
        o.put("token", new String(bytes, StandardCharsets.UTF_8));
        o.put("logprob", logprob);
        ArrayNode b = o.putArray("bytes");
        for (byte x : bytes) b.add(x & 0xFF);
    }

    // ---- text completions ----------------------------------------------------------------------

    void completions(byte[] body, ServerResponse res, Call call) throws IOException, InterruptedException {
        Json j = Json.parseObject(body);
        if (upstream.handles(j.node().path("model").asText(null))) {
            upstream.forward("/completions", j, res, call, this::completions);
            return;
        }
        completions(j, new Reply.Direct(res), call);
    }

    /** A text completion by a model served here, answered into {@code target}. */
    private void completions(Json j, Reply target, Call call) throws IOException, InterruptedException {
        j.allowOnly(COMPLETION_FIELDS);
        ServedModel model = call.model(j.string("model", null), Call.keepAlive(j.get("keep_alive")));
        Tokenizer tok = model.tokenizer();
        List<Prompt> prompts = prompts(j, tok);
        String suffix = j.string("suffix", null);
        boolean stream = j.bool("stream", false);
        boolean includeUsage = streamOptions(j, stream);
        Integer maxTokensField = j.integer("max_tokens", 0, Integer.MAX_VALUE);
        int maxTokens = maxTokensField == null ? 16 : maxTokensField;
        boolean echo = j.bool("echo", false);
        Integer logprobs = j.integer("logprobs", 0, 20);
        Structured structured = structured(j, model);
        SamplingParams sp = SamplingParams.parse(j);
        Integer bestOf = j.integer("best_of", 1, SamplingParams.MAX_N);
        if (bestOf != null && bestOf != sp.n())
            throw ApiException.invalid("best_of", "unsupported_value", "Only 'best_of' equal to 'n' is supported.");
        if (suffix != null && !suffix.isEmpty()) {
            int[] fim = model.fim();
            if (fim == null) throw ApiException.invalid("suffix", "unsupported_parameter", "This model has no fill-in-the-middle tokens, so 'suffix' is not supported.");
            if (prompts.size() != 1 || prompts.get(0).text == null)
                throw ApiException.invalid("suffix", "unsupported_parameter", "'suffix' needs a single string prompt.");
            Prompt p = prompts.get(0);
            int[] pre = tok.encode(p.text, false, false), suf = tok.encode(suffix, false, false);
            boolean bos = tok.addBos() && tok.bos() >= 0;
            int[] t = new int[(bos ? 1 : 0) + 3 + pre.length + suf.length];
            int k = 0;
            if (bos) t[k++] = tok.bos();
            t[k++] = fim[0];
            for (int x : pre) t[k++] = x;
            t[k++] = fim[1];
            for (int x : suf) t[k++] = x;
            t[k] = fim[2];
            prompts = List.of(new Prompt(p.text, t));
        }

        List<GenerationRequest> reqs = new ArrayList<>();
        for (Prompt p : prompts) {
            for (int i = 0; i < sp.n(); i++) {
                reqs.add(new GenerationRequest(p.tokens, maxTokens, sp.toConfig(i), sp.stopOrEmpty(), sp.ignoreEos(),
                        logprobs == null ? -1 : logprobs, echo && logprobs != null, sp.logitBias(), structured == null ? null : structured.constraint, timeout,
                        call.meter().cacheScope(sp.cacheSalt())));
            }
        }
        long promptTokens = 0;
        for (Prompt p : prompts) promptTokens += p.tokens.length;
        call.meter().admit(model.id, promptTokens, (long) prompts.size() * sp.n() * maxTokens);
        Job job = Job.submit(model.scheduler(), reqs, call.start(), metrics, model.id);
        call.meter().job(job, sp.n());
        String id = "cmpl-" + randomId();
        long created = System.currentTimeMillis() / 1000;
        if (stream) {
            streamCompletions(job, target.stream(), call.meter(), id, created, model.id, includeUsage, echo, logprobs, prompts, sp.n(), tok);
            return;
        }
        call.watchClient(job);
        Outcome[] out = collect(job, reqs.size());
        ObjectNode r = envelope(id, "text_completion", created, model.id);
        ArrayNode choices = r.putArray("choices");
        for (int i = 0; i < out.length; i++) {
            Prompt p = prompts.get(i / sp.n());
            String echoed = echo ? p.echoText(tok) : "";
            ObjectNode c = choices.addObject();
            c.put("text", echoed + out[i].text);
            c.put("index", i);
            if (logprobs != null) {
                CompletionLogprobs lp = new CompletionLogprobs(tok, 0);
                if (echo) lp.addPrompt(out[i].prompt, echoed);
                lp.add(out[i].logprobs);
                c.set("logprobs", lp.json);
            } else c.putNull("logprobs");
            c.put("finish_reason", out[i].done.reason().apiName());
        }
        r.set("usage", usage(out, sp.n()));
        target.send(r);
    }

    /** A prompt: its text if it was given as text, and its tokens. */
    record Prompt(String text, int[] tokens) {
        String echoText(Tokenizer tok) {
            return text != null ? text : tok.decode(tokens);
        }
    }

    private static List<Prompt> prompts(Json j, Tokenizer tok) {
        JsonNode p = j.get("prompt");
        if (p == null) throw ApiException.invalid("prompt", "missing_required_parameter", "Missing required parameter: 'prompt'.");
        List<Prompt> out = new ArrayList<>();
        if (p.isTextual()) out.add(textPrompt(p.textValue(), tok, "prompt"));
        else if (p.isArray()) {
            if (p.isEmpty()) throw ApiException.invalid("prompt", "empty_array", "Invalid 'prompt': empty array.");
            if (p.get(0).isIntegralNumber()) out.add(new Prompt(null, tokenIds(p, "prompt", tok)));
            else {
                for (int i = 0; i < p.size(); i++) {
                    JsonNode e = p.get(i);
                    String path = "prompt[" + i + "]";
                    if (e.isTextual()) out.add(textPrompt(e.textValue(), tok, path));
                    else if (e.isArray()) out.add(new Prompt(null, tokenIds(e, path, tok)));
                    else throw ApiException.invalid(path, "invalid_type", "Invalid type for '" + path + "': expected a string or an array of token ids, but got " + Json.describe(e) + " instead.");
                }
            }
        } else {
            throw j.wrongType("prompt", "a string, an array of strings, an array of token ids or an array of arrays of token ids", p);
        }
        if (out.size() > SamplingParams.MAX_N)
            throw ApiException.invalid("prompt", "array_above_max_length", "At most " + SamplingParams.MAX_N + " prompts per request.");
        return out;
    }

    private static Prompt textPrompt(String text, Tokenizer tok, String path) {
        int[] t = tok.encode(text, true, true);
        if (t.length == 0) throw ApiException.invalid(path, "empty_prompt", "The prompt '" + path + "' is empty and the model adds no beginning-of-text token.");
        return new Prompt(text, t);
    }

    /** The token ids of a JSON array (as a prompt or input gives them), each checked against the vocabulary. */
    static int[] tokenIds(JsonNode arr, String path, Tokenizer tok) {
        if (arr.isEmpty()) throw ApiException.invalid(path, "empty_array", "Invalid '" + path + "': empty array.");
        int[] t = new int[arr.size()];
        for (int i = 0; i < t.length; i++) {
            JsonNode e = arr.get(i);
            if (!e.isIntegralNumber()) throw ApiException.invalid(path + "[" + i + "]", "invalid_type",
                    "Invalid type for '" + path + "[" + i + "]': expected a token id (integer), but got " + Json.describe(e) + " instead.");
            long v = e.longValue();
            if (v < 0 || v >= tok.vocabSize()) throw ApiException.invalid(path + "[" + i + "]", "invalid_value",
                    "Invalid token id " + e + " at '" + path + "[" + i + "]': the vocabulary has ids 0.." + (tok.vocabSize() - 1) + ".");
            t[i] = (int) v;
        }
        return t;
    }

    private void streamCompletions(Job job, Sse stream, Metering meter, String id, long created, String model, boolean includeUsage, boolean echo,
                                   Integer logprobs, List<Prompt> prompts, int n, Tokenizer tok) throws InterruptedException {
        Outcome[] out = new Outcome[job.choices()];
        CompletionLogprobs[] offsets = new CompletionLogprobs[out.length];
        for (int i = 0; i < out.length; i++) out[i] = new Outcome();
        try (Sse sse = stream) {
            try {
                sse.open();
                while (!job.done()) {
                    Job.Tagged t = job.next(Duration.ofSeconds(1));
                    if (t == null) continue;
                    int c = t.choice();
                    switch (t.event()) {
                        case SequenceEvent.PromptDone p -> {
                            offsets[c] = new CompletionLogprobs(tok, 0);
                            if (!echo) continue;
                            String text = prompts.get(c / n).echoText(tok);
                            ObjectNode lp = null;
                            if (logprobs != null) {
                                offsets[c].addPrompt(p.promptTokens(), text);
                                lp = offsets[c].json;
                                offsets[c] = new CompletionLogprobs(tok, offsets[c].offset);
                            }
                            sse.data(completionChunk(id, created, model, c, text, lp, null, includeUsage));
                        }
                        case SequenceEvent.Text x -> {
                            out[c].add(x);
                            if (x.text().isEmpty() && x.logprobs().isEmpty()) continue;
                            ObjectNode lp = null;
                            if (logprobs != null) {
                                offsets[c].add(x.logprobs());
                                lp = offsets[c].json;
                                offsets[c] = new CompletionLogprobs(tok, offsets[c].offset);
                            }
                            sse.data(completionChunk(id, created, model, c, x.text(), lp, null, includeUsage));
                        }
                        case SequenceEvent.Done d -> {
                            out[c].done = d;
                            ApiException err = endError(d);
                            if (err != null) {
                                job.cancelAndDrain();
                                sse.data(err.toJson());
                                return;
                            }
                            sse.data(completionChunk(id, created, model, c, "", null, d.reason().apiName(), includeUsage));
                        }
                        case SequenceEvent.Failed f -> {
                            job.cancelAndDrain();
                            sse.data(Job.map(f.error()).toJson());
                            return;
                        }
                    }
                }
                if (includeUsage) {
                    ObjectNode u = envelope(id, "text_completion", created, model);
                    u.putArray("choices");
                    u.set("usage", usage(out, n));
                    sse.data(u);
                }
                sse.done();
            } catch (IOException e) {
                meter.clientGone();
                job.cancelAndDrain();
            }
        }
    }

    private static ObjectNode completionChunk(String id, long created, String model, int index, String text, ObjectNode logprobs,
                                              String finish, boolean includeUsage) {
        ObjectNode r = envelope(id, "text_completion", created, model);
        ObjectNode c = r.putArray("choices").addObject();
        c.put("text", text);
        c.put("index", index);
        endChoice(c, logprobs, finish);
        if (includeUsage) r.putNull("usage");
        return r;
    }

    /** The legacy completions logprobs object: parallel arrays of tokens, their logprobs, top alternatives and text offsets. */
    private static final class CompletionLogprobs {
        final Tokenizer tok;
        final ObjectNode json = Json.MAPPER.createObjectNode();
        final ArrayNode tokens = json.putArray("tokens"), logprobs = json.putArray("token_logprobs"),
                top = json.putArray("top_logprobs"), offsets = json.putArray("text_offset");
        int offset;

        CompletionLogprobs(Tokenizer tok, int offset) {
            this.tok = tok;
            this.offset = offset;
        }

        /**
         * The echoed prompt's tokens, their offsets indexing into {@code echoed} exactly: a token
         * whose text begins with the space SentencePiece adds to the first word (absent from the
         * echoed text) starts where its word starts. Afterwards the offset is the echo's length,
         * where the completion's text begins.
         */
        void addPrompt(List<TokenInfo> prompt, String echoed) {
            int base = offset;
            int at = 0;
            for (TokenInfo t : prompt) {
                String s = new String(t.bytes(), StandardCharsets.UTF_8);
                if (!s.isEmpty() && !echoed.startsWith(s, at) && s.charAt(0) == ' ' && echoed.startsWith(s.substring(1), at)) {
                    addOne(t, s, base + at);
                    at += s.length() - 1;
                } else {
                    addOne(t, s, base + Math.min(at, echoed.length()));
                    at += s.length();
                }
            }
            offset = base + echoed.length();
        }

        void add(List<TokenInfo> infos) {
            for (TokenInfo t : infos) {
                String s = new String(t.bytes(), StandardCharsets.UTF_8);
                addOne(t, s, offset);
                offset += s.length();
            }
        }

        private void addOne(TokenInfo t, String s, int at) {
            tokens.add(s);
            if (Float.isNaN(t.logprob())) {
                logprobs.addNull();
                top.addNull();
            } else {
                logprobs.add(t.logprob());
                ObjectNode alts = top.addObject();
                for (TokenLogprob a : t.top()) {
                    String key = new String(tok.tokenBytes(a.token()), StandardCharsets.UTF_8);
                    if (!alts.has(key)) alts.put(key, a.logprob());
                }
            }
            offsets.add(at);
        }
    }

    // ---- shared ----------------------------------------------------------------------------------

    /** What one choice produced: its text, its tokens' log-probabilities (if asked for) and how it ended. */
    static final class Outcome {
        final StringBuilder text = new StringBuilder();
        final List<TokenInfo> logprobs = new ArrayList<>();
        List<TokenInfo> prompt = List.of();
        int tokens;
        SequenceEvent.Done done;

        void add(SequenceEvent.Text x) {
            text.append(x.text());
            logprobs.addAll(x.logprobs());
            tokens += x.tokens();
        }
    }

    /** Waits for every choice to end; errors become API errors. */
    static Outcome[] collect(Job job, int choices) throws InterruptedException {
        Outcome[] out = new Outcome[choices];
        for (int i = 0; i < choices; i++) out[i] = new Outcome();
        try {
            while (!job.done()) {
                Job.Tagged t = job.next(Duration.ofSeconds(1));
                if (t == null) continue;
                Outcome o = out[t.choice()];
                switch (t.event()) {
                    case SequenceEvent.PromptDone p -> o.prompt = p.promptTokens();
                    case SequenceEvent.Text x -> o.add(x);
                    case SequenceEvent.Done d -> {
                        o.done = d;
                        ApiException err = endError(d);
                        if (err != null) throw err;
                    }
                    case SequenceEvent.Failed f -> throw Job.map(f.error());
                }
            }
        } finally {
            job.cancelAndDrain(); // no-op when all ended; frees the slots of the others after an error
        }
        return out;
    }

    /** The error a sequence's end means for the client, or null if it ended normally. */
    static ApiException endError(SequenceEvent.Done d) {
        if (d.reason() != FinishReason.CANCELLED) return null;
        if (d.timedOut()) return new ApiException(504, "timeout_error", "The generation did not finish within the server's request timeout.", null, "timeout");
        return ApiException.unavailable("The generation was cancelled because the server is shutting down.");
    }

    /** usage; prompts are counted once per prompt, not per choice ({@code n} choices share one). */
    private static ObjectNode usage(Outcome[] out, int n) {
        int prompt = 0, cached = 0, completion = 0;
        for (int i = 0; i < out.length; i++) {
            SequenceEvent.Done d = out[i].done;
            if (d == null) continue;
            if (i % n == 0) {
                prompt += d.promptTokens();
                cached += d.cachedTokens();
            }
            completion += d.completionTokens();
        }
        ObjectNode u = Json.MAPPER.createObjectNode();
        u.put("prompt_tokens", prompt).put("completion_tokens", completion).put("total_tokens", prompt + completion);
        u.putObject("prompt_tokens_details").put("cached_tokens", cached).put("audio_tokens", 0);
        u.putObject("completion_tokens_details").put("reasoning_tokens", 0).put("audio_tokens", 0)
                .put("accepted_prediction_tokens", 0).put("rejected_prediction_tokens", 0);
        return u;
    }

    static void send(ServerResponse res, JsonNode json) {
        res.status(200);
        res.header("Content-Type", "application/json");
        res.send(Json.bytes(json));
    }

    static String randomId() {
        return UUID.randomUUID().toString().replace("-", "").substring(0, 24);
    }

    @SafeVarargs
    private static Set<String> union(Set<String>... sets) {
        Set<String> s = new HashSet<>();
        for (Set<String> x : sets) s.addAll(x);
        return Set.copyOf(s);
    }
}
