package dev.genset.engine.chat;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.Map;
import java.util.Objects;

/**
 * A function call an assistant turn made: the call's id, the function's name and its arguments as
 * JSON text (an object, as OpenAI's API carries them).
 */
public record ToolCall(String id, String name, String arguments) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public ToolCall {
        Objects.requireNonNull(name, "name");
        if (arguments == null || arguments.isBlank()) arguments = "{}";
    }

    /**
     * The arguments as template values: a map (in the text's key order) when they are a JSON object,
     * else the text itself.
     */
    Object argumentsValue() {
        try {
            Object v = JSON.readValue(arguments, Object.class);
            return v instanceof Map<?, ?> ? v : arguments;
        } catch (Exception e) {
            return arguments;
        }
    }
}
