package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionNamedToolChoice;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.genset.server.ServerApiTest.assertError;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Function calling against a live server with the bundled stories260K model, which never calls a tool by
 * itself: with tool_choice "required" or a named function, decoding is constrained to a call, so the
 * reply must be a call whose arguments follow the tool's schema. Raw HTTP and the official SDK.
 */
@Timeout(180)
class ToolCallingTest {
    static TestServer s;
    static OpenAIClient client;

    static final String WEATHER = """
            {"type": "function", "function": {"name": "get_weather", "description": "The weather in a city",
              "parameters": {"type": "object", "properties": {"city": {"type": "string", "enum": ["Paris", "Rome", "Oslo"]},
                "days": {"type": "integer"}, "metric": {"type": "boolean"}}, "required": ["city", "days", "metric"], "additionalProperties": false}}}""";
    static final String TIME = """
            {"type": "function", "function": {"name": "get_time", "description": "The time in a zone",
              "parameters": {"type": "object", "properties": {"zone": {"enum": ["UTC", "CET"]}, "seconds": {"type": "boolean"}},
                "required": ["zone", "seconds"]}}}""";

    @BeforeAll
    static void start() throws Exception {
        s = new TestServer(c -> c.withContextSize(1024));
        client = OpenAIOkHttpClient.builder().baseUrl(s.base + "/v1").apiKey("unused").maxRetries(0).timeout(Duration.ofSeconds(90)).build();
    }

    @AfterAll
    static void stop() {
        client.close();
        s.close();
    }

    static String request(String tools, String choice, String extra) {
        return "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":\"What is the weather in Paris?\"}],"
                + "\"max_tokens\":120,\"temperature\":0,\"tools\":[" + tools + "]" + (choice == null ? "" : ",\"tool_choice\":" + choice) + extra + "}";
    }

    static void checkWeather(JsonNode args) {
        assertThat(args.get("city").asText()).isIn("Paris", "Rome", "Oslo");
        assertThat(args.get("days").isIntegralNumber()).as(args.toString()).isTrue();
        assertThat(args.get("metric").isBoolean()).as(args.toString()).isTrue();
        assertThat(args.size()).isEqualTo(3);
    }

    static void checkTime(JsonNode args) {
        assertThat(args.get("zone").asText()).isIn("UTC", "CET");
        assertThat(args.get("seconds").isBoolean()).as(args.toString()).isTrue();
    }

    @Test
    void requiredGivesACallWhoseArgumentsFollowTheSchema() throws Exception {
        var r = s.post("/v1/chat/completions", request(WEATHER, "\"required\"", ""));
        assertThat(r.status()).as(String.valueOf(r.json())).isEqualTo(200);
        JsonNode c = r.json().at("/choices/0");
        assertThat(c.get("finish_reason").asText()).as(c.toString()).isEqualTo("tool_calls");
        JsonNode msg = c.get("message");
        assertThat(msg.get("role").asText()).isEqualTo("assistant");
        assertThat(msg.get("content").isNull()).isTrue();
        JsonNode calls = msg.get("tool_calls");
        assertThat(calls.size()).isEqualTo(1);
        JsonNode call = calls.get(0);
        assertThat(call.get("id").asText()).startsWith("call_");
        assertThat(call.get("type").asText()).isEqualTo("function");
        assertThat(call.at("/function/name").asText()).isEqualTo("get_weather");
        assertThat(call.at("/function/arguments").isTextual()).isTrue();
        checkWeather(TestServer.parse(call.at("/function/arguments").asText()));
        assertThat(r.json().at("/usage/completion_tokens").asInt()).isPositive();
    }

