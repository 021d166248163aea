package dev.genset.engine.chat;

import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/** Turns a conversation into the prompt text a model was trained on. Implementations are thread-safe. */
public interface ChatTemplate {

    /**
     * Formats the conversation; with {@code addGenerationPrompt} the text ends with the header that opens
     * the assistant's next turn.
     */
    String apply(List<ChatMessage> messages, boolean addGenerationPrompt);

    /**
     * As {@link #apply(List, boolean)}, with extra template variables such as {@code tools} (a list of
     * JSON-schema maps) or {@code date_string}. Built-in templates ignore them.
     */
    default String apply(List<ChatMessage> messages, boolean addGenerationPrompt, Map<String, ?> variables) {
        return apply(messages, addGenerationPrompt);
    }

    /** "chatml", "llama2", "llama3", or "jinja" for a model's own template. */
    String name();

    /**
     * The model's own template (GGUF {@code tokenizer.chat_template}), falling back to a built-in format when
     * there is none, when it does not parse, or when rendering it fails for a reason other than the template's
     * own {@code raise_exception}. The fallback is detected from the template text (ChatML if nothing matches).
     */
    static ChatTemplate of(String jinjaSourceOrNull, String bosToken, String eosToken) {
        if (jinjaSourceOrNull == null || jinjaSourceOrNull.isBlank()) return BuiltinChatTemplate.CHATML;
        ChatTemplate fallback = builtin(detect(jinjaSourceOrNull));
        try {
            return new JinjaChatTemplate(JinjaTemplate.compile(jinjaSourceOrNull), bosToken, eosToken, fallback);
        } catch (ChatTemplateException e) {
            JinjaChatTemplate.LOG.log(System.Logger.Level.WARNING,
                    "chat template does not parse ({0}); using the built-in {1} format", e.getMessage(), fallback.name());
            return fallback;
        }
    }

    /** The model's own template with no fallback: errors surface as {@link ChatTemplateException}. */
    static ChatTemplate jinja(JinjaTemplate template, String bosToken, String eosToken) {
        return new JinjaChatTemplate(template, bosToken, eosToken, null);
    }

    /** A built-in format by name (see {@link #builtinNames()}). */
    static ChatTemplate builtin(String name) {
        return BuiltinChatTemplate.byName(name);
    }

    static List<String> builtinNames() {
        return BuiltinChatTemplate.names();
    }

    /** The built-in format closest to a Jinja template, from marker strings as llama.cpp detects them; ChatML if none. */
    static String detect(String templateText) {
        return detect(templateText, token -> false);
    }

    /**
     * As {@link #detect(String)}, consulting the vocabulary's special tokens when the template text (which may
     * be null) says nothing.
     */
    static String detect(String templateText, Predicate<String> vocabularyHasToken) {
        String t = templateText == null ? "" : templateText;
        if (t.contains("<|im_start|>")) return "chatml";
        if (t.contains("<|start_header_id|>") && t.contains("<|end_header_id|>")) return "llama3";
        if (t.contains("[INST]")) return "llama2";
        if (vocabularyHasToken.test("<|start_header_id|>") && vocabularyHasToken.test("<|eot_id|>")) return "llama3";
        if (vocabularyHasToken.test("<|im_start|>")) return "chatml";
        if (vocabularyHasToken.test("[INST]")) return "llama2";
        return "chatml";
    }
}
