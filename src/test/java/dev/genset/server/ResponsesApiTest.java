package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseOutputItem;
import com.openai.models.responses.ResponseOutputText;
import com.openai.models.responses.ResponseStreamEvent;
import dev.genset.store.Database;
import dev.genset.gateway.Gateway;
import dev.genset.gateway.GatewayConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** OpenAI's Responses API: the official Java SDK and plain HTTP against a live server on loopback. */
@Timeout(120)
class ResponsesApiTest {
    static TestServer s;
    static OpenAIClient client;

    @BeforeAll
    static void start() throws Exception {
        s = new TestServer(c -> c.withContextSize(1024)); // room for the tool descriptions
        client = OpenAiSdkTest.sdkClient(s);
    }

    @AfterAll
    static void stop() {
        client.close();
        s.close();
    }

    static ResponseCreateParams.Builder params(String input) {
        return ResponseCreateParams.builder().model("stories260K").input(input).maxOutputTokens(16).temperature(0.0);
    }

    static String text(Response r) {
        StringBuilder sb = new StringBuilder();
        for (ResponseOutputItem item : r.output())
            item.message().ifPresent(m -> m.content().forEach(c -> c.outputText().map(ResponseOutputText::text).ifPresent(sb::append)));
        return sb.toString();
    }

    /** The same messages through chat completions, greedy. */
    static String chatText(String messages, int maxTokens) throws Exception {
        var r = s.post("/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":" + messages + ",\"max_tokens\":" + maxTokens + ",\"temperature\":0}");
        assertThat(r.status()).isEqualTo(200);
        return r.json().at("/choices/0/message/content").asText();
    }

    @Test
    void aResponseIsWhatChatCompletionsGiveForTheSameMessages() throws Exception {
        Response r = client.responses().create(params("Tell me a story about a cat.").instructions("You tell short stories.").build());
        assertThat(r.id()).startsWith("resp_");
        assertThat(r.model().asString()).isEqualTo("stories260K");
        assertThat(r.status()).isPresent();
        assertThat(r.output()).hasSize(1);
        assertThat(text(r)).isNotEmpty().isEqualTo(chatText("[{\"role\":\"system\",\"content\":\"You tell short stories.\"},"
                + "{\"role\":\"user\",\"content\":\"Tell me a story about a cat.\"}]", 16));
        assertThat(r.usage().orElseThrow().outputTokens()).isBetween(1L, 16L);
        assertThat(r.usage().orElseThrow().totalTokens()).isEqualTo(r.usage().get().inputTokens() + r.usage().get().outputTokens());
        assertThat(r.instructions()).isPresent();
    }

    @Test
    void streamedEventsAddUpToTheWholeResponse() {
        String whole = text(client.responses().create(params("Tell me a story about a dog.").build()));
        StringBuilder deltas = new StringBuilder();
        List<ResponseStreamEvent> events = new ArrayList<>();
        try (StreamResponse<ResponseStreamEvent> stream = client.responses().createStreaming(params("Tell me a story about a dog.").build())) {
            stream.stream().forEach(e -> {
                events.add(e);
                e.outputTextDelta().ifPresent(d -> deltas.append(d.delta()));
            });
        }
        assertThat(deltas.toString()).isEqualTo(whole);
        assertThat(events.getFirst().isCreated()).isTrue();
        assertThat(events.get(1).isInProgress()).isTrue();
        assertThat(events.stream().anyMatch(ResponseStreamEvent::isOutputItemAdded)).isTrue();
        assertThat(events.stream().anyMatch(ResponseStreamEvent::isOutputTextDone)).isTrue();
        ResponseStreamEvent last = events.getLast();
        Response done = last.isCompleted() ? last.asCompleted().response() : last.asIncomplete().response();
        assertThat(text(done)).isEqualTo(whole);
        assertThat(done.usage().orElseThrow().outputTokens()).isPositive();
        // the same response, kept
        assertThat(text(client.responses().retrieve(done.id()))).isEqualTo(whole);
    }

