package dev.genset.server;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.JsonValue;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.errors.BadRequestException;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.ContentBlock;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.models.messages.StopReason;
import com.anthropic.models.messages.Tool;
import com.anthropic.models.messages.ToolChoiceAny;
import com.anthropic.models.messages.ToolUseBlock;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The official Anthropic Java SDK against /v1/messages on a live server, compared with the same chat through /v1/chat/completions. */
@Timeout(120)
class AnthropicApiTest {
    static TestServer s;
    static AnthropicClient client;

    @BeforeAll
    static void start() throws Exception {
        // room for a tool's description in the prompt
        s = new TestServer(c -> new ServerConfig(c.host(), c.port(), c.models(), c.parallel(), 2048, c.threads(), c.batchSize(),
                c.queueCapacity(), c.requestTimeout(), c.maxBodyBytes(), c.shutdownGrace()));
        client = AnthropicOkHttpClient.builder().baseUrl(s.base).apiKey("unused").maxRetries(0).timeout(Duration.ofSeconds(60)).build();
    }

    @AfterAll
    static void stop() {
        client.close();
        s.close();
    }

    static MessageCreateParams.Builder ask(String user, long maxTokens) {
        return MessageCreateParams.builder().model("stories260K").maxTokens(maxTokens).addUserMessage(user).putAdditionalBodyProperty("temperature", JsonValue.from(0));
    }

    /** What /v1/chat/completions answers for the same greedy chat. */
    static JsonNode chat(String system, String user, int maxTokens, String extra) throws Exception {
        String messages = (system == null ? "" : "{\"role\":\"system\",\"content\":" + TestServer.JSON.valueToTree(system) + "},")
                + "{\"role\":\"user\",\"content\":" + TestServer.JSON.valueToTree(user) + "}";
        return s.post("/v1/chat/completions", "{\"model\":\"stories260K\",\"max_tokens\":" + maxTokens + ",\"temperature\":0,\"messages\":[" + messages + "]" + extra + "}").json();
    }

    @Test
    void aMessageIsTheChatCompletionsAnswerInAnthropicsShape() throws Exception {
        Message m = client.messages().create(ask("Tell me a story about a cat.", 24).system("You tell short stories.").build());
        JsonNode same = chat("You tell short stories.", "Tell me a story about a cat.", 24, "");
        assertThat(m.id()).startsWith("msg_");
        assertThat(m.content()).hasSize(1);
        assertThat(m.content().getFirst().text().orElseThrow().text()).isEqualTo(same.at("/choices/0/message/content").asText()).isNotBlank();
        assertThat(m.stopReason()).contains(same.at("/choices/0/finish_reason").asText().equals("length") ? StopReason.MAX_TOKENS : StopReason.END_TURN);
        assertThat(m.usage().outputTokens()).isEqualTo(same.at("/usage/completion_tokens").asLong());
        // input tokens not read from the cache, plus those read from it, are the prompt
        assertThat(m.usage().inputTokens() + m.usage().cacheReadInputTokens().orElse(0L)).isEqualTo(same.at("/usage/prompt_tokens").asLong());
    }

    @Test
    void aStreamAccumulatesToTheWholeMessage() throws Exception {
        Message whole = client.messages().create(ask("Tell me a story about a dog.", 24).build());
        MessageAccumulator acc = MessageAccumulator.create();
        int deltas = 0;
        try (StreamResponse<RawMessageStreamEvent> stream = client.messages().createStreaming(ask("Tell me a story about a dog.", 24).build())) {
            for (RawMessageStreamEvent e : (Iterable<RawMessageStreamEvent>) stream.stream()::iterator) {
                acc.accumulate(e);
                if (e.isContentBlockDelta()) deltas++;
            }
        }
        Message streamed = acc.message();
        assertThat(deltas).isGreaterThan(1);
        assertThat(streamed.content().getFirst().text().orElseThrow().text()).isEqualTo(whole.content().getFirst().text().orElseThrow().text());
        assertThat(streamed.stopReason()).isEqualTo(whole.stopReason());
        assertThat(streamed.usage().outputTokens()).isEqualTo(whole.usage().outputTokens());
    }

