package dev.genset.engine.chat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A model's own Jinja template, given the variables transformers' apply_chat_template passes. */
final class JinjaChatTemplate implements ChatTemplate {
    static final System.Logger LOG = System.getLogger(ChatTemplate.class.getName());

    /**
     * What a template does with tool definitions, calls and results, found by rendering probes once;
     * {@code argumentsKey} is the key its calls carry their arguments under ("arguments", or
     * "parameters" as Llama 3's do), {@code callPrefix} what comes before a call's JSON
     * ({@code "<tool_call>\n"} in Hermes-style templates, else "").
     */
    record ToolSupport(boolean tools, boolean toolCalls, boolean toolResults, String argumentsKey, String callPrefix) {
        static final ToolSupport NONE = new ToolSupport(false, false, false, "arguments", "");
    }

    private final JinjaTemplate template;
    private final String bosToken, eosToken;
    private final ChatTemplate fallback; // null: report failures instead
    private volatile ToolSupport toolSupport;

    JinjaChatTemplate(JinjaTemplate template, String bosToken, String eosToken, ChatTemplate fallback) {
        this.template = template;
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        this.fallback = fallback;
    }

    @Override
    public String name() {
        return "jinja";
    }

    @Override
    public String apply(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return apply(messages, addGenerationPrompt, Map.of());
    }

    @Override
    public String apply(List<ChatMessage> messages, boolean addGenerationPrompt, Map<String, ?> variables) {
        try {
            return render(messages, addGenerationPrompt, variables);
        } catch (ChatTemplateException e) {
            if (fallback == null || e.kind() == ChatTemplateException.Kind.RAISED) throw e;
            LOG.log(System.Logger.Level.WARNING, "chat template failed ({0}); using the built-in {1} format",
                    e.getMessage(), fallback.name());
            return fallback.apply(messages, addGenerationPrompt);
        }
    }

    /**
     * Renders without falling back. Messages with tool calls are tried as transformers passes them
     * (arguments as a dict, content None), then with the arguments as JSON text (DeepSeek's templates
     * concatenate them), then both again with content "", as templates differ in what they accept; the
     * first failure is reported.
     */
    private String render(List<ChatMessage> messages, boolean addGenerationPrompt, Map<String, ?> variables) {
        boolean calls = messages.stream().anyMatch(m -> !m.toolCalls().isEmpty());
        ChatTemplateException first = null;
        for (int mode = 0; mode < (calls ? 4 : 1); mode++) {
            var msgs = new ArrayList<Object>(messages.size());
            for (ChatMessage m : messages) msgs.add(JinjaValues.messageMap(m, mode % 2 == 0, mode < 2));
            var vars = new HashMap<String, Object>();
            vars.put("messages", msgs);
            vars.put("add_generation_prompt", addGenerationPrompt);
            vars.put("bos_token", bosToken);
            vars.put("eos_token", eosToken);
            vars.put("tools", null); // transformers passes these as None when absent: defined, but falsy
            vars.put("documents", null);
            vars.putAll(variables);
            try {
                return template.render(vars);
            } catch (ChatTemplateException e) {
                if (first == null) first = e;
            }
        }
        throw first;
    }

    /** Whether the template renders tool definitions, assistant tool calls and tool results itself. */
    ToolSupport toolSupport() {
        ToolSupport s = toolSupport;
        if (s == null) toolSupport = s = probe();
        return s;
    }

    private static final String PROBE_TOOL = "genset_probe_tool", PROBE_CALL = "genset_probe_call", PROBE_RESULT = "genset_probe_result";

    private ToolSupport probe() {
        var tool = Map.of("type", "function", "function", Map.of("name", PROBE_TOOL, "description", "probe",
                "parameters", Map.of("type", "object", "properties", Map.of())));
        boolean tools = renders(List.of(ChatMessage.user("probe")), Map.of("tools", List.of(tool)), PROBE_TOOL);
        var call = ChatMessage.assistant("", List.of(new ToolCall("call_probe", PROBE_CALL, "{\"x\": 1}")));
        String rendered = rendering(List.of(ChatMessage.user("probe"), call), Map.of());
        boolean calls = rendered.contains(PROBE_CALL);
        boolean results = renders(List.of(ChatMessage.user("probe"), call, ChatMessage.tool("call_probe", PROBE_RESULT)), Map.of(), PROBE_RESULT);
        int at = rendered.indexOf(PROBE_CALL);
        String key = at >= 0 && rendered.indexOf("\"parameters\"", at) >= 0 && rendered.indexOf("\"arguments\"", at) < 0 ? "parameters" : "arguments";
        String prefix = "";
        int tag = at < 0 ? -1 : rendered.lastIndexOf("<tool_call>", at);
        if (tag >= 0) {
            var m = java.util.regex.Pattern.compile("(\\s*)\\{\\s*\"name\"\\s*:\\s*\"").matcher(rendered.substring(tag + "<tool_call>".length(), at));
            if (m.matches()) prefix = "<tool_call>" + m.group(1);
        }
        return new ToolSupport(tools, calls, results, key, prefix);
    }

    private String rendering(List<ChatMessage> messages, Map<String, ?> variables) {
        try {
            return render(messages, true, variables);
        } catch (RuntimeException e) {
            return "";
        }
    }

    private boolean renders(List<ChatMessage> messages, Map<String, ?> variables, String marker) {
        try {
            return render(messages, true, variables).contains(marker);
        } catch (RuntimeException e) {
            return false;
        }
    }
}
