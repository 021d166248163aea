package dev.genset.engine.chat;

import java.util.List;
import java.util.Objects;

/**
 * One turn of a conversation: a role ("system", "user", "assistant", "tool", ...) and its text; an
 * assistant turn may carry the tool calls it made, a "tool" turn the id of the call it answers.
 *
 * @param toolCalls  the calls an assistant turn made (empty for none)
 * @param toolCallId the call a "tool" turn answers, or null
 * @param name       the function a "tool" turn reports on, or null
 */
public record ChatMessage(String role, String content, List<ToolCall> toolCalls, String toolCallId, String name) {
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
        toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
    }

    public ChatMessage(String role, String content) {
        this(role, content, List.of(), null, null);
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }

    /** An assistant turn that calls tools, with the text it wrote before them ("" for none). */
    public static ChatMessage assistant(String content, List<ToolCall> calls) {
        return new ChatMessage("assistant", content == null ? "" : content, calls, null, null);
    }

    /** A tool's result for the call with this id. */
    public static ChatMessage tool(String toolCallId, String content) {
        return new ChatMessage("tool", content, List.of(), toolCallId, null);
    }

    /** The same turn with other text. */
    public ChatMessage withContent(String text) {
        return new ChatMessage(role, text, toolCalls, toolCallId, name);
    }
}
