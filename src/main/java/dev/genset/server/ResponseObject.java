package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;

/**
 * One Responses API response as it is built: what the request set (echoed back, as OpenAI does),
 * the output items (an assistant message, function calls) from a chat completion or its chunks,
 * how it finished and its usage.
 */
final class ResponseObject {
    final String id = "resp_" + OpenAiEndpoints.randomId();
    private final long createdAt = System.currentTimeMillis() / 1000;
    private String model;
    private final ObjectNode echoed = Json.MAPPER.createObjectNode();
    final List<Item> items = new ArrayList<>();
    String finishReason;
    private JsonNode usage;

    /** An output item: the model's reasoning, the assistant's message, or one function call. */
    static final class Item {
        enum Kind { REASONING, MESSAGE, CALL }

        final Kind kind;
        final String id;
        int index = -1;  // its place in the output once announced (streams)
        final StringBuilder text = new StringBuilder();
        final ArrayNode logprobs = Json.MAPPER.createArrayNode();
        String callId = "", name = "";
        final StringBuilder arguments = new StringBuilder();
        ResponseObject owner;

        Item(Kind kind) {
            this.kind = kind;
            this.id = switch (kind) {
                case REASONING -> "rs_";
                case MESSAGE -> "msg_";
                case CALL -> "fc_";
            } + OpenAiEndpoints.randomId();
        }

        /** The item as the output shows it: done, or in progress (streams announce items before their content). */
        ObjectNode json(boolean done) {
            ObjectNode o = Json.MAPPER.createObjectNode();
            String status = !done ? "in_progress" : kind != Kind.CALL && "length".equals(owner.finishReason) ? "incomplete" : "completed";
            if (kind == Kind.REASONING) {
                o.put("id", id).put("type", "reasoning").put("status", status);
                o.putArray("summary");
                o.putArray("content").addObject().put("type", "reasoning_text").put("text", text.toString());
            } else if (kind == Kind.MESSAGE) {
                o.put("id", id).put("type", "message").put("status", status).put("role", "assistant");
                o.putArray("content").add(outputText(text.toString(), logprobs));
            } else {
                o.put("id", id).put("type", "function_call").put("status", status).put("call_id", callId).put("name", name)
                        .put("arguments", arguments.toString());
            }
            return o;
        }
    }

    ResponseObject(Json request, String model, String previousId, boolean store) {
        this.model = model;
        ObjectNode q = request.node();
        echoed.set("instructions", q.hasNonNull("instructions") ? q.get("instructions") : Json.MAPPER.nullNode());
        echoed.set("max_output_tokens", q.hasNonNull("max_output_tokens") ? q.get("max_output_tokens") : Json.MAPPER.nullNode());
        echoed.set("max_tool_calls", q.hasNonNull("max_tool_calls") ? q.get("max_tool_calls") : Json.MAPPER.nullNode());
        echoed.put("parallel_tool_calls", q.path("parallel_tool_calls").asBoolean(true));
        if (previousId != null) echoed.put("previous_response_id", previousId);
        else echoed.putNull("previous_response_id");
        ObjectNode reasoning = echoed.putObject("reasoning");
        reasoning.set("effort", q.path("reasoning").hasNonNull("effort") ? q.path("reasoning").get("effort") : Json.MAPPER.nullNode());
        reasoning.set("summary", q.path("reasoning").hasNonNull("summary") ? q.path("reasoning").get("summary") : Json.MAPPER.nullNode());
        echoed.put("service_tier", "default");
        echoed.put("store", store);
        echoed.put("temperature", q.path("temperature").isNumber() ? q.get("temperature").asDouble() : 1.0);
        if (q.path("text").isObject()) echoed.set("text", q.get("text"));
        else echoed.putObject("text").putObject("format").put("type", "text");
        echoed.set("tool_choice", q.has("tool_choice") ? q.get("tool_choice") : Json.MAPPER.getNodeFactory().textNode("auto"));
        echoed.set("tools", q.path("tools").isArray() ? q.get("tools") : Json.MAPPER.createArrayNode());
        echoed.put("top_logprobs", q.path("top_logprobs").asInt(0));
        echoed.put("top_p", q.path("top_p").isNumber() ? q.get("top_p").asDouble() : 1.0);
        echoed.put("truncation", q.path("truncation").asText("disabled"));
        echoed.set("user", q.hasNonNull("user") ? q.get("user") : Json.MAPPER.nullNode());
        echoed.set("metadata", q.path("metadata").isObject() ? q.get("metadata") : Json.MAPPER.createObjectNode());
    }

    /** The assistant message (made on first use). */
    Item message() {
        return first(Item.Kind.MESSAGE);
    }

    /** The model's reasoning (made on first use). */
    Item reasoning() {
        return first(Item.Kind.REASONING);
    }

    private Item first(Item.Kind kind) {
        for (Item i : items) if (i.kind == kind) return i;
        return add(new Item(kind));
    }

