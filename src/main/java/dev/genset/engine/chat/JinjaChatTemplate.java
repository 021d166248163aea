package dev.genset.engine.chat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A model's own Jinja template, given the variables transformers' apply_chat_template passes. */
final class JinjaChatTemplate implements ChatTemplate {
    static final System.Logger LOG = System.getLogger(ChatTemplate.class.getName());

    private final JinjaTemplate template;
    private final String bosToken, eosToken;
    private final ChatTemplate fallback; // null: report failures instead

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
        var vars = new HashMap<String, Object>();
        vars.put("messages", messages);
        vars.put("add_generation_prompt", addGenerationPrompt);
        vars.put("bos_token", bosToken);
        vars.put("eos_token", eosToken);
        vars.put("tools", null); // transformers passes these as None when absent: defined, but falsy
        vars.put("documents", null);
        vars.putAll(variables);
        try {
            return template.render(vars);
        } catch (ChatTemplateException e) {
            if (fallback == null || e.kind() == ChatTemplateException.Kind.RAISED) throw e;
            LOG.log(System.Logger.Level.WARNING, "chat template failed ({0}); using the built-in {1} format",
                    e.getMessage(), fallback.name());
            return fallback.apply(messages, addGenerationPrompt);
        }
    }
}
