package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A reasoning model's thinking comes apart from its answer: the bundled model given a template that
 * opens a {@code <think>} block at the assistant's turn (as DeepSeek-R1's does), so everything it
 * writes is reasoning; and one whose template knows the tags but does not open them, so nothing is.
 */
@Timeout(120)
class ReasoningTest {
    @TempDir
    static Path dir;
    static TestServer s;

    static final String THINKING = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] | replace('</think>', '') }}\n{% endfor %}"
            + "{% if add_generation_prompt %}assistant: {% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n"
            + "{% else %}<think>\n{% endif %}{% endif %}";
    static final String KNOWS_TAGS = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] | replace('</think>', '') }}\n{% endfor %}"
            + "{% if add_generation_prompt %}assistant:{% endif %}";

    @BeforeAll
    static void start() throws Exception {
        List<Path> models = List.of(withTemplate("stories-think", THINKING), withTemplate("stories-tags", KNOWS_TAGS));
        s = new TestServer(c -> new ServerConfig(c.host(), c.port(), models, c.parallel(), 512, c.threads(), c.batchSize(),
                c.queueCapacity(), c.requestTimeout(), c.maxBodyBytes(), c.shutdownGrace()));
    }

    @AfterAll
    static void stop() {
        if (s != null) s.close();
    }

    static Path withTemplate(String name, String template) throws Exception {
        return TestFiles.storiesModelWith(dir.resolve(name + ".gguf"), w -> w.putString("tokenizer.chat_template", template));
    }

    static String chat(String model, String extra) {
        return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story.\"}],\"max_tokens\":12,\"temperature\":0" + extra + "}";
    }

    @Test
    void thinkingGoesToReasoningContent() throws Exception {
        var r = s.post("/v1/chat/completions", chat("stories-think", ""));
        assertThat(r.status()).as(r.raw().body()).isEqualTo(200);
        String reasoning = r.json().at("/choices/0/message/reasoning_content").asText();
        assertThat(reasoning).isNotEmpty();
        assertThat(r.json().at("/choices/0/message/content").asText()).isEmpty();
        var raw = s.post("/v1/chat/completions", chat("stories-think", ",\"reasoning_format\":\"none\""));
        assertThat(raw.json().at("/choices/0/message/content").asText()).isEqualTo(reasoning);
        assertThat(raw.json().at("/choices/0/message").has("reasoning_content")).isFalse();
        assertThat(s.post("/v1/chat/completions", chat("stories-think", ",\"reasoning_format\":\"loud\"")).status()).isEqualTo(400);
        // a JSON reply has no room to think: it is the content
        var json = s.post("/v1/chat/completions", chat("stories-think", ",\"max_tokens\":40,\"response_format\":{\"type\":\"json_object\"}").replace(",\"max_tokens\":12", ""));
        assertThat(json.status()).as(json.raw().body()).isEqualTo(200);
        assertThat(json.json().at("/choices/0/message").has("reasoning_content")).isFalse();
        assertThat(json.json().at("/choices/0/message/content").asText()).startsWith("{");

        // streamed: the same reasoning in reasoning_content deltas, no answer text
        StringBuilder streamed = new StringBuilder(), content = new StringBuilder();
        for (String data : s.stream("/v1/chat/completions", chat("stories-think", ",\"stream\":true,\"logprobs\":true"))) {
            if (data.equals("[DONE]")) continue;
            JsonNode delta = TestServer.JSON.readTree(data).at("/choices/0/delta");
            streamed.append(delta.path("reasoning_content").asText(""));
            content.append(delta.path("content").asText(""));
        }
        assertThat(streamed.toString()).isEqualTo(reasoning);
        assertThat(content.toString()).isEmpty();
    }

    /** chat_template_kwargs reach the template: Qwen3's enable_thinking false closes the thinking before the model writes. */
    @Test
    void enableThinkingFalseGivesAnAnswer() throws Exception {
        var r = s.post("/v1/chat/completions", chat("stories-think", ",\"chat_template_kwargs\":{\"enable_thinking\":false}"));
        assertThat(r.status()).as(r.raw().body()).isEqualTo(200);
        assertThat(r.json().at("/choices/0/message/content").asText()).isNotEmpty();
        assertThat(r.json().at("/choices/0/message").has("reasoning_content")).isFalse();
        assertThat(s.post("/v1/chat/completions", chat("stories-think", ",\"chat_template_kwargs\":{\"messages\":[]}")).status()).isEqualTo(400);
    }

    /** Ollama's think: true gives thinking apart, false asks the template not to think, unset leaves the text as it was. */
    @Test
    void ollamaThink() throws Exception {
        String body = "{\"model\":\"stories-think\",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story.\"}],\"stream\":false,"
                + "\"options\":{\"num_predict\":12,\"temperature\":0}";
        var thinking = s.post("/api/chat", body + ",\"think\":true}");
        assertThat(thinking.status()).as(thinking.raw().body()).isEqualTo(200);
        String thought = thinking.json().at("/message/thinking").asText();
        assertThat(thought).isNotEmpty();
        assertThat(thinking.json().at("/message/content").asText()).isEmpty();
        var raw = s.post("/api/chat", body + "}");
        assertThat(raw.json().at("/message/content").asText()).isEqualTo(thought);
        assertThat(raw.json().at("/message").has("thinking")).isFalse();
        var answer = s.post("/api/chat", body + ",\"think\":false}");
        assertThat(answer.json().at("/message/content").asText()).isNotEmpty();
        assertThat(s.post("/api/chat", body.replace("stories-think", "stories-tags").replace("\"stream\":false", "\"stream\":false,\"think\":\"high\"") + "}").status())
                .isEqualTo(200);
        assertThat(s.post("/api/chat", body + ",\"think\":\"very\"}").status()).isEqualTo(400);

        StringBuilder streamed = new StringBuilder();
        var lines = s.send("POST", "/api/chat", body.replace("\"stream\":false", "\"stream\":true") + ",\"think\":true}").raw().body().split("\n");
        for (String l : lines) streamed.append(TestServer.JSON.readTree(l).at("/message/thinking").asText(""));
        assertThat(streamed.toString()).isEqualTo(thought);
        var generated = s.post("/api/generate", "{\"model\":\"stories-think\",\"prompt\":\"Tell me a story.\",\"stream\":false,\"think\":true,"
                + "\"options\":{\"num_predict\":12,\"temperature\":0}}");
        assertThat(generated.json().get("thinking").asText()).isNotEmpty();
        assertThat(generated.json().get("response").asText()).isEmpty();
    }

    @Test
    void aTemplateThatDoesNotOpenTheTagsGivesAnAnswer() throws Exception {
        var r = s.post("/v1/chat/completions", chat("stories-tags", ""));
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().at("/choices/0/message/content").asText()).isNotEmpty();
        assertThat(r.json().at("/choices/0/message").has("reasoning_content")).isFalse();
    }

    @Test
    void theResponsesApiGivesAReasoningItem() throws Exception {
        String body = "{\"model\":\"stories-think\",\"input\":\"Tell me a story.\",\"max_output_tokens\":12,\"temperature\":0";
        var r = s.post("/v1/responses", body + "}");
        assertThat(r.status()).as(r.raw().body()).isEqualTo(200);
        JsonNode item = r.json().at("/output/0");
        assertThat(item.get("type").asText()).isEqualTo("reasoning");
        assertThat(item.get("id").asText()).startsWith("rs_");
        String thought = item.at("/content/0/text").asText();
        assertThat(thought).isEqualTo(s.post("/v1/chat/completions", chat("stories-think", "")).json().at("/choices/0/message/reasoning_content").asText());
        assertThat(r.json().get("output")).as("no empty message beside it").hasSize(1);
        List<String> events = s.streamEvents("/v1/responses", body + ",\"stream\":true}");
        assertThat(events).contains("response.reasoning_text.delta", "response.reasoning_text.done").doesNotContain("response.output_text.delta");
    }

    /** Anthropic's Messages API gives the thinking as a thinking block, whole or as thinking deltas; thinking disabled, there is none. */
    @Test
    void anthropicMessagesHaveAThinkingBlock() throws Exception {
        String reasoning = s.post("/v1/chat/completions", chat("stories-think", "")).json().at("/choices/0/message/reasoning_content").asText();
        String body = "{\"model\":\"stories-think\",\"max_tokens\":12,\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story.\"}]";
        var r = s.post("/v1/messages", body + "}");
        assertThat(r.status()).as(r.raw().body()).isEqualTo(200);
        assertThat(r.json().at("/content/0/type").asText()).isEqualTo("thinking");
        assertThat(r.json().at("/content/0/thinking").asText()).isEqualTo(reasoning).isNotEmpty();

        var streamed = s.post("/v1/messages", body + ",\"stream\":true}");
        StringBuilder thinking = new StringBuilder();
        for (var e : OllamaRoutingTest.anthropicEvents(streamed)) {
            if (e.getKey().equals("content_block_start")) assertThat(e.getValue().at("/content_block/type").asText()).isEqualTo("thinking");
            if (e.getKey().equals("content_block_delta")) thinking.append(e.getValue().at("/delta/thinking").asText());
        }
        assertThat(thinking.toString()).isEqualTo(reasoning);

        var off = s.post("/v1/messages", body + ",\"thinking\":{\"type\":\"disabled\"}}");
        assertThat(off.status()).as(off.raw().body()).isEqualTo(200);
        for (JsonNode block : off.json().get("content")) assertThat(block.get("type").asText()).isNotEqualTo("thinking");
    }
}