    /** Function call number {@code index} of the chat answer (made on first use). */
    Item call(int index) {
        int k = 0;
        for (Item i : items) if (i.kind == Item.Kind.CALL && k++ == index) return i;
        Item made = null;
        while (k <= index) {
            made = add(new Item(Item.Kind.CALL));
            k++;
        }
        return made;
    }

    private Item add(Item i) {
        i.owner = this;
        items.add(i);
        return i;
    }

    void model(String m) {
        if (m != null && !m.isEmpty()) model = m;
    }

    /** The chat usage, as the response's. */
    void usage(JsonNode chatUsage) {
        usage = chatUsage;
    }

    /** Fills the output from a whole chat completion. */
    void fromChat(JsonNode answer) {
        model(answer.path("model").asText(null));
        JsonNode choice = answer.path("choices").path(0);
        JsonNode msg = choice.path("message");
        String text = msg.path("content").asText(""), thought = msg.path("reasoning_content").asText("");
        JsonNode calls = msg.path("tool_calls");
        if (!thought.isEmpty()) reasoning().text.append(thought);
        if (!text.isEmpty() || (!calls.isArray() || calls.isEmpty()) && thought.isEmpty()) {
            Item m = message();
            m.text.append(text);
            m.logprobs.addAll(logprobs(choice.path("logprobs").path("content")));
        }
        int k = 0;
        for (JsonNode c : calls) {
            Item item = call(k++);
            item.callId = c.path("id").asText("");
            item.name = c.path("function").path("name").asText("");
            item.arguments.append(c.path("function").path("arguments").asText(""));
        }
        finishReason = choice.path("finish_reason").asText(null);
        usage = answer.get("usage");
    }

    /** The response as it stands. */
    ObjectNode json() {
        ObjectNode r = Json.MAPPER.createObjectNode();
        boolean incomplete = "length".equals(finishReason);
        r.put("id", id).put("object", "response").put("created_at", createdAt).put("status", incomplete ? "incomplete" : "completed")
                .put("background", false).putNull("error");
        if (incomplete) r.putObject("incomplete_details").put("reason", "max_output_tokens");
        else r.putNull("incomplete_details");
        r.set("instructions", echoed.get("instructions"));
        r.set("max_output_tokens", echoed.get("max_output_tokens"));
        r.set("max_tool_calls", echoed.get("max_tool_calls"));
        r.put("model", model);
        ArrayNode output = r.putArray("output");
        for (Item i : items) output.add(i.json(true));
        for (String f : new String[] {"parallel_tool_calls", "previous_response_id", "reasoning", "service_tier", "store", "temperature", "text",
                "tool_choice", "tools", "top_logprobs", "top_p", "truncation"})
            r.set(f, echoed.get(f).deepCopy());
        if (usage == null || usage.isNull()) r.putNull("usage");
        else {
            long in = usage.path("prompt_tokens").asLong(), out = usage.path("completion_tokens").asLong();
            ObjectNode u = r.putObject("usage");
            u.put("input_tokens", in);
            u.putObject("input_tokens_details").put("cached_tokens", usage.path("prompt_tokens_details").path("cached_tokens").asLong(0));
            u.put("output_tokens", out);
            u.putObject("output_tokens_details").put("reasoning_tokens", 0);
            u.put("total_tokens", in + out);
        }
        r.set("user", echoed.get("user").deepCopy());
        r.set("metadata", echoed.get("metadata").deepCopy());
        return r;
    }

    /** This response's output as the chat message a follow-up's conversation holds. */
    ObjectNode assistantMessage() {
        ObjectNode m = Json.MAPPER.createObjectNode().put("role", "assistant");
        StringBuilder text = new StringBuilder();
        ArrayNode calls = Json.MAPPER.createArrayNode();
        for (Item i : items) {
            if (i.kind == Item.Kind.REASONING) continue;  // templates leave past reasoning out of the conversation
            if (i.kind == Item.Kind.MESSAGE) text.append(i.text);
            else calls.addObject().put("id", i.callId).put("type", "function").putObject("function").put("name", i.name)
                    .put("arguments", i.arguments.toString());
        }
        m.put("content", text.toString());
        if (!calls.isEmpty()) m.set("tool_calls", calls);
        return m;
    }

    static ObjectNode outputText(String text, ArrayNode logprobs) {
        ObjectNode t = Json.MAPPER.createObjectNode().put("type", "output_text");
        t.putArray("annotations");
        t.set("logprobs", logprobs.deepCopy());
        t.put("text", text);
        return t;
    }

    /** Chat's logprobs entries ({@code token, logprob, bytes, top_logprobs}) are the Responses API's too. */
    static ArrayNode logprobs(JsonNode chatLogprobs) {
        ArrayNode out = Json.MAPPER.createArrayNode();
        if (chatLogprobs.isArray()) for (JsonNode e : chatLogprobs) out.add(e.deepCopy());
        return out;
    }
}