    @Test
    void aNamedFunctionAmongSeveralIsTheOneCalled() throws Exception {
        var r = s.post("/v1/chat/completions", request(WEATHER + "," + TIME, "{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}", ""));
        assertThat(r.status()).as(String.valueOf(r.json())).isEqualTo(200);
        assertThat(r.json().at("/choices/0/finish_reason").asText()).isEqualTo("tool_calls");
        JsonNode call = r.json().at("/choices/0/message/tool_calls/0");
        assertThat(call.at("/function/name").asText()).isEqualTo("get_time");
        checkTime(TestServer.parse(call.at("/function/arguments").asText()));
    }

    @Test
    void aToolWithoutParametersIsCalledWithEmptyArguments() throws Exception {
        var r = s.post("/v1/chat/completions", request("{\"type\":\"function\",\"function\":{\"name\":\"now\"}}", "\"required\"", ""));
        assertThat(r.status()).as(String.valueOf(r.json())).isEqualTo(200);
        assertThat(r.json().at("/choices/0/finish_reason").asText()).isEqualTo("tool_calls");
        assertThat(r.json().at("/choices/0/message/tool_calls/0/function/name").asText()).isEqualTo("now");
        assertThat(r.json().at("/choices/0/message/tool_calls/0/function/arguments").asText()).isEqualTo("{}");
    }

    @Test
    void requiredAmongSeveralToolsFollowsTheChosenToolsSchema() throws Exception {
        for (String user : List.of("Tell me a story.", "What time is it?", "Once upon a time")) {
            String body = request(WEATHER + "," + TIME, "\"required\"", ",\"temperature\":0.9,\"seed\":" + user.length())
                    .replace("What is the weather in Paris?", user).replace("\"temperature\":0,", "");
            var r = s.post("/v1/chat/completions", body);
            assertThat(r.status()).as(String.valueOf(r.json())).isEqualTo(200);
            assertThat(r.json().at("/choices/0/finish_reason").asText()).as(r.json().toString()).isEqualTo("tool_calls");
            JsonNode call = r.json().at("/choices/0/message/tool_calls/0");
            JsonNode args = TestServer.parse(call.at("/function/arguments").asText());
            if (call.at("/function/name").asText().equals("get_weather")) checkWeather(args);
            else {
                assertThat(call.at("/function/name").asText()).isEqualTo("get_time");
                checkTime(args);
            }
        }
    }

    @Test
    void streamedCallArrivesAsOpenAiDeltas() throws Exception {
        List<String> data = s.stream("/v1/chat/completions", request(WEATHER, "\"required\"", ",\"stream\":true"));
        assertThat(data.getLast()).isEqualTo("[DONE]");
        List<JsonNode> deltas = new ArrayList<>();
        String finish = null;
        for (String d : data.subList(0, data.size() - 1)) {
            JsonNode chunk = TestServer.parse(d);
            assertThat(chunk.get("object").asText()).isEqualTo("chat.completion.chunk");
            JsonNode ch = chunk.at("/choices/0");
            if (ch.at("/delta/tool_calls").isArray()) deltas.add(ch.at("/delta/tool_calls/0"));
            if (!ch.get("finish_reason").isNull()) finish = ch.get("finish_reason").asText();
            assertThat(ch.at("/delta/content").asText("")).isEmpty(); // nothing of the call leaks into content
        }
        assertThat(finish).isEqualTo("tool_calls");
        assertThat(deltas).isNotEmpty();
        JsonNode first = deltas.getFirst();
        assertThat(first.get("index").asInt()).isZero();
        assertThat(first.get("id").asText()).startsWith("call_");
        assertThat(first.get("type").asText()).isEqualTo("function");
        assertThat(first.at("/function/name").asText()).isEqualTo("get_weather");
        assertThat(first.at("/function/arguments").asText()).isEmpty();
        StringBuilder args = new StringBuilder();
        for (JsonNode d : deltas) {
            assertThat(d.get("index").asInt()).isZero();
            args.append(d.at("/function/arguments").asText());
        }
        checkWeather(TestServer.parse(args.toString()));
    }

