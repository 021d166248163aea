package dev.genset.engine.chat;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Conversations with tools through real templates, and the generic description for templates without tool support. */
class ChatToolsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String WEATHER = """
            {"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
             "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}""";

    @SuppressWarnings("unchecked")
    static Map<String, Object> tool(String json) {
        try {
            return JSON.readValue(json, LinkedHashMap.class);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static final List<ChatMessage> CONVERSATION = List.of(
            ChatMessage.system("You are helpful."),
            ChatMessage.user("What's the weather in Paris?"),
            ChatMessage.assistant(null, List.of(new ToolCall("call_1", "get_weather", "{\"city\":\"Paris\"}"))),
            ChatMessage.tool("call_1", "22C"));

    static ChatTools.Tools tools(boolean required, String function) {
        return new ChatTools.Tools(List.of(tool(WEATHER)), required, function, true);
    }

    @Test
    void qwen25RendersToolsCallsAndResultsItself() {
        ChatTemplate t = ChatTemplate.of(RealTemplatesTest.resource("qwen2.5-instruct.jinja"), "", "<|im_end|>");
        ChatTools.Prompt p = ChatTools.apply(t, CONVERSATION, tools(false, null));
        assertThat(p.nativeTools()).isTrue();
        assertThat(p.argumentsKey()).isEqualTo("arguments");
        assertThat(p.callPrefix()).isEqualTo("<tool_call>\n");
        assertThat(p.text()).isEqualTo("""
                <|im_start|>system
                You are helpful.

                # Tools

                You may call one or more functions to assist with the user query.

                You are provided with function signatures within <tools></tools> XML tags:
                <tools>
                {"type": "function", "function": {"name": "get_weather", "description": "Weather of a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
                </tools>

                For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
                <tool_call>
                {"name": <function-name>, "arguments": <args-json-object>}
                </tool_call><|im_end|>
                <|im_start|>user
                What's the weather in Paris?<|im_end|>
                <|im_start|>assistant
                <tool_call>
                {"name": "get_weather", "arguments": {"city": "Paris"}}
                </tool_call><|im_end|>
                <|im_start|>user
                <tool_response>
                22C
                </tool_response><|im_end|>
                <|im_start|>assistant
                """);
    }

    /** A minimal Hermes-style template written here: it renders tools and calls, and reads arguments as a dict. */
    static final String HERMES = """
            {%- if tools %}<tools>{% for t in tools %}{{ t.function.name }};{% endfor %}</tools>
            {% endif %}
            {%- for m in messages %}
            {%- if m.tool_calls %}<|assistant|>{% for c in m.tool_calls %}<tool_call>{"name": "{{ c.function.name }}", "arguments": {{ c.function.arguments | tojson }}}</tool_call>{% endfor %}{{ "\n" }}
            {%- elif m.role == 'tool' %}<|tool|>{{ m.tool_call_id }}={{ m.content }}
            {% else %}<|{{ m.role }}|>{{ m.content }}
            {% endif %}
            {%- endfor %}
            {%- if add_generation_prompt %}<|assistant|>{% endif %}""";

    @Test
    void inlineHermesTemplateGetsToolsAsDictsAndCallsWithObjectArguments() {
        ChatTemplate t = ChatTemplate.of(HERMES, "", "");
        ChatTools.Prompt p = ChatTools.apply(t, CONVERSATION.subList(1, 4), tools(false, null));
        assertThat(p.nativeTools()).isTrue();
        assertThat(p.callPrefix()).isEqualTo("<tool_call>");
        assertThat(p.text()).isEqualTo("<tools>get_weather;</tools>\n<|user|>What's the weather in Paris?\n"
                + "<|assistant|><tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}</tool_call>\n"
                + "<|tool|>call_1=22C\n<|assistant|>");
    }

    @Test
    void llama32PutsToolsInTheFirstUserTurnAndRendersTheCall() {
        ChatTemplate t = ChatTemplate.of(RealTemplatesTest.resource("llama-3.2-instruct.jinja"), "<|begin_of_text|>", "<|eot_id|>");
        ChatTools.Prompt p = ChatTools.apply(t, CONVERSATION.subList(1, 4), tools(false, null));
        assertThat(p.nativeTools()).isTrue();
        assertThat(p.text()).contains("\"name\": \"get_weather\"");
        assertThat(p.text()).contains("<|start_header_id|>assistant<|end_header_id|>\n\n{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}<|eot_id|>");
        assertThat(p.text()).contains("<|start_header_id|>ipython<|end_header_id|>\n\n\"22C\"<|eot_id|>");
        assertThat(p.text()).endsWith("<|start_header_id|>assistant<|end_header_id|>\n\n");
        assertThat(p.argumentsKey()).isEqualTo("parameters");
        assertThat(p.callPrefix()).isEmpty();
    }

    @Test
    void deepSeekR1ConcatenatesArgumentsSoItGetsThemAsText() {
        ChatTemplate t = ChatTemplate.jinja(JinjaTemplate.compile(RealTemplatesTest.resource("deepseek-r1-distill-qwen.jinja")),
                "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "<\uff5cend\u2581of\u2581sentence\uff5c>");
        String text = ChatTools.apply(t, CONVERSATION, null).text();
        assertThat(text).contains("<\uff5ctool\u2581sep\uff5c>get_weather\n```json\n{\"city\":\"Paris\"}\n```");
        assertThat(text).contains("<\uff5ctool\u2581output\u2581begin\uff5c>22C<\uff5ctool\u2581output\u2581end\uff5c>");
    }

    @Test
    void builtinFormatGetsTheGenericDescriptionAndCallsAsJson() {
        ChatTemplate t = ChatTemplate.builtin("chatml");
        ChatTools.Prompt p = ChatTools.apply(t, CONVERSATION, tools(false, null));
        assertThat(p.nativeTools()).isFalse();
        assertThat(p.callPrefix()).isEmpty();
        assertThat(p.text()).startsWith("<|im_start|>system\nYou are helpful.\n\nYou can call these tools (functions); each one's parameters are a JSON schema:\n"
                + "{\"name\": \"get_weather\", \"description\": \"Weather of a city\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}\n\n"
                + "To call a tool, reply with only the JSON object " + ChatTools.GENERIC_CALL);
        assertThat(p.text()).contains("Otherwise reply to the user as usual.<|im_end|>\n");
        assertThat(p.text()).contains("<|im_start|>assistant\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}<|im_end|>\n");
        assertThat(p.text()).contains("<|im_start|>user\n{\"tool_response\": {\"tool_call_id\": \"call_1\", \"content\": \"22C\"}}<|im_end|>\n");
        assertThat(p.text()).endsWith("<|im_start|>assistant\n");
    }

    @Test
    void requiredAndNamedChoicesSaySo() {
        ChatTemplate t = ChatTemplate.builtin("llama2");
        String required = ChatTools.apply(t, List.of(ChatMessage.user("hi")), tools(true, null)).text();
        assertThat(required).contains("You must call one of the tools").doesNotContain("Otherwise");
        String named = ChatTools.apply(t, List.of(ChatMessage.user("hi")), tools(true, "get_weather")).text();
        assertThat(named).contains("You must call the tool \"get_weather\"");
    }

    @Test
    void aTemplateThatIgnoresToolsGetsTheDescriptionInItsSystemTurn() {
        ChatTemplate t = ChatTemplate.of(RealTemplatesTest.resource("phi-3.5-mini-instruct.jinja"), "<s>", "<|endoftext|>");
        ChatTools.Prompt p = ChatTools.apply(t, List.of(ChatMessage.user("hi")), tools(false, null));
        assertThat(p.nativeTools()).isFalse();
        assertThat(p.text()).startsWith("<|system|>\nYou can call these tools");
        assertThat(p.text()).endsWith("<|user|>\nhi<|end|>\n<|assistant|>\n");
    }

    @Test
    void aTemplateThatRefusesSystemTurnsGetsTheDescriptionInTheFirstUserTurn() {
        ChatTemplate t = ChatTemplate.of(RealTemplatesTest.resource("gemma-2-it.jinja"), "<bos>", "<eos>");
        String text = ChatTools.apply(t, List.of(ChatMessage.user("hi")), tools(false, null)).text();
        assertThat(text).startsWith("<bos><start_of_turn>user\nYou can call these tools");
        assertThat(text).endsWith("\n\nhi<end_of_turn>\n<start_of_turn>model\n");
    }

    @Test
    void withoutToolsAConversationWithCallsStillRenders() {
        ChatTemplate t = ChatTemplate.builtin("chatml");
        String text = ChatTools.apply(t, CONVERSATION, null).text();
        assertThat(text).doesNotContain("You can call these tools");
        assertThat(text).contains("{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}");
    }

    @Test
    void templateSeesToolCallFieldsOnlyWhenPresent() {
        var t = ChatTemplate.jinja(JinjaTemplate.compile(
                "{% for m in messages %}{{ m.role }}:{{ 'tool_calls' in m }}:{{ m.content is none }}:{{ m.tool_call_id }};{% endfor %}"), "", "");
        assertThat(t.apply(CONVERSATION, false)).isEqualTo("system:False:False:;user:False:False:;assistant:True:True:;tool:False:False:call_1;");
    }
}
