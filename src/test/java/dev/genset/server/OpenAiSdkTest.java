package dev.genset.server;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.models.ChatModel;
import com.openai.models.ResponseFormatJsonObject;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The official OpenAI Java SDK against a live server on loopback. */
@Timeout(120)
class OpenAiSdkTest {
    static TestServer s;
    static OpenAIClient client;

    @BeforeAll
    static void start() throws Exception {
        s = new TestServer(c -> c);
        client = sdkClient(s);
    }

    @AfterAll
    static void stop() {
        client.close();
        s.close();
    }

    /** The official SDK's client for a test server, without retries. */
    static OpenAIClient sdkClient(TestServer server) {
        return OpenAIOkHttpClient.builder().baseUrl(server.base + "/v1").apiKey("unused").maxRetries(0).timeout(Duration.ofSeconds(60)).build();
    }

    static ChatCompletionCreateParams.Builder chat(String user) {
        return ChatCompletionCreateParams.builder().model("stories260K").addUserMessage(user).maxCompletionTokens(16).temperature(0.0);
    }

    @Test
    void chatCompletion() {
        ChatCompletion c = client.chat().completions().create(chat("Tell me a story about a cat.").build());
        assertThat(c.id()).startsWith("chatcmpl-");
        assertThat(c.model()).isEqualTo("stories260K");
        ChatCompletion.Choice choice = c.choices().getFirst();
        assertThat(choice.message().content()).isPresent();
        assertThat(choice.message().content().get()).isNotEmpty();
        assertThat(choice.finishReason().value()).isIn(ChatCompletion.Choice.FinishReason.Value.STOP, ChatCompletion.Choice.FinishReason.Value.LENGTH);
        assertThat(c.usage()).isPresent();
        assertThat(c.usage().get().completionTokens()).isBetween(1L, 16L);
        assertThat(c.usage().get().promptTokensDetails().get().cachedTokens()).isPresent();
    }

    @Test
    void streamingChatMatchesTheWholeAnswer() {
        String whole = client.chat().completions().create(chat("Tell me a story about a dog.").build()).choices().getFirst().message().content().orElseThrow();
        StringBuilder text = new StringBuilder();
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(
                chat("Tell me a story about a dog.").streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            stream.stream().forEach(chunk -> {
                chunks.add(chunk);
                for (ChatCompletionChunk.Choice ch : chunk.choices()) ch.delta().content().ifPresent(text::append);
            });
        }
        assertThat(text.toString()).isEqualTo(whole);
        ChatCompletionChunk last = chunks.getLast();
        assertThat(last.choices()).isEmpty();
        assertThat(last.usage()).isPresent();
        assertThat(last.usage().get().completionTokens()).isBetween(1L, 16L);
        ChatCompletionChunk finish = chunks.get(chunks.size() - 2);
        assertThat(finish.choices().getFirst().finishReason()).isPresent();
        assertThat(chunks.stream().map(ChatCompletionChunk::id).distinct()).hasSize(1);
    }

    @Test
    void chatWithLogprobsAndJsonMode() {
        ChatCompletion c = client.chat().completions().create(chat("Hi").logprobs(true).topLogprobs(3L)
                .responseFormat(ResponseFormatJsonObject.builder().build()).build());
        var content = c.choices().getFirst().logprobs().orElseThrow().content().orElseThrow();
        assertThat(content).isNotEmpty();
        assertThat(content.getFirst().topLogprobs()).hasSize(3);
        assertThat(content.getFirst().token()).isEqualTo("{");
        assertThat(c.choices().getFirst().message().content().orElseThrow()).startsWith("{");
    }

    @Test
    void grammarAsAnExtraBodyField() {
        // llama.cpp's server takes "grammar" beside OpenAI's fields; the SDK sends it as an additional body property
        ChatCompletion c = client.chat().completions().create(chat("Pick a color").maxCompletionTokens(20)
                .putAdditionalBodyProperty("grammar", JsonValue.from("root ::= \"red\" | \"green\" | \"blue\"")).build());
        assertThat(c.choices().getFirst().message().content().orElseThrow()).isIn("red", "green", "blue");
        assertThat(c.choices().getFirst().finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
    }

    @Test
    void completionWithLogprobs() {
        Completion c = client.completions().create(CompletionCreateParams.builder().model("stories260K").prompt("Once upon a time")
                .maxTokens(8).temperature(0.0).logprobs(2).build());
        CompletionChoice choice = c.choices().getFirst();
        assertThat(choice.text()).isEqualTo(", there was a little girl");
        var lp = choice.logprobs().orElseThrow();
        assertThat(lp.tokens().orElseThrow()).hasSize(8);
        assertThat(lp.tokenLogprobs().orElseThrow()).allSatisfy(v -> assertThat(v).isNegative());
        assertThat(lp.topLogprobs().orElseThrow()).hasSize(8);
        assertThat(choice.finishReason()).isEqualTo(CompletionChoice.FinishReason.LENGTH);
        assertThat(c.usage().orElseThrow().promptTokens()).isEqualTo(5);
    }

    @Test
    void echoedCompletionScoresThePrompt() {
        Completion c = client.completions().create(CompletionCreateParams.builder().model("stories260K")
                .prompt(CompletionCreateParams.Prompt.ofArrayOfTokens(List.of(1L, 403L, 407L, 261L, 378L)))
                .maxTokens(0).echo(true).logprobs(1).temperature(0.0).build());
        var lp = c.choices().getFirst().logprobs().orElseThrow();
        assertThat(lp.tokenLogprobs().orElseThrow()).hasSize(5);
    }

    @Test
    void listsModels() {
        List<Model> models = client.models().list().data();
        assertThat(models).extracting(Model::id).containsExactly("stories260K");
    }

    @Test
    void errorsAreTyped() {
        assertThatThrownBy(() -> client.chat().completions().create(chat("hi").model(ChatModel.GPT_4O).build()))
                .isInstanceOf(NotFoundException.class).hasMessageContaining("gpt-4o");
        assertThatThrownBy(() -> client.chat().completions().create(chat("hi").temperature(5.0).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("temperature");
    }
}