    static final String TRIP = """
            {"type": "function", "function": {"name": "plan_trip", "description": "Plans a trip",
              "parameters": {"type": "object", "properties": {"cities": {"type": "array", "items": {"enum": ["Paris", "Rome", "Oslo"]}, "minItems": 4, "maxItems": 6},
                "note": {"enum": ["Pack an umbrella, a warm coat and \\"good\\" shoes \u00e0 la fran\u00e7aise"]}, "metric": {"type": "boolean"}},
                "required": ["cities", "note", "metric"], "additionalProperties": false}}}""";

    @Test
    void aForcedCallsArgumentsStreamInFragmentsThatAddUpToTheWholeReplysArguments() throws Exception {
        for (String choice : List.of("\"required\"", "{\"type\":\"function\",\"function\":{\"name\":\"plan_trip\"}}")) {
            String body = request(TRIP, choice, "").replace("\"max_tokens\":120", "\"max_tokens\":200");
            var whole = s.post("/v1/chat/completions", body);
            assertThat(whole.status()).as(String.valueOf(whole.json())).isEqualTo(200);
            assertThat(whole.json().at("/choices/0/finish_reason").asText()).isEqualTo("tool_calls");
            String arguments = whole.json().at("/choices/0/message/tool_calls/0/function/arguments").asText();
            assertThat(TestServer.parse(arguments).get("cities").size()).isBetween(4, 6);

            List<String> data = s.stream("/v1/chat/completions", body.replace("\"max_tokens\"", "\"stream\":true,\"max_tokens\""));
            List<String> fragments = new ArrayList<>();
            int starts = 0;
            for (String d : data.subList(0, data.size() - 1)) {
                JsonNode call = TestServer.parse(d).at("/choices/0/delta/tool_calls/0");
                if (call.isMissingNode()) continue;
                assertThat(call.get("index").asInt()).isZero();
                if (call.has("id")) {
                    starts++;
                    assertThat(fragments).as("the call starts before its arguments").isEmpty();
                    assertThat(call.at("/function/name").asText()).isEqualTo("plan_trip");
                    assertThat(call.at("/function/arguments").asText()).isEmpty();
                } else {
                    assertThat(call.at("/function").has("name")).isFalse();
                    fragments.add(call.at("/function/arguments").asText());
                }
            }
            assertThat(starts).isEqualTo(1);
            assertThat(fragments).as("arguments sent as they were generated").hasSizeGreaterThan(5);
            assertThat(String.join("", fragments)).isEqualTo(arguments);
            assertThat(TestServer.parse(data.get(data.size() - 2)).at("/choices/0/finish_reason").asText()).isEqualTo("tool_calls");
        }
    }

    @Test
    void autoWithAModelThatNeverCallsGivesPlainContent() throws Exception {
        for (String choice : new String[] {null, "\"auto\"", "\"none\""}) {
            var r = s.post("/v1/chat/completions", request(WEATHER, choice, "").replace("\"max_tokens\":120", "\"max_tokens\":20"));
            assertThat(r.status()).as(String.valueOf(r.json())).isEqualTo(200);
            JsonNode c = r.json().at("/choices/0");
            assertThat(c.get("finish_reason").asText()).isIn("stop", "length");
            assertThat(c.at("/message/content").asText()).isNotEmpty();
            assertThat(c.at("/message").has("tool_calls")).isFalse();
        }
        List<String> data = s.stream("/v1/chat/completions", request(WEATHER, "\"auto\"", ",\"stream\":true").replace("\"max_tokens\":120", "\"max_tokens\":20"));
        StringBuilder text = new StringBuilder();
        for (String d : data.subList(0, data.size() - 1)) text.append(TestServer.parse(d).at("/choices/0/delta/content").asText(""));
        String whole = s.post("/v1/chat/completions", request(WEATHER, "\"auto\"", "").replace("\"max_tokens\":120", "\"max_tokens\":20"))
                .json().at("/choices/0/message/content").asText();
        assertThat(text.toString()).isEqualTo(whole);
    }

