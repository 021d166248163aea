package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Set;

/**
 * A Responses API request's input items, tools and text format in chat completions' shape: input
 * messages and content parts as chat messages, consecutive function calls as one assistant message
 * with tool calls, function call outputs as tool messages, function tools as chat's, and
 * {@code text.format} as {@code response_format}. What has no chat counterpart here is refused.
 */
final class ResponsesInput {
    private ResponsesInput() {}

    private static final Set<String> ROLES = Set.of("user", "system", "developer", "assistant");

    /** Appends the messages {@code input} (a string, or an array of items) stands for to {@code out}. */
    static void messages(JsonNode input, ArrayNode out) {
        if (input == null || input.isNull()) return;
        if (input.isTextual()) {
            out.addObject().put("role", "user").put("content", input.textValue());
            return;
        }
        if (!input.isArray()) throw ApiException.invalid("input", "invalid_type",
                "Invalid type for 'input': expected a string or an array of input items, but got " + Json.describe(input) + " instead.");
        ObjectNode calling = null; // the assistant message that consecutive function calls join
        for (int i = 0; i < input.size(); i++) {
            String path = "input[" + i + "]";
            JsonNode item = input.get(i);
            if (!item.isObject()) throw ApiException.invalid(path, "invalid_type", "Invalid type for '" + path + "': expected an object, but got " + Json.describe(item) + " instead.");
            String type = item.path("type").asText(item.has("role") ? "message" : "");
            switch (type) {
                case "message" -> {
                    Json m = Json.element(item, path, Set.of("type", "role", "content", "id", "status"));
                    String role = m.requiredString("role");
                    if (!ROLES.contains(role)) throw ApiException.invalid(path + ".role", "invalid_value",
                            "Invalid value: '" + role + "'. Supported values are: 'user', 'system', 'developer' and 'assistant'.");
                    out.addObject().put("role", role.equals("developer") ? "system" : role).put("content", content(m.get("content"), path + ".content", role));
                    calling = null;
                }
                case "function_call" -> {
                    Json c = Json.element(item, path, Set.of("type", "call_id", "name", "arguments", "id", "status"));
                    if (calling == null) {
                        calling = out.addObject().put("role", "assistant");
                        calling.putNull("content");
                        calling.putArray("tool_calls");
                    }
                    ((ArrayNode) calling.get("tool_calls")).addObject().put("id", c.requiredString("call_id")).put("type", "function")
                            .putObject("function").put("name", c.requiredString("name")).put("arguments", c.string("arguments", "{}"));
                }
                case "function_call_output" -> {
                    Json o = Json.element(item, path, Set.of("type", "call_id", "output", "id", "status"));
                    JsonNode output = o.get("output");
                    if (output == null) throw ApiException.invalid(path + ".output", "missing_required_parameter", "Missing required parameter: '" + path + ".output'.");
                    out.addObject().put("role", "tool").put("tool_call_id", o.requiredString("call_id"))
                            .put("content", output.isTextual() ? output.textValue() : content(output, path + ".output", "tool"));
                    calling = null;
                }
                case "reasoning" -> Json.element(item, path, Set.of("type", "id", "summary", "content", "encrypted_content", "status")); // no reasoning to replay
                case "" -> throw ApiException.invalid(path + ".type", "missing_required_parameter", "Missing required parameter: '" + path + ".type'.");
                default -> throw ApiException.invalid(path + ".type", "unsupported_value",
                        "Input items of type '" + type + "' are not supported; only messages, function calls and function call outputs are.");
            }
        }
    }

    /**
     * The request's input as the Responses API lists it ({@code GET /v1/responses/{id}/input_items}):
     * each item with its type and an id, a message's text content as parts. Call after
     * {@link #messages}, which checks the items.
     */
    static ArrayNode items(JsonNode input) {
        ArrayNode out = Json.MAPPER.createArrayNode();
        if (input == null || input.isNull()) return out;
        if (input.isTextual()) {
            ObjectNode m = out.addObject().put("id", "msg_" + OpenAiEndpoints.randomId()).put("type", "message").put("role", "user");
            m.putArray("content").addObject().put("type", "input_text").put("text", input.textValue());
            return out;
        }
        for (JsonNode given : input) {
            ObjectNode item = ((ObjectNode) given).deepCopy();
            String type = item.path("type").asText("message");
            item.put("type", type);
            if (!item.hasNonNull("id")) item.put("id", (type.equals("message") ? "msg_" : type.equals("function_call") ? "fc_" : "fco_") + OpenAiEndpoints.randomId());
            if (type.equals("message") && item.path("content").isTextual()) {
                String text = item.get("content").textValue();
                item.putArray("content").addObject().put("type", item.path("role").asText().equals("assistant") ? "output_text" : "input_text").put("text", text);
            }
            out.add(item);
        }
        return out;
    }

