package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The bundled model given Qwen 2.5's chat template (a copy of its GGUF with tokenizer.chat_template set):
 * the template renders the tools itself, and a forced call is written as Qwen writes one, inside
 * {@code <tool_call>}.
 */
@Timeout(180)
class NativeToolTemplateTest {
    static Path dir;
    static TestServer s;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("genset-tools");
        List<Path> models = List.of(withTemplate("stories-qwen", "qwen2.5-instruct.jinja"), withTemplate("stories-llama", "llama-3.2-instruct.jinja"));
        s = new TestServer(c -> new ServerConfig(c.host(), c.port(), models, c.parallel(), 2048, c.threads(), c.batchSize(),
                c.queueCapacity(), c.requestTimeout(), c.maxBodyBytes(), c.shutdownGrace()));
    }

    /** A copy of the bundled model that carries a published chat template. */
    static Path withTemplate(String name, String templateResource) throws Exception {
        Path model = dir.resolve(name + ".gguf");
        String template;
        try (InputStream in = NativeToolTemplateTest.class.getResourceAsStream("/chat/" + templateResource)) {
            template = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        return TestFiles.storiesModelWith(model, w -> w.putString("tokenizer.chat_template", template));
    }

    @AfterAll
    static void stop() throws Exception {
        if (s != null) s.close();
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) Files.delete(p);
        }
        Files.delete(dir);
    }

    static final String TOOL = """
            {"type": "function", "function": {"name": "get_weather", "description": "The weather in a city",
              "parameters": {"type": "object", "properties": {"city": {"enum": ["Paris", "Rome"]}, "days": {"type": "integer"}},
                "required": ["city", "days"]}}}""";

    @Test
    void aForcedCallIsWrittenInsideToolCallTags() throws Exception {
        var r = s.post("/v1/chat/completions", """
                {"model": "stories-qwen", "max_tokens": 120, "temperature": 0, "logprobs": true, "tool_choice": "required", "tools": [%s],
                 "messages": [{"role": "user", "content": "What is the weather in Paris?"}]}""".formatted(TOOL));
        assertThat(r.status()).as(String.valueOf(r.json())).isEqualTo(200);
        JsonNode c = r.json().at("/choices/0");
        assertThat(c.get("finish_reason").asText()).as(c.toString()).isEqualTo("tool_calls");
        assertThat(c.at("/message/content").isNull()).isTrue();
        JsonNode call = c.at("/message/tool_calls/0/function");
        assertThat(call.get("name").asText()).isEqualTo("get_weather");
        JsonNode args = TestServer.parse(call.get("arguments").asText());
        assertThat(args.get("city").asText()).isIn("Paris", "Rome");
        assertThat(args.get("days").isIntegralNumber()).isTrue();
        StringBuilder raw = new StringBuilder();
        for (JsonNode t : c.at("/logprobs/content")) raw.append(t.get("token").asText());
        assertThat(raw.toString()).startsWith("<tool_call>\n{");
    }

    @Test
    void autoLeavesAModelThatWritesNoCallFree() throws Exception {
        String body = """
                {"model": "stories-qwen", "max_tokens": 24, "temperature": 0, "tools": [%s],
                 "messages": [{"role": "user", "content": "Tell me a story."}]}""".formatted(TOOL);
        var r = s.post("/v1/chat/completions", body);
        assertThat(r.status()).as(String.valueOf(r.json())).isEqualTo(200);
        JsonNode c = r.json().at("/choices/0");
        assertThat(c.get("finish_reason").asText()).isIn("stop", "length");
        assertThat(c.at("/message/content").asText()).isNotBlank();
        assertThat(c.at("/message").has("tool_calls")).isFalse();
    }

    @Test
    void aForcedCallWithLlama3sTemplateUsesItsParametersKey() throws Exception {
        var r = s.post("/v1/chat/completions", """
                {"model": "stories-llama", "max_tokens": 120, "temperature": 0, "logprobs": true,
                 "tool_choice": {"type": "function", "function": {"name": "get_weather"}}, "tools": [%s],
                 "messages": [{"role": "user", "content": "What is the weather in Paris?"}]}""".formatted(TOOL));
        assertThat(r.status()).as(String.valueOf(r.json())).isEqualTo(200);
        JsonNode c = r.json().at("/choices/0");
        assertThat(c.get("finish_reason").asText()).as(c.toString()).isEqualTo("tool_calls");
        JsonNode call = c.at("/message/tool_calls/0/function");
        assertThat(call.get("name").asText()).isEqualTo("get_weather");
        assertThat(TestServer.parse(call.get("arguments").asText()).get("city").asText()).isIn("Paris", "Rome");
        StringBuilder raw = new StringBuilder();
        for (JsonNode t : c.at("/logprobs/content")) raw.append(t.get("token").asText());
        assertThat(raw.toString()).startsWith("{").contains("\"parameters\"").doesNotContain("\"arguments\"");
    }

    @Test
    void theTemplateRendersTheToolsAndTheConversation() throws Exception {
        String tools = "\"tools\": [" + TOOL + "], ";
        String turns = """
                "messages": [{"role": "user", "content": "What is the weather in Paris?"},
                  {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\", \\"days\\": 1}"}}]},
                  {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]""";
        var with = s.post("/v1/chat/completions", "{\"model\": \"stories-qwen\", \"max_tokens\": 4, " + tools + turns + "}");
        var without = s.post("/v1/chat/completions", "{\"model\": \"stories-qwen\", \"max_tokens\": 4, " + turns + "}");
        assertThat(with.status()).as(String.valueOf(with.json())).isEqualTo(200);
        assertThat(without.status()).as(String.valueOf(without.json())).isEqualTo(200);
        // the tools reached the prompt: Qwen's tools preamble and the tool's JSON replace its short default system prompt
        int withTools = with.json().at("/usage/prompt_tokens").asInt(), withoutTools = without.json().at("/usage/prompt_tokens").asInt();
        assertThat(withTools - withoutTools).isGreaterThan(150);
    }
}
