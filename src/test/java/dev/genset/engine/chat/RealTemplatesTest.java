package dev.genset.engine.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Published chat templates (from the models' tokenizer_config.json) rendered for one conversation. The
 * expected strings are what transformers' apply_chat_template produces (trim_blocks and lstrip_blocks on).
 */
class RealTemplatesTest {
    static final String SYS = "You are helpful.", U1 = "Hello", A1 = "Hi there", U2 = "What is 2+2?";
    static final List<ChatMessage> CONVERSATION = List.of(
            ChatMessage.system(SYS), ChatMessage.user(U1), ChatMessage.assistant(A1), ChatMessage.user(U2));
    static final List<ChatMessage> NO_SYSTEM = CONVERSATION.subList(1, 4);

    static String resource(String name) {
        try (var in = RealTemplatesTest.class.getResourceAsStream("/chat/" + name)) {
            if (in == null) throw new IllegalStateException("missing test resource " + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Strict: a template this interpreter cannot render fails the test instead of falling back. */
    static ChatTemplate strict(String name, String bos, String eos) {
        var t = JinjaTemplate.compile(resource(name)).withClock(() -> ZonedDateTime.of(2025, 3, 7, 9, 30, 0, 0, ZoneOffset.UTC));
        return ChatTemplate.jinja(t, bos, eos);
    }

    /** A map that keeps insertion order, as a JSON object parsed by Python does. */
    static Map<String, Object> ordered(Object... kv) {
        var m = new java.util.LinkedHashMap<String, Object>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return m;
    }

    private static void check(ChatTemplate t, List<ChatMessage> msgs, String withoutPrompt, String prompt) {
        assertThat(t.apply(msgs, false)).isEqualTo(withoutPrompt);
        assertThat(t.apply(msgs, true)).isEqualTo(withoutPrompt + prompt);
    }

    @Test
    void qwen25() {
        var t = strict("qwen2.5-instruct.jinja", "", "<|im_end|>");
        check(t, CONVERSATION,
                "<|im_start|>system\n" + SYS + "<|im_end|>\n"
                        + "<|im_start|>user\n" + U1 + "<|im_end|>\n"
                        + "<|im_start|>assistant\n" + A1 + "<|im_end|>\n"
                        + "<|im_start|>user\n" + U2 + "<|im_end|>\n",
                "<|im_start|>assistant\n");
        // without a system message Qwen supplies its own
        assertThat(t.apply(NO_SYSTEM, true)).startsWith(
                "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\n");
    }

    @Test
    void qwen25WithTools() {
        var t = strict("qwen2.5-instruct.jinja", "", "<|im_end|>");
        var tool = ordered("type", "function", "function", ordered("name", "get_time", "description", "Current time"));
        String out = t.apply(List.of(ChatMessage.user(U1)), true, Map.of("tools", List.of(tool)));
        assertThat(out).startsWith("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n\n# Tools\n\n");
        // tojson as transformers defines it: json.dumps with ", " and ": " separators, no HTML escaping
        assertThat(out).contains("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_time\", \"description\": \"Current time\"}}\n</tools>");
        assertThat(out).endsWith("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n");
    }

    @Test
    void llama32UsesStrftimeNowAndHoistsTheSystemMessage() {
        var t = strict("llama-3.2-instruct.jinja", "<|begin_of_text|>", "<|eot_id|>");
        check(t, CONVERSATION,
                "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                        + "Cutting Knowledge Date: December 2023\nToday Date: 07 Mar 2025\n\n" + SYS + "<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\n" + U1 + "<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n" + A1 + "<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\n" + U2 + "<|eot_id|>",
                "<|start_header_id|>assistant<|end_header_id|>\n\n");
        // a caller-supplied date_string wins over strftime_now
        assertThat(t.apply(NO_SYSTEM, true, Map.of("date_string", "01 Jan 2030"))).contains("Today Date: 01 Jan 2030\n\n<|eot_id|>");
    }

    @Test
    void llama32ToolsGoIntoTheFirstUserMessage() {
        var t = strict("llama-3.2-instruct.jinja", "<|begin_of_text|>", "<|eot_id|>");
        var tool = ordered("name", "get_time", "parameters", Map.of());
        String out = t.apply(List.of(ChatMessage.user(U1)), true, Map.of("tools", List.of(tool)));
        assertThat(out).contains("Environment: ipython\n");
        assertThat(out).contains("{\n    \"name\": \"get_time\",\n    \"parameters\": {}\n}\n\n" + U1 + "<|eot_id|>");
    }

    @Test
    void phi35() {
        var t = strict("phi-3.5-mini-instruct.jinja", "<s>", "<|endoftext|>");
        String body = "<|system|>\n" + SYS + "<|end|>\n<|user|>\n" + U1 + "<|end|>\n<|assistant|>\n" + A1 + "<|end|>\n<|user|>\n" + U2 + "<|end|>\n";
        assertThat(t.apply(CONVERSATION, true)).isEqualTo(body + "<|assistant|>\n");
        assertThat(t.apply(CONVERSATION, false)).isEqualTo(body + "<|endoftext|>");
    }

    @Test
    void gemma2() {
        var t = strict("gemma-2-it.jinja", "<bos>", "<eos>");
        check(t, NO_SYSTEM,
                "<bos><start_of_turn>user\n" + U1 + "<end_of_turn>\n<start_of_turn>model\n" + A1 + "<end_of_turn>\n"
                        + "<start_of_turn>user\n" + U2 + "<end_of_turn>\n",
                "<start_of_turn>model\n");
    }

    @Test
    void gemma2RaisesOnASystemMessage() {
        for (var t : List.of(strict("gemma-2-it.jinja", "<bos>", "<eos>"), ChatTemplate.of(resource("gemma-2-it.jinja"), "<bos>", "<eos>"))) {
            assertThatThrownBy(() -> t.apply(CONVERSATION, true))
                    .isInstanceOf(ChatTemplateException.class)
                    .hasMessage("System role not supported")
                    .satisfies(e -> assertThat(((ChatTemplateException) e).kind()).isEqualTo(ChatTemplateException.Kind.RAISED));
        }
        var t = strict("gemma-2-it.jinja", "<bos>", "<eos>");
        assertThatThrownBy(() -> t.apply(List.of(ChatMessage.user("a"), ChatMessage.user("b")), true))
                .hasMessage("Conversation roles must alternate user/assistant/user/assistant/...");
    }

    @Test
    void deepSeekR1Distill() {
        var t = strict("deepseek-r1-distill-qwen.jinja", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>");
        check(t, CONVERSATION,
                "<｜begin▁of▁sentence｜>" + SYS + "<｜User｜>" + U1 + "<｜Assistant｜>" + A1 + "<｜end▁of▁sentence｜>"
                        + "<｜User｜>" + U2,
                "<｜Assistant｜>");
        // reasoning before </think> is dropped from earlier assistant turns
        String out = t.apply(List.of(ChatMessage.user(U1), ChatMessage.assistant("<think>hmm</think>\n\nFour."), ChatMessage.user(U2)), false);
        assertThat(out).isEqualTo("<｜begin▁of▁sentence｜><｜User｜>Hello<｜Assistant｜>\n\nFour.<｜end▁of▁sentence｜><｜User｜>" + U2);
    }

    @Test
    void tinyLlamaChatKeepsTheNewlinesAfterExpressions() {
        var t = strict("tinyllama-chat.jinja", "<s>", "</s>");
        check(t, CONVERSATION,
                "<|system|>\n" + SYS + "</s>\n<|user|>\n" + U1 + "</s>\n<|assistant|>\n" + A1 + "</s>\n<|user|>\n" + U2 + "</s>\n",
                "<|assistant|>\n");
    }

    @Test
    void everyResourceParsesAndDetectsAFallback() {
        assertThat(ChatTemplate.detect(resource("qwen2.5-instruct.jinja"))).isEqualTo("chatml");
        assertThat(ChatTemplate.detect(resource("llama-3.2-instruct.jinja"))).isEqualTo("llama3");
        assertThat(ChatTemplate.detect(resource("phi-3.5-mini-instruct.jinja"))).isEqualTo("chatml");
        for (String name : List.of("qwen2.5-instruct.jinja", "llama-3.2-instruct.jinja", "phi-3.5-mini-instruct.jinja",
                "gemma-2-it.jinja", "deepseek-r1-distill-qwen.jinja", "tinyllama-chat.jinja")) {
            assertThat(ChatTemplate.of(resource(name), "<s>", "</s>").name()).as(name).isEqualTo("jinja");
        }
    }
}