    /** A message's content (a string, or text parts) as one string. */
    private static String content(JsonNode content, String path, String role) {
        if (content == null) throw ApiException.invalid(path, "missing_required_parameter", "Missing required parameter: '" + path + "'.");
        if (content.isTextual()) return content.textValue();
        if (!content.isArray()) throw ApiException.invalid(path, "invalid_type",
                "Invalid type for '" + path + "': expected a string or an array of content parts, but got " + Json.describe(content) + " instead.");
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < content.size(); k++) {
            String pp = path + "[" + k + "]";
            Json part = Json.element(content.get(k), pp, Set.of("type", "text", "annotations", "logprobs", "refusal"));
            String type = part.requiredString("type");
            String text = switch (type) {
                case "input_text", "output_text" -> part.requiredString("text");
                case "refusal" -> part.requiredString("refusal");
                default -> throw ApiException.invalid(pp + ".type", "unsupported_content_type",
                        "Content parts of type '" + type + "' are not supported; only text is.");
            };
            if (!sb.isEmpty()) sb.append('\n');
            sb.append(text);
        }
        return sb.toString();
    }

    /** {@code tools} and {@code tool_choice}: function tools as chat's. */
    static void tools(Json j, ObjectNode chat) {
        ArrayNode tools = j.array("tools");
        if (tools != null && !tools.isEmpty()) {
            ArrayNode out = chat.putArray("tools");
            for (int i = 0; i < tools.size(); i++) {
                String path = "tools[" + i + "]";
                Json t = Json.element(tools.get(i), path, Set.of("type", "name", "description", "parameters", "strict"));
                String type = t.requiredString("type");
                if (!type.equals("function")) throw ApiException.invalid(path + ".type", "unsupported_value",
                        "Tools of type '" + type + "' are not supported; only 'function' tools are.");
                ObjectNode fn = out.addObject().put("type", "function").putObject("function");
                fn.put("name", t.requiredString("name"));
                for (String f : new String[] {"description", "parameters", "strict"}) if (t.has(f) && !t.get(f).isNull()) fn.set(f, t.get(f));
            }
        }
        JsonNode choice = j.get("tool_choice");
        if (choice == null || choice.isNull()) return;
        if (choice.isTextual()) {
            chat.set("tool_choice", choice);
            return;
        }
        Json c = Json.element(choice, "tool_choice", Set.of("type", "name"));
        String type = c.requiredString("type");
        if (!type.equals("function")) throw ApiException.invalid("tool_choice.type", "unsupported_value",
                "A tool_choice of type '" + type + "' is not supported; use 'none', 'auto', 'required' or a function.");
        chat.putObject("tool_choice").put("type", "function").putObject("function").put("name", c.requiredString("name"));
    }

    /** {@code text.format} as chat's {@code response_format}. */
    static void format(Json j, ObjectNode chat) {
        Json text = j.object("text");
        if (text == null) return;
        text.allowOnly(Set.of("format", "verbosity"));
        text.string("verbosity", null);
        Json format = text.object("format");
        if (format == null) return;
        String type = format.requiredString("type");
        switch (type) {
            case "text" -> format.allowOnly(Set.of("type"));
            case "json_object" -> {
                format.allowOnly(Set.of("type"));
                chat.putObject("response_format").put("type", "json_object");
            }
            case "json_schema" -> {
                format.allowOnly(Set.of("type", "name", "schema", "description", "strict"));
                ObjectNode schema = chat.putObject("response_format").put("type", "json_schema").putObject("json_schema");
                schema.put("name", format.requiredString("name"));
                for (String f : new String[] {"schema", "description", "strict"}) if (format.has(f) && !format.get(f).isNull()) schema.set(f, format.get(f));
            }
            default -> throw ApiException.invalid("text.format.type", "invalid_value",
                    "Invalid value: '" + type + "'. Supported values are: 'text', 'json_object' and 'json_schema'.");
        }
    }
}