    @Test
    void previousResponseIdContinuesTheConversation() throws Exception {
        Response first = client.responses().create(params("Tell me about Lily and her ball.").build());
        Response next = client.responses().create(params("What happened next?").previousResponseId(first.id()).build());
        assertThat(next.previousResponseId()).contains(first.id());
        var messages = TestServer.JSON.createArrayNode();
        messages.addObject().put("role", "user").put("content", "Tell me about Lily and her ball.");
        messages.addObject().put("role", "assistant").put("content", text(first));
        messages.addObject().put("role", "user").put("content", "What happened next?");
        assertThat(text(next)).isEqualTo(chatText(messages.toString(), 16));
        long firstInput = first.usage().orElseThrow().inputTokens();
        assertThat(next.usage().orElseThrow().inputTokens()).isGreaterThan(firstInput);
        assertThat(next.usage().get().inputTokensDetails().cachedTokens()).as("the conversation so far, computed once").isGreaterThanOrEqualTo(firstInput - 1);

        assertThatThrownBy(() -> client.responses().create(params("Go on.").previousResponseId("resp_nope").build()))
                .isInstanceOf(NotFoundException.class);
    }

    @Test
    void keptResponsesCanBeReadAndDeleted() {
        Response r = client.responses().create(params("Once upon a time").build());
        assertThat(client.responses().retrieve(r.id()).id()).isEqualTo(r.id());
        client.responses().delete(r.id());
        assertThatThrownBy(() -> client.responses().retrieve(r.id())).isInstanceOf(NotFoundException.class);
        Response unkept = client.responses().create(params("Once upon a time").store(false).build());
        assertThatThrownBy(() -> client.responses().retrieve(unkept.id())).isInstanceOf(NotFoundException.class);
    }

    @Test
    void inputItemsAreListedAsTheApiListsThem() throws Exception {
        Response plain = client.responses().create(params("Once upon a time").build());
        var items = client.responses().inputItems().list(plain.id()).data();
        assertThat(items).hasSize(1);
        assertThat(items.getFirst().asResponseInputMessageItem().content().getFirst().asInputText().text()).isEqualTo("Once upon a time");

        var r = s.post("/v1/responses", "{\"model\":\"stories260K\",\"max_output_tokens\":4,\"input\":[{\"role\":\"user\",\"content\":\"Hi\"},"
                + "{\"role\":\"assistant\",\"content\":\"Hello\"},{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"Story?\"}]}]}");
        String id = r.json().get("id").asText();
        var desc = s.get("/v1/responses/" + id + "/input_items");
        assertThat(desc.status()).isEqualTo(200);
        assertThat(desc.json().get("data")).hasSize(3);
        assertThat(desc.json().at("/data/0/content/0/text").asText()).as("newest first").isEqualTo("Story?");
        assertThat(desc.json().at("/data/1/content/0/type").asText()).isEqualTo("output_text");
        assertThat(desc.json().get("has_more").asBoolean()).isFalse();
        var page = s.get("/v1/responses/" + id + "/input_items?order=asc&limit=2");
        assertThat(page.json().get("data")).hasSize(2);
        assertThat(page.json().at("/data/0/content/0/text").asText()).isEqualTo("Hi");
        assertThat(page.json().get("has_more").asBoolean()).isTrue();
        var rest = s.get("/v1/responses/" + id + "/input_items?order=asc&after=" + page.json().get("last_id").asText());
        assertThat(rest.json().get("data")).hasSize(1);
        assertThat(rest.json().at("/data/0/content/0/text").asText()).isEqualTo("Story?");
        assertThat(s.get("/v1/responses/" + id + "/input_items?limit=0").status()).isEqualTo(400);
        assertThat(s.get("/v1/responses/resp_nope/input_items").status()).isEqualTo(404);
    }

