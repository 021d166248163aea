package dev.genset.engine.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ChatTemplateTest {
    static final List<ChatMessage> CONVERSATION = RealTemplatesTest.CONVERSATION;

    @Test
    void chatml() {
        var t = ChatTemplate.builtin("chatml");
        String body = "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
                + "<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n";
        assertThat(t.apply(CONVERSATION, false)).isEqualTo(body);
        assertThat(t.apply(CONVERSATION, true)).isEqualTo(body + "<|im_start|>assistant\n");
        assertThat(t.name()).isEqualTo("chatml");
    }

    @Test
    void llama2() {
        var t = ChatTemplate.builtin("llama2");
        String expected = "[INST] <<SYS>>\nYou are helpful.\n<</SYS>>\n\nHello [/INST] Hi there </s><s>[INST] What is 2+2? [/INST]";
        assertThat(t.apply(CONVERSATION, true)).isEqualTo(expected);
        assertThat(t.apply(CONVERSATION, false)).isEqualTo(expected);
        assertThat(t.apply(List.of(ChatMessage.user(" Hi ")), true)).isEqualTo("[INST] Hi [/INST]");
    }

    @Test
    void llama3() {
        var t = ChatTemplate.builtin("llama3");
        String body = "<|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>";
        assertThat(t.apply(CONVERSATION, false)).isEqualTo(body);
        assertThat(t.apply(CONVERSATION, true)).isEqualTo(body + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    @Test
    void builtinNamesAndLookup() {
        assertThat(ChatTemplate.builtinNames()).containsExactly("chatml", "llama2", "llama3");
        assertThat(ChatTemplate.builtin("Llama-3").name()).isEqualTo("llama3");
        assertThatThrownBy(() -> ChatTemplate.builtin("nope")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("chatml");
    }

    @Test
    void detection() {
        assertThat(ChatTemplate.detect("{{ '<|im_start|>' + role }}")).isEqualTo("chatml");
        assertThat(ChatTemplate.detect("<|start_header_id|>{{ r }}<|end_header_id|>")).isEqualTo("llama3");
        assertThat(ChatTemplate.detect("{{ bos_token + '[INST] ' + content }}")).isEqualTo("llama2");
        assertThat(ChatTemplate.detect(null)).isEqualTo("chatml");
        assertThat(ChatTemplate.detect(null, Set.of("<|start_header_id|>", "<|eot_id|>")::contains)).isEqualTo("llama3");
        assertThat(ChatTemplate.detect("", Set.of("[INST]")::contains)).isEqualTo("llama2");
    }

    @Test
    void fallbacks() {
        assertThat(ChatTemplate.of(null, "<s>", "</s>").name()).isEqualTo("chatml");
        assertThat(ChatTemplate.of("  ", "<s>", "</s>").name()).isEqualTo("chatml");
        // does not parse: the built-in format its text points to
        var broken = ChatTemplate.of("{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>", "<s>", "</s>");
        assertThat(broken.name()).isEqualTo("llama3");
        // parses but fails while rendering (unknown filter): falls back too
        var failing = ChatTemplate.of("{{ messages|nosuchfilter }}<|im_start|>", "<s>", "</s>");
        assertThat(failing.apply(CONVERSATION, true)).isEqualTo(ChatTemplate.builtin("chatml").apply(CONVERSATION, true));
        // strict templates report the failure instead
        var strict = ChatTemplate.jinja(JinjaTemplate.compile("{{ messages|nosuchfilter }}"), "", "");
        assertThatThrownBy(() -> strict.apply(CONVERSATION, true)).isInstanceOf(ChatTemplateException.class);
    }

    @Test
    void jinjaTemplateSeesTheStandardVariables() {
        var t = ChatTemplate.of("{{ bos_token }}{% for m in messages %}{{ m.role }}:{{ m['content'] }};{% endfor %}"
                + "{{ tools is none }}{{ add_generation_prompt }}{{ eos_token }}", "<s>", "</s>");
        assertThat(t.apply(List.of(ChatMessage.user("hi")), true)).isEqualTo("<s>user:hi;TrueTrue</s>");
    }
}