    @Test
    void aStopSequenceIsNamed() throws Exception {
        String text = client.messages().create(ask("Tell me a story.", 40).build()).content().getFirst().text().orElseThrow().text();
        String word = text.strip().split("\\s+")[2]; // a word the reply is known to contain
        Message m = client.messages().create(ask("Tell me a story.", 40).addStopSequence(word).addStopSequence("zzzz").build());
        assertThat(m.stopReason()).contains(StopReason.STOP_SEQUENCE);
        assertThat(m.stopSequence()).contains(word);
        assertThat(m.content().getFirst().text().orElseThrow().text()).isEqualTo(text.substring(0, text.indexOf(word)));
    }

    @Test
    void aForcedToolCallComesBackAsToolUse() throws Exception {
        Tool weather = Tool.builder().name("get_weather").description("The weather in a city")
                .inputSchema(Tool.InputSchema.builder()
                        .properties(JsonValue.from(Map.of("city", Map.of("enum", List.of("Paris", "Rome")), "days", Map.of("type", "integer"))))
                        .required(List.of("city", "days")).build())
                .build();
        Message m = client.messages().create(ask("What is the weather in Paris?", 80).addTool(weather).toolChoice(ToolChoiceAny.builder().build()).build());
        assertThat(m.stopReason()).contains(StopReason.TOOL_USE);
        ToolUseBlock use = m.content().stream().filter(ContentBlock::isToolUse).findFirst().orElseThrow().toolUse().orElseThrow();
        assertThat(use.name()).isEqualTo("get_weather");
        assertThat(use.id()).isNotBlank();
        @SuppressWarnings("unchecked")
        Map<String, Object> input = use._input().convert(Map.class);
        assertThat(input.get("city")).isIn("Paris", "Rome");
        assertThat(input.get("days")).isInstanceOf(Number.class);

        // the result goes back as a tool_result block, and the conversation goes on
        var r = s.post("/v1/messages", """
                {"model": "stories260K", "max_tokens": 12, "temperature": 0, "tools": [{"name": "get_weather", "input_schema": {"type": "object"}}],
                 "messages": [{"role": "user", "content": "What is the weather in Paris?"},
                   {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris", "days": 1}}]},
                   {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sunny."}]}]}""");
        assertThat(r.status()).as(String.valueOf(r.json())).isEqualTo(200);
        assertThat(r.json().at("/content/0/type").asText()).isIn("text", "tool_use");
    }

    @Test
    void countTokensIsThePromptTheMessageWouldHave() throws Exception {
        String messages = "\"system\": \"You tell short stories.\", \"messages\": [{\"role\": \"user\", \"content\": \"Tell me a story about a cat.\"}]";
        var count = s.post("/v1/messages/count_tokens", "{\"model\": \"stories260K\", " + messages + "}");
        assertThat(count.status()).as(String.valueOf(count.json())).isEqualTo(200);
        var message = s.post("/v1/messages", "{\"model\": \"stories260K\", \"max_tokens\": 2, " + messages + "}");
        long prompt = message.json().at("/usage/input_tokens").asLong() + message.json().at("/usage/cache_read_input_tokens").asLong();
        assertThat(count.json().get("input_tokens").asLong()).isEqualTo(prompt).isPositive();
        assertThat(client.messages().countTokens(com.anthropic.models.messages.MessageCountTokensParams.builder().model("stories260K")
                .addUserMessage("Tell me a story about a cat.").system("You tell short stories.").build()).inputTokens()).isEqualTo(prompt);
    }

    @Test
    void errorsComeInAnthropicsShape() throws Exception {
        assertThatThrownBy(() -> client.messages().create(ask("x", 5).model("no-such-model").build()))
                .isInstanceOfSatisfying(com.anthropic.errors.NotFoundException.class, e -> assertThat(e.statusCode()).isEqualTo(404));
        var r = s.post("/v1/messages", "{\"model\": \"stories260K\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.json().get("type").asText()).isEqualTo("error");
        assertThat(r.json().at("/error/type").asText()).isEqualTo("invalid_request_error");
        assertThat(r.json().at("/error/message").asText()).contains("max_tokens");
        r = s.post("/v1/messages", "{\"model\": \"stories260K\", \"max_tokens\": 5, \"messages\": [{\"role\": \"user\", \"content\": "
                + "[{\"type\": \"image\", \"source\": {\"type\": \"base64\", \"media_type\": \"image/png\", \"data\": \"\"}}]}]}");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.json().at("/error/message").asText()).contains("'image' are not supported");
        assertThatThrownBy(() -> client.messages().create(ask("x", 5).addTool(com.anthropic.models.messages.ToolBash20250124.builder().build()).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("server tools");
    }
}