    @Test
    void unsupportedToolsAndBadFieldsAreRefused() throws Exception {
        assertThatThrownBy(() -> client.responses().create(params("Hi").background(true).build())).isInstanceOf(BadRequestException.class);
        var r = s.post("/v1/responses", "{\"model\":\"stories260K\",\"input\":\"Hi\",\"tools\":[{\"type\":\"web_search\"}]}");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.json().at("/error/param").asText()).isEqualTo("tools[0].type");
        var unknown = s.post("/v1/responses", "{\"model\":\"stories260K\",\"input\":\"Hi\",\"temprature\":1}");
        assertThat(unknown.status()).isEqualTo(400);
        assertThat(unknown.json().at("/error/type").asText()).isEqualTo("invalid_request_error");
        var image = s.post("/v1/responses", "{\"model\":\"stories260K\",\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_image\",\"image_url\":\"x\"}]}]}");
        assertThat(image.status()).isEqualTo(400);
        assertThat(s.post("/v1/responses", "{\"model\":\"nope\",\"input\":\"Hi\"}").status()).isEqualTo(404);
        assertThat(s.post("/v1/responses", "{\"model\":\"stories260K\",\"input\":\"Hi\",\"max_output_tokens\":-1}").status()).isEqualTo(400);
    }

    @Test
    void logprobsComeWithTheTextWhenIncluded() throws Exception {
        var r = s.post("/v1/responses", "{\"model\":\"stories260K\",\"input\":\"Once upon a time\",\"max_output_tokens\":5,\"temperature\":0,"
                + "\"include\":[\"message.output_text.logprobs\",\"reasoning.encrypted_content\"],\"top_logprobs\":2}");
        assertThat(r.status()).as(r.raw().body()).isEqualTo(200);
        JsonNode lp = r.json().at("/output/0/content/0/logprobs");
        assertThat(lp.size()).isEqualTo(r.json().at("/usage/output_tokens").asInt());
        StringBuilder tokens = new StringBuilder();
        for (JsonNode t : lp) {
            assertThat(t.get("logprob").asDouble()).isLessThanOrEqualTo(0);
            assertThat(t.get("top_logprobs")).hasSize(2);
            tokens.append(t.get("token").asText());
        }
        assertThat(tokens.toString()).isEqualTo(r.json().at("/output/0/content/0/text").asText());
        var plain = s.post("/v1/responses", "{\"model\":\"stories260K\",\"input\":\"Once upon a time\",\"max_output_tokens\":5,\"temperature\":0}");
        assertThat(plain.json().at("/output/0/content/0/logprobs")).as("not asked for").isEmpty();
    }

    @Test
    void autoTruncationDropsTheOldestTurnsToFit() throws Exception {
        var input = TestServer.JSON.createArrayNode();
        String turn = "Once upon a time there was a little girl named Lily. She loved to play outside in the park with her friends. ".repeat(3);
        for (int i = 0; i < 12; i++) input.addObject().put("role", i % 2 == 0 ? "user" : "assistant").put("content", i + ". " + turn);
        input.addObject().put("role", "user").put("content", "And then?");
        String body = "{\"model\":\"stories260K\",\"instructions\":\"Tell stories.\",\"max_output_tokens\":4,\"input\":" + input;
        var refused = s.post("/v1/responses", body + "}");
        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.json().at("/error/type").asText()).isEqualTo("exceed_context_size_error");
        var fitted = s.post("/v1/responses", body + ",\"truncation\":\"auto\"}");
        assertThat(fitted.status()).as(fitted.raw().body()).isEqualTo(200);
        assertThat(fitted.json().at("/usage/input_tokens").asInt()).isBetween(100, 1023);
        assertThat(fitted.json().get("truncation").asText()).isEqualTo("auto");

        var messages = TestServer.JSON.createArrayNode();
        messages.addObject().put("role", "system").put("content", "x");
        messages.addObject().put("role", "assistant").putArray("tool_calls");
        messages.addObject().put("role", "tool").put("content", "1");
        messages.addObject().put("role", "user").put("content", "y");
        assertThat(ResponsesEndpoint.dropOldestTurn(messages)).isTrue();
        assertThat(messages).hasSize(2);
        assertThat(messages.get(1).get("role").asText()).as("the tool output went with its call").isEqualTo("user");
        assertThat(ResponsesEndpoint.dropOldestTurn(messages)).as("the last message stays").isFalse();
    }

    @Test
    void jsonSchemaFormatGivesValidJson() throws Exception {
        var r = s.post("/v1/responses", """
                {"model":"stories260K","input":"A character","max_output_tokens":60,"temperature":0,
                 "text":{"format":{"type":"json_schema","name":"character","strict":true,"schema":{"type":"object",
                   "properties":{"name":{"type":"string","maxLength":12},"age":{"type":"integer"}},"required":["name","age"],"additionalProperties":false}}}}""");
        assertThat(r.status()).isEqualTo(200);
        JsonNode out = TestServer.JSON.readTree(r.json().at("/output/0/content/0/text").asText());
        assertThat(out.get("name").isTextual()).isTrue();
        assertThat(out.get("age").isIntegralNumber()).isTrue();
        assertThat(r.json().at("/text/format/type").asText()).isEqualTo("json_schema");
    }

    static final String WEATHER = """
            {"type":"function","name":"get_weather","description":"Weather for a city","strict":true,
             "parameters":{"type":"object","properties":{"city":{"type":"string","maxLength":10}},"required":["city"],"additionalProperties":false}}""";

    @Test
    void functionCallsGoOutAndTheirOutputsComeBack() throws Exception {
        var r = s.post("/v1/responses", "{\"model\":\"stories260K\",\"input\":\"Weather in Paris?\",\"max_output_tokens\":60,\"temperature\":0,"
                + "\"tools\":[" + WEATHER + "],\"tool_choice\":\"required\"}");
        assertThat(r.status()).as(r.raw().body()).isEqualTo(200);
        JsonNode call = r.json().at("/output/0");
        assertThat(call.get("type").asText()).isEqualTo("function_call");
        assertThat(call.get("name").asText()).isEqualTo("get_weather");
        assertThat(call.get("id").asText()).startsWith("fc_");
        assertThat(TestServer.JSON.readTree(call.get("arguments").asText()).get("city").isTextual()).isTrue();
        String callId = call.get("call_id").asText();
        assertThat(callId).isNotEmpty();

        var answer = s.post("/v1/responses", "{\"model\":\"stories260K\",\"previous_response_id\":\"" + r.json().get("id").asText()
                + "\",\"input\":[{\"type\":\"function_call_output\",\"call_id\":\"" + callId + "\",\"output\":\"Sunny, 21 C\"}],\"max_output_tokens\":8,\"temperature\":0}");
        assertThat(answer.status()).as(answer.raw().body()).isEqualTo(200);
        assertThat(answer.json().at("/output/0/type").asText()).isEqualTo("message");
        // the same without the stored response: the call and its output given as input items
        var stateless = s.post("/v1/responses", "{\"model\":\"stories260K\",\"input\":[{\"role\":\"user\",\"content\":\"Weather in Paris?\"},"
                + Json.write(call) + ",{\"type\":\"function_call_output\",\"call_id\":\"" + callId + "\",\"output\":\"Sunny, 21 C\"}],"
                + "\"tools\":[" + WEATHER + "],\"max_output_tokens\":8,\"temperature\":0}");
        assertThat(stateless.status()).isEqualTo(200);
        var unanswered = s.post("/v1/responses", "{\"model\":\"stories260K\",\"input\":[{\"type\":\"function_call_output\",\"call_id\":\"call_x\",\"output\":\"1\"}]}");
        assertThat(unanswered.status()).as("an output that answers no call").isEqualTo(400);

        List<String> events = s.streamEvents("/v1/responses", "{\"model\":\"stories260K\",\"input\":\"Weather in Paris?\",\"max_output_tokens\":60,"
                + "\"temperature\":0,\"stream\":true,\"tools\":[" + WEATHER + "],\"tool_choice\":\"required\"}");
        assertThat(events).contains("response.function_call_arguments.delta", "response.function_call_arguments.done", "response.output_item.done");
        assertThat(events.getLast()).isEqualTo("response.completed");
    }

    /** A streamed function call as the SDK reads it: every event parses, and the arguments add up to the call. */
    @Test
    void theSdkReadsAStreamedFunctionCall() throws Exception {
        var tool = com.openai.models.responses.FunctionTool.builder().name("get_weather").strict(true)
                .parameters(com.openai.models.responses.FunctionTool.Parameters.builder()
                        .putAdditionalProperty("type", com.openai.core.JsonValue.from("object"))
                        .putAdditionalProperty("properties", com.openai.core.JsonValue.from(java.util.Map.of("city", java.util.Map.of("type", "string", "maxLength", 10))))
                        .putAdditionalProperty("required", com.openai.core.JsonValue.from(List.of("city")))
                        .putAdditionalProperty("additionalProperties", com.openai.core.JsonValue.from(false)).build()).build();
        StringBuilder deltas = new StringBuilder();
        List<ResponseStreamEvent> events = new ArrayList<>();
        try (StreamResponse<ResponseStreamEvent> stream = client.responses().createStreaming(params("Weather in Paris?").maxOutputTokens(60)
                .addTool(tool).toolChoice(com.openai.models.responses.ToolChoiceOptions.REQUIRED).build())) {
            stream.stream().forEach(e -> {
                events.add(e);
                e.functionCallArgumentsDelta().ifPresent(d -> deltas.append(d.delta()));
            });
        }
        var done = events.stream().filter(ResponseStreamEvent::isFunctionCallArgumentsDone).findFirst().orElseThrow().asFunctionCallArgumentsDone();
        assertThat(done.arguments()).isEqualTo(deltas.toString());
        assertThat(TestServer.JSON.readTree(done.arguments()).get("city").isTextual()).isTrue();
        var item = events.stream().filter(ResponseStreamEvent::isOutputItemDone).findFirst().orElseThrow().asOutputItemDone().item();
        assertThat(item.asFunctionCall().name()).isEqualTo("get_weather");
        assertThat(item.asFunctionCall().callId()).isNotEmpty();
        Response whole = events.getLast().asCompleted().response();
        assertThat(whole.output().getFirst().asFunctionCall().arguments()).isEqualTo(done.arguments());
    }

    /** With a database, kept responses outlive the server that answered them and are found by another server on it. */
    @Test
    void keptResponsesLiveInTheDatabase(@TempDir Path dir) throws Exception {
        Database db = Database.sqlite(dir.resolve("genset.db"));
        String body = "{\"model\":\"stories260K\",\"input\":\"Tell me about Lily.\",\"max_output_tokens\":8,\"temperature\":0}";
        TestServer.Reply first;
        try (Gateway gateway = Gateway.open(GatewayConfig.of(db)); TestServer one = new TestServer(c -> c, gateway)) {
            first = one.post("/v1/responses", body);
            assertThat(first.status()).isEqualTo(200);
        }
        String id = first.json().get("id").asText();
        try (Gateway gateway = Gateway.open(GatewayConfig.of(db)); TestServer two = new TestServer(c -> c, gateway)) {
            var kept = two.get("/v1/responses/" + id);
            assertThat(kept.status()).isEqualTo(200);
            assertThat(kept.json().at("/output/0/content/0/text").asText()).isEqualTo(first.json().at("/output/0/content/0/text").asText());
            var next = two.post("/v1/responses", "{\"model\":\"stories260K\",\"input\":\"And then?\",\"previous_response_id\":\"" + id
                    + "\",\"max_output_tokens\":4,\"temperature\":0}");
            assertThat(next.status()).as(next.raw().body()).isEqualTo(200);
            assertThat(next.json().at("/usage/input_tokens").asInt()).isGreaterThan(first.json().at("/usage/input_tokens").asInt());
        }
    }

    /** With API keys, a kept response belongs to its key's scope: another key neither reads nor continues it. */
    @Test
    void keptResponsesStayWithTheirOwner(@TempDir Path dir) throws Exception {
        String admin = "admin-secret-for-responses";
        try (Gateway gateway = Gateway.open(GatewayConfig.of(Database.sqlite(dir.resolve("genset.db"))).withAdminKey(admin));
             TestServer g = new TestServer(c -> c, gateway)) {
            String a = g.send("POST", "/admin/keys", "{\"name\":\"a\"}", "Authorization", "Bearer " + admin).json().get("key").asText();
            String b = g.send("POST", "/admin/keys", "{\"name\":\"b\"}", "Authorization", "Bearer " + admin).json().get("key").asText();
            var r = g.post("/v1/responses", "{\"model\":\"stories260K\",\"input\":\"Hi\",\"max_output_tokens\":4}", "Authorization", "Bearer " + a);
            assertThat(r.status()).isEqualTo(200);
            String id = r.json().get("id").asText();
            assertThat(g.send("GET", "/v1/responses/" + id, null, "Authorization", "Bearer " + a).status()).isEqualTo(200);
            assertThat(g.send("GET", "/v1/responses/" + id, null, "Authorization", "Bearer " + b).status()).isEqualTo(404);
            assertThat(g.post("/v1/responses", "{\"model\":\"stories260K\",\"input\":\"Go on\",\"previous_response_id\":\"" + id + "\"}",
                    "Authorization", "Bearer " + b).status()).isEqualTo(404);
            assertThat(g.send("DELETE", "/v1/responses/" + id, null, "Authorization", "Bearer " + b).status()).isEqualTo(404);
            assertThat(g.send("DELETE", "/v1/responses/" + id, null, "Authorization", "Bearer " + a).status()).isEqualTo(200);
        }
    }
}