    @Test
    void multiTurnWithAToolCallAndItsResultIsAccepted() throws Exception {
        String body = """
                {"model": "stories260K", "max_tokens": 10, "temperature": 0, "tools": [%s],
                 "messages": [
                   {"role": "system", "content": "You are helpful."},
                   {"role": "user", "content": "What is the weather in Paris?"},
                   {"role": "assistant", "content": null, "tool_calls": [
                      {"id": "call_abc", "type": "function", "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\", \\"days\\": 1, \\"metric\\": true}"}}]},
                   {"role": "tool", "tool_call_id": "call_abc", "content": "22 degrees and sunny"},
                   {"role": "user", "content": "And tomorrow?"}]}""".formatted(WEATHER);
        var r = s.post("/v1/chat/completions", body);
        assertThat(r.status()).as(String.valueOf(r.json())).isEqualTo(200);
        assertThat(r.json().at("/choices/0/finish_reason").asText()).isIn("stop", "length");
        // the conversation reached the prompt: it is longer than the same request without the tool turns
        var shorter = s.post("/v1/chat/completions", body.replaceAll("(?s)\\{\"role\": \"assistant\".*?\"content\": \"22 degrees and sunny\"},", ""));
        assertThat(shorter.status()).as(String.valueOf(shorter.json())).isEqualTo(200);
        assertThat(r.json().at("/usage/prompt_tokens").asInt()).isGreaterThan(shorter.json().at("/usage/prompt_tokens").asInt() + 20);
    }

