package dev.genset.engine.chat;

import java.util.List;
import java.util.Locale;

/**
 * Hand-written formats for models without a usable template. Like llama.cpp's, they leave out the leading
 * BOS token, which the tokenizer adds.
 */
record BuiltinChatTemplate(String name, Renderer renderer) implements ChatTemplate {

    @FunctionalInterface
    interface Renderer {
        String apply(List<ChatMessage> messages, boolean addGenerationPrompt);
    }

    static final BuiltinChatTemplate CHATML = new BuiltinChatTemplate("chatml", BuiltinChatTemplate::chatml);
    static final BuiltinChatTemplate LLAMA2 = new BuiltinChatTemplate("llama2", BuiltinChatTemplate::llama2);
    static final BuiltinChatTemplate LLAMA3 = new BuiltinChatTemplate("llama3", BuiltinChatTemplate::llama3);
    private static final List<BuiltinChatTemplate> ALL = List.of(CHATML, LLAMA2, LLAMA3);

    @Override
    public String apply(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return renderer.apply(messages, addGenerationPrompt);
    }

    static BuiltinChatTemplate byName(String name) {
        String n = name == null ? "" : name.toLowerCase(Locale.ROOT).replace("-", "").replace("_", "");
        for (var t : ALL) if (t.name.equals(n)) return t;
        throw new IllegalArgumentException("unknown chat template '" + name + "'; built-in ones are " + names());
    }

    static List<String> names() {
        return ALL.stream().map(BuiltinChatTemplate::name).toList();
    }

    /** {@code <|im_start|>role\ncontent<|im_end|>\n} per message. */
    private static String chatml(List<ChatMessage> messages, boolean addGenerationPrompt) {
        var sb = new StringBuilder();
        for (var m : messages) sb.append("<|im_start|>").append(m.role()).append('\n').append(m.content()).append("<|im_end|>\n");
        if (addGenerationPrompt) sb.append("<|im_start|>assistant\n");
        return sb.toString();
    }

    /**
     * Meta's Llama 2 chat format, {@code [INST] <<SYS>>\nsystem\n<</SYS>>\n\nuser [/INST] answer </s><s>[INST] ...},
     * with contents trimmed. The prompt always ends after {@code [/INST]}, so the generation prompt adds nothing.
     */
    private static String llama2(List<ChatMessage> messages, boolean addGenerationPrompt) {
        var sb = new StringBuilder();
        String system = null;
        boolean first = true;
        for (var m : messages) {
            String content = m.content().strip();
            switch (m.role()) {
                case "system" -> system = system == null ? content : system + "\n" + content;
                case "assistant" -> sb.append(' ').append(content).append(" </s>");
                default -> {
                    sb.append(first ? "" : "<s>").append("[INST] ");
                    if (system != null) sb.append("<<SYS>>\n").append(system).append("\n<</SYS>>\n\n");
                    sb.append(content).append(" [/INST]");
                    system = null;
                    first = false;
                }
            }
        }
        if (system != null) { // a system message with no user turn after it still reaches the model
            sb.append(first ? "" : "<s>").append("[INST] <<SYS>>\n").append(system).append("\n<</SYS>>\n\n [/INST]");
        }
        return sb.toString();
    }

    /** {@code <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>} per message, content trimmed. */
    private static String llama3(List<ChatMessage> messages, boolean addGenerationPrompt) {
        var sb = new StringBuilder();
        for (var m : messages) {
            sb.append("<|start_header_id|>").append(m.role()).append("<|end_header_id|>\n\n")
                    .append(m.content().strip()).append("<|eot_id|>");
        }
        if (addGenerationPrompt) sb.append("<|start_header_id|>assistant<|end_header_id|>\n\n");
        return sb.toString();
    }
}
