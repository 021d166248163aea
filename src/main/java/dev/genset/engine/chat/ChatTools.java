package dev.genset.engine.chat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Renders a conversation that involves tools (function calling) the way llama.cpp's server does with
 * {@code --jinja}: a template that knows tools gets them as its {@code tools} variable, as transformers'
 * apply_chat_template passes them; for any other template (and the built-in formats) a system message
 * describes the tools and asks for a JSON reply ({@link #GENERIC_CALL}). Assistant tool calls and tool
 * results that the template cannot render become text it can: a call as that JSON, a result as a user
 * turn holding {@code {"tool_response": {...}}}.
 */
public final class ChatTools {
    private ChatTools() {}

    /** The reply the generic description asks for: one call as {@code {"name": ..., "arguments": {...}}}. */
    public static final String GENERIC_CALL = "{\"name\": \"<tool name>\", \"arguments\": {<its arguments>}}";

    /**
     * The tools of one request.
     *
     * @param tools    OpenAI tool objects as maps: {@code {"type": "function", "function": {"name", "description", "parameters"}}}
     * @param required the reply must call a tool
     * @param function the reply must call this tool (null: any)
     * @param parallel several calls in one reply are allowed
     */
    public record Tools(List<? extends Map<String, ?>> tools, boolean required, String function, boolean parallel) {
        public Tools {
            tools = List.copyOf(tools);
        }
    }

    /**
     * The prompt text.
     *
     * @param text         the rendered conversation, ending with the assistant's generation prompt
     * @param nativeTools  the model's own template described the tools (else the generic description did)
     * @param argumentsKey the key the model writes a call's arguments under: "arguments", or "parameters"
     *                     for templates that render calls as Llama 3's do
     * @param callPrefix   what the model writes before a call's JSON: {@code "<tool_call>\n"} for
     *                     Hermes-style templates, else ""
     */
    public record Prompt(String text, boolean nativeTools, String argumentsKey, String callPrefix) {}

    /** Renders the conversation with the generation prompt; {@code tools} may be null (none offered). */
    public static Prompt apply(ChatTemplate template, List<ChatMessage> messages, Tools tools) {
        return apply(template, messages, tools, Map.of());
    }

    /**
     * As {@link #apply(ChatTemplate, List, Tools)}, with extra template variables (a request's
     * {@code chat_template_kwargs}, such as Qwen3's {@code enable_thinking}).
     */
    public static Prompt apply(ChatTemplate template, List<ChatMessage> messages, Tools tools, Map<String, ?> variables) {
        var support = template instanceof JinjaChatTemplate j ? j.toolSupport() : JinjaChatTemplate.ToolSupport.NONE;
        List<ChatMessage> msgs = polyfill(messages, support);
        if (tools == null || tools.tools().isEmpty()) return new Prompt(template.apply(msgs, true, variables), false, "arguments", "");
        if (support.tools()) {
            Map<String, Object> withTools = new java.util.HashMap<>(variables);
            withTools.put("tools", tools.tools());
            String text = template.apply(msgs, true, withTools);
            boolean all = true;
            for (String name : names(tools)) all &= text.contains(name);
            if (all) return new Prompt(text, true, support.argumentsKey(), support.callPrefix());
        }
        String description = describe(tools);
        List<ChatMessage> withSystem = new ArrayList<>(msgs);
        if (!withSystem.isEmpty() && withSystem.getFirst().role().equals("system")) {
            ChatMessage s = withSystem.getFirst();
            withSystem.set(0, s.withContent(s.content().isEmpty() ? description : s.content() + "\n\n" + description));
        } else withSystem.addFirst(ChatMessage.system(description));
        try {
            return new Prompt(template.apply(withSystem, true, variables), false, "arguments", "");
        } catch (ChatTemplateException e) {
            if (e.kind() != ChatTemplateException.Kind.RAISED) throw e;
            // a template that refuses system turns (Gemma's): the description opens the first user turn
            List<ChatMessage> inUser = new ArrayList<>(msgs);
            for (int i = 0; i < inUser.size(); i++) {
                if (inUser.get(i).role().equals("user")) {
                    inUser.set(i, inUser.get(i).withContent(description + "\n\n" + inUser.get(i).content()));
                    return new Prompt(template.apply(inUser, true, variables), false, "arguments", "");
                }
            }
            throw e;
        }
    }

    /** The generic system message: the tools' JSON and the reply format. */
    public static String describe(Tools tools) {
        var sb = new StringBuilder("You can call these tools (functions); each one's parameters are a JSON schema:\n");
        for (Map<String, ?> t : tools.tools()) {
            Object fn = t.get("function");
            sb.append(JinjaValues.toJson(JinjaValues.normalize(fn != null ? fn : t), null, false, null, null)).append('\n');
        }
        sb.append('\n');
        if (tools.function() != null) sb.append("You must call the tool \"").append(tools.function()).append("\": reply with only the JSON object ");
        else if (tools.required()) sb.append("You must call one of the tools: reply with only the JSON object ");
        else sb.append("To call a tool, reply with only the JSON object ");
        sb.append(GENERIC_CALL);
        if (tools.parallel() && tools.function() == null)
            sb.append(", or to call several at once {\"tool_calls\": [").append(GENERIC_CALL).append(", ...]}");
        sb.append('.');
        if (!tools.required() && tools.function() == null) sb.append(" Otherwise reply to the user as usual.");
        return sb.toString();
    }

    /** The function names of the tools. */
    static List<String> names(Tools tools) {
        List<String> out = new ArrayList<>();
        for (Map<String, ?> t : tools.tools()) {
            if (t.get("function") instanceof Map<?, ?> fn && fn.get("name") instanceof String n) out.add(n);
        }
        return out;
    }

    /** Rewrites tool calls and tool results the template cannot render as text it can. */
    static List<ChatMessage> polyfill(List<ChatMessage> messages, JinjaChatTemplate.ToolSupport support) {
        List<ChatMessage> out = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            if (!m.toolCalls().isEmpty() && !support.toolCalls()) {
                String json = callsJson(m.toolCalls());
                out.add(new ChatMessage(m.role(), m.content().isEmpty() ? json : m.content() + "\n" + json));
            } else if (m.role().equals("tool") && !support.toolResults()) {
                var response = new java.util.LinkedHashMap<String, Object>();
                if (m.name() != null) response.put("tool", m.name());
                if (m.toolCallId() != null) response.put("tool_call_id", m.toolCallId());
                response.put("content", m.content());
                out.add(ChatMessage.user(JinjaValues.toJson(JinjaValues.normalize(Map.of("tool_response", response)), null, false, null, null)));
            } else out.add(m);
        }
        return out;
    }

    /** Calls in the generic reply format: one as {@code {"name", "arguments"}}, several as {@code {"tool_calls": [...]}}. */
    static String callsJson(List<ToolCall> calls) {
        var list = new ArrayList<Object>();
        for (ToolCall c : calls) {
            var call = new java.util.LinkedHashMap<String, Object>();
            call.put("name", c.name());
            call.put("arguments", c.argumentsValue());
            list.add(call);
        }
        Object v = list.size() == 1 ? list.getFirst() : Map.of("tool_calls", list);
        return JinjaValues.toJson(JinjaValues.normalize(v), null, false, null, null);
    }
}