    @Test
    void invalidToolRequestsAre400WithTheParam() throws Exception {
        String user = "{\"role\":\"user\",\"content\":\"hi\"}";
        assertError(s.post("/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":[" + user + "],\"tools\":{\"type\":\"function\"}}"),
                400, "invalid_request_error", "tools");
        assertError(s.post("/v1/chat/completions", request("{\"type\":\"function\",\"function\":{\"description\":\"x\"}}", null, "")),
                400, "invalid_request_error", "tools[0].function.name");
        assertError(s.post("/v1/chat/completions", request("{\"type\":\"function\"}", null, "")), 400, "invalid_request_error", "tools[0].function");
        assertError(s.post("/v1/chat/completions", request("{\"type\":\"retrieval\",\"function\":{\"name\":\"a\"}}", null, "")),
                400, "invalid_request_error", "tools[0].type");
        assertError(s.post("/v1/chat/completions", request(WEATHER + "," + WEATHER, null, "")), 400, "invalid_request_error", "tools[1].function.name");
        assertError(s.post("/v1/chat/completions", request("{\"type\":\"function\",\"function\":{\"name\":\"a b\"}}", null, "")),
                400, "invalid_request_error", "tools[0].function.name");
        assertError(s.post("/v1/chat/completions", request("{\"type\":\"function\",\"function\":{\"name\":\"a\",\"parameters\":{\"type\":\"string\"}}}", null, "")),
                400, "invalid_request_error", "tools[0].function.parameters");
        assertError(s.post("/v1/chat/completions", request("{\"type\":\"function\",\"function\":{\"name\":\"a\",\"parameters\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"banana\"}}}}}", null, "")),
                400, "invalid_request_error", "tools[0].function.parameters");
        assertError(s.post("/v1/chat/completions", request(WEATHER, "{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}", "")),
                400, "invalid_request_error", "tool_choice");
        assertError(s.post("/v1/chat/completions", request(WEATHER, "\"sometimes\"", "")), 400, "invalid_request_error", "tool_choice");
        assertError(s.post("/v1/chat/completions", request(WEATHER, "\"auto\"", ",\"parallel_tool_calls\":\"yes\"")), 400, "invalid_request_error", "parallel_tool_calls");
        assertError(s.post("/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":[" + user + "],\"tool_choice\":\"required\"}"),
                400, "invalid_request_error", "tool_choice");
        // messages
        String call = "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{}\"}}]}";
        assertError(s.post("/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":[" + user + "," + call + ",{\"role\":\"tool\",\"content\":\"x\"}]}"),
                400, "invalid_request_error", "messages[2].tool_call_id");
        assertError(s.post("/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":[" + user + "," + call + ",{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":\"x\"}]}"),
                400, "invalid_request_error", "messages[2].tool_call_id");
        assertError(s.post("/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":[" + user + ",{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"x\"}]}"),
                400, "invalid_request_error", "messages[1].role");
        assertError(s.post("/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\",\"tool_calls\":[]}]}"),
                400, "invalid_request_error", "messages[0].tool_calls");
        assertError(s.post("/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":[" + user + "," + call.replace("\"id\":\"call_1\",", "") + "]}"),
                400, "invalid_request_error", "messages[1].tool_calls[0].id");
        assertError(s.post("/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":[" + user + "," + call.replace("\"name\":\"get_weather\",", "") + "]}"),
                400, "invalid_request_error", "messages[1].tool_calls[0].function.name");
        assertError(s.post("/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":[" + user + "," + call.replace("\"arguments\":\"{}\"", "\"arguments\":3") + "]}"),
                400, "invalid_request_error", "messages[1].tool_calls[0].function.arguments");
    }

    // ---- the official SDK ----------------------------------------------------------------------------

    static FunctionDefinition weatherFunction() {
        return FunctionDefinition.builder().name("get_weather").description("The weather in a city")
                .parameters(FunctionParameters.builder()
                        .putAdditionalProperty("type", JsonValue.from("object"))
                        .putAdditionalProperty("properties", JsonValue.from(Map.of(
                                "city", Map.of("type", "string", "enum", List.of("Paris", "Rome", "Oslo")),
                                "days", Map.of("type", "integer"),
                                "metric", Map.of("type", "boolean"))))
                        .putAdditionalProperty("required", JsonValue.from(List.of("city", "days", "metric")))
                        .putAdditionalProperty("additionalProperties", JsonValue.from(false))
                        .build())
                .build();
    }

    static ChatCompletionCreateParams.Builder sdkRequest() {
        return ChatCompletionCreateParams.builder().model("stories260K").addUserMessage("What is the weather in Paris?")
                .maxCompletionTokens(120).temperature(0.0).addFunctionTool(weatherFunction());
    }

    @Test
    void sdkGetsTheCall() {
        ChatCompletion.Choice choice = client.chat().completions().create(sdkRequest().toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).build())
                .choices().getFirst();
        ChatCompletionMessageFunctionToolCall call = theWeatherCall(choice);

        // the call and its result go back in the next turn
        ChatCompletion next = client.chat().completions().create(sdkRequest().addMessage(choice.message())
                .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("22 degrees").build())
                .maxCompletionTokens(8).build());
        assertThat(next.choices().getFirst().message().content()).isPresent();
    }

    @Test
    void sdkStreamAccumulatesTheCall() {
        ChatCompletionAccumulator acc = ChatCompletionAccumulator.create();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(sdkRequest()
                .toolChoice(ChatCompletionNamedToolChoice.builder().function(ChatCompletionNamedToolChoice.Function.builder().name("get_weather").build()).build())
                .build())) {
            stream.stream().forEach(acc::accumulate);
        }
        theWeatherCall(acc.chatCompletion().choices().getFirst());
    }

    /** The choice ended in exactly one call of get_weather with valid arguments; returns it. */
    private static ChatCompletionMessageFunctionToolCall theWeatherCall(ChatCompletion.Choice choice) {
        assertThat(choice.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
        var calls = choice.message().toolCalls().orElseThrow();
        assertThat(calls).hasSize(1);
        ChatCompletionMessageFunctionToolCall call = calls.getFirst().asFunction();
        assertThat(call.id()).startsWith("call_");
        assertThat(call.function().name()).isEqualTo("get_weather");
        checkWeather(TestServer.parse(call.function().arguments()));
        return call;
    }
}
