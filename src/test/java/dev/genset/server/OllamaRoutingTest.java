package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.genset.gateway.Gateway;
import dev.genset.gateway.GatewayConfig;
import dev.genset.store.Database;
import dev.genset.store.Deployments;
import dev.genset.store.UsageRow;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import com.sun.net.httpserver.HttpServer;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Ollama's chat and generate routes for a model only an upstream provider serves (a second Genset
 * on loopback, reached as an OpenAI-compatible endpoint): the answer comes back in Ollama's shape,
 * whole or as newline-delimited JSON, with the same text the upstream gives over its own API, and
 * the request is booked once under the deployment with the upstream's token counts. Anthropic's
 * /v1/messages routes the same way (its tests at the end).
 */
@Timeout(120)
class OllamaRoutingTest {
    @TempDir
    static java.nio.file.Path dir;
    static Gateway gateway;
    static TestServer up, s;
    /** An upstream that answers every chat with a call of get_weather for Paris, whole or streamed in pieces. */
    static HttpServer toolUpstream;
    static final AtomicReference<JsonNode> lastToolRequest = new AtomicReference<>();

    @BeforeAll
    static void start() throws Exception {
        up = new TestServer(c -> c.withContextSize(2048));
        gateway = Gateway.open(GatewayConfig.of(Database.sqlite(dir.resolve("genset.db"))));
        gateway.admin().putDeployment(new Deployments.Row("remote", "tale", "openai", up.base + "/v1", null, "stories260K", 1, 1, 30_000L));
        toolUpstream = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        toolUpstream.createContext("/", ex -> {
            if (ex.getRequestURI().getPath().startsWith("/broken/")) { // a proxy's error page, with a 200
                byte[] page = "<html>upstream gone</html>".getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().add("Content-Type", "text/html");
                ex.sendResponseHeaders(200, page.length);
                ex.getResponseBody().write(page);
                ex.close();
                return;
            }
            JsonNode req = TestServer.JSON.readTree(ex.getRequestBody().readAllBytes());
            lastToolRequest.set(req);
            boolean stream = req.path("stream").asBoolean(false);
            String call = "\"function\":{\"name\":\"get_weather\",\"arguments\":";
            String body = stream
                    ? sse("{\"role\":\"assistant\",\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"type\":\"function\"," + call + "\"\"}}]}", null)
                      + sse("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]}", null)
                      + sse("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Paris\\\"}\"}}]}", null)
                      + sse("{}", "tool_calls")
                      + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":7,\"total_tokens\":19}}\n\ndata: [DONE]\n\n"
                    : "{\"id\":\"x\",\"object\":\"chat.completion\",\"model\":\"helper\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                      + "\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\"," + call + "\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},"
                      + "\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":7,\"total_tokens\":19}}";
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", stream ? "text/event-stream" : "application/json");
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        toolUpstream.start();
        gateway.admin().putDeployment(new Deployments.Row("tool-up", "helper", "openai",
                "http://127.0.0.1:" + toolUpstream.getAddress().getPort() + "/v1", null, null, 1, 1, 30_000L));
        gateway.admin().putDeployment(new Deployments.Row("broken-up", "broken", "openai",
                "http://127.0.0.1:" + toolUpstream.getAddress().getPort() + "/broken/v1", null, null, 1, 1, 30_000L));
        gateway.reloadRoutes();
        s = new TestServer(c -> c, gateway);
    }

    @AfterAll
    static void stop() {
        if (s != null) s.close();
        if (gateway != null) gateway.close();
        if (up != null) up.close();
        if (toolUpstream != null) toolUpstream.stop(0);
    }

    @Test
    void embedGoesUpstreamForARoutedModel() throws Exception {
        var r = s.post("/api/embed", "{\"model\":\"tale\",\"input\":\"Once upon a time\"}");
        assertThat(r.status()).as(r.raw().body()).isEqualTo(200);
        var direct = up.post("/v1/embeddings", "{\"model\":\"stories260K\",\"input\":\"Once upon a time\"}");
        assertThat(r.json().at("/embeddings/0")).isEqualTo(direct.json().at("/data/0/embedding"));
        assertThat(r.json().get("prompt_eval_count").asLong()).isEqualTo(direct.json().at("/usage/prompt_tokens").asLong());
    }

    /** One streamed chat chunk with this delta (and finish reason, or null). */
    static String sse(String delta, String finish) {
        return "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":" + delta
                + ",\"finish_reason\":" + (finish == null ? "null" : "\"" + finish + "\"") + "}]}\n\n";
    }

    /** What the upstream itself answers to an OpenAI chat of these messages (greedy, so the same every time). */
    static String upstreamChat(String messages, int maxTokens) throws Exception {
        var r = up.post("/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":" + messages + ",\"max_tokens\":" + maxTokens + ",\"temperature\":0}");
        assertThat(r.status()).as(r.raw().body()).isEqualTo(200);
        return r.json().at("/choices/0/message/content").asText();
    }

    /** A greedy /api/chat to the routed model; a stream is asked for by leaving "stream" out, as Ollama streams by default. */
    static TestServer.Reply routedChat(String messages, int numPredict, boolean stream) throws Exception {
        var r = s.post("/api/chat", "{\"model\":\"tale\",\"messages\":" + messages + (stream ? "" : ",\"stream\":false")
                + ",\"options\":{\"temperature\":0,\"num_predict\":" + numPredict + "}}");
        assertThat(r.status()).as(r.raw().body()).isEqualTo(200);
        return r;
    }

    static UsageRow row(TestServer.Reply r) throws InterruptedException {
        return GatewayServerTest.bookedRow(gateway, r.raw().headers().firstValue("x-request-id").orElseThrow());
    }

    /** The lines of an NDJSON body, parsed. */
    static List<JsonNode> lines(TestServer.Reply r) {
        assertThat(r.raw().headers().firstValue("Content-Type").orElse("")).startsWith("application/x-ndjson");
        List<JsonNode> out = new ArrayList<>();
        for (String l : r.raw().body().split("\n")) if (!l.isBlank()) out.add(TestServer.parse(l));
        return out;
    }

    @Test
    void tagsListTheRoutedModelAndShowAnswersForIt() throws Exception {
        var tags = s.get("/api/tags");
        assertThat(tags.status()).isEqualTo(200);
        List<String> names = new ArrayList<>();
        for (JsonNode m : tags.json().get("models")) names.add(m.get("name").asText());
        assertThat(names).contains("tale", "stories260K").doesNotHaveDuplicates();
        var show = s.post("/api/show", "{\"model\":\"tale\"}");
        assertThat(show.status()).as(show.raw().body()).isEqualTo(200);
        assertThat(show.json().get("modelfile").asText()).contains("FROM tale");
        assertThat(show.json().has("details")).isTrue();
        assertThat(s.post("/api/show", "{\"model\":\"no-such-model\"}").status()).isEqualTo(404);
    }

    @Test
    void aWholeChatComesBackInOllamasShapeAndIsBookedOnce() throws Exception {
        String messages = "[{\"role\":\"user\",\"content\":\"Tell me a story\"}]";
        String expected = upstreamChat(messages, 8);
        var r = routedChat(messages, 8, false);
        JsonNode j = r.json();
        assertThat(j.get("model").asText()).isEqualTo("tale");
        assertThat(j.at("/message/role").asText()).isEqualTo("assistant");
        assertThat(j.at("/message/content").asText()).isEqualTo(expected).isNotEmpty();
        assertThat(j.get("done").asBoolean()).isTrue();
        assertThat(j.get("done_reason").asText()).isIn("stop", "length");
        UsageRow u = row(r);
        assertThat(u.deployment()).isEqualTo("remote");
        assertThat(u.model()).isEqualTo("tale");
        assertThat(j.get("eval_count").asLong()).isEqualTo(u.completionTokens()).isPositive();
        assertThat(j.get("prompt_eval_count").asLong()).isEqualTo(u.promptTokens()).isPositive();
    }

    @Test
    void aStreamedChatComesAsLinesWithTheSameText() throws Exception {
        String messages = "[{\"role\":\"user\",\"content\":\"Once upon a time\"}]";
        String expected = upstreamChat(messages, 10);
        var r = routedChat(messages, 10, true);
        List<JsonNode> lines = lines(r);
        assertThat(lines.size()).isGreaterThan(2);
        StringBuilder text = new StringBuilder();
        for (JsonNode l : lines.subList(0, lines.size() - 1)) {
            assertThat(l.get("done").asBoolean()).isFalse();
            text.append(l.at("/message/content").asText());
        }
        JsonNode last = lines.getLast();
        assertThat(last.get("done").asBoolean()).as(last.toString()).isTrue();
        assertThat(text.toString()).isEqualTo(expected);
        UsageRow u = row(r);
        assertThat(u.deployment()).isEqualTo("remote");
        assertThat(last.get("eval_count").asLong()).isEqualTo(u.completionTokens()).isPositive();
    }

    @Test
    void generateIsAChatOfSystemAndPromptOrWithRawAPlainCompletion() throws Exception {
        String expected = upstreamChat("[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Lily had a cat\"}]", 6);
        var r = s.post("/api/generate", "{\"model\":\"tale\",\"system\":\"Be brief.\",\"prompt\":\"Lily had a cat\",\"stream\":false,"
                + "\"options\":{\"temperature\":0,\"num_predict\":6}}");
        assertThat(r.status()).as(r.raw().body()).isEqualTo(200);
        assertThat(r.json().get("response").asText()).isEqualTo(expected);
        assertThat(r.json().get("done").asBoolean()).isTrue();

        var plain = up.post("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"Lily had a cat\",\"max_tokens\":6,\"temperature\":0}");
        var raw = s.post("/api/generate", "{\"model\":\"tale\",\"prompt\":\"Lily had a cat\",\"raw\":true,\"options\":{\"temperature\":0,\"num_predict\":6}}");
        assertThat(raw.status()).as(raw.raw().body()).isEqualTo(200);
        StringBuilder text = new StringBuilder();
        for (JsonNode l : lines(raw)) text.append(l.path("response").asText());
        assertThat(text.toString()).isEqualTo(plain.json().at("/choices/0/text").asText()).isNotEmpty();
        assertThat(row(raw).deployment()).isEqualTo("remote");
    }

    @Test
    void anEmptyChatLoadsNothingAndAnUpstreamRefusalKeepsItsStatus() throws Exception {
        var load = s.post("/api/chat", "{\"model\":\"tale\",\"messages\":[]}");
        assertThat(load.status()).isEqualTo(200);
        assertThat(load.json().get("done_reason").asText()).isEqualTo("load");

        var bad = s.post("/api/chat", "{\"model\":\"tale\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":false,"
                + "\"options\":{\"temperature\":-1}}");
        assertThat(bad.status()).as(bad.raw().body()).isEqualTo(400);
        assertThat(bad.json().get("error").asText()).contains("temperature");

        var page = s.post("/api/chat", "{\"model\":\"broken\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":false}");
        assertThat(page.status()).as(page.raw().body()).isEqualTo(502); // not JSON: the upstream's failure, not a 500
        assertThat(page.json().get("error").asText()).contains("broken-up");

        var unknown = s.post("/api/chat", "{\"model\":\"no-such-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(unknown.status()).isEqualTo(404);
        assertThat(unknown.json().has("error")).isTrue();
    }

    @Test
    void toolCallsGoUpstreamWithIdsAndComeBackWithArgumentsAsObjects() throws Exception {
        String tools = "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\","
                + "\"properties\":{\"city\":{\"type\":\"string\"}}}}}]";
        String ask = "{\"role\":\"user\",\"content\":\"Weather in Paris?\"}";
        var whole = s.post("/api/chat", "{\"model\":\"helper\",\"stream\":false,\"tools\":" + tools + ",\"messages\":[" + ask + "]}");
        assertThat(whole.status()).as(whole.raw().body()).isEqualTo(200);
        assertThat(lastToolRequest.get().at("/tools/0/function/name").asText()).isEqualTo("get_weather");
        JsonNode call = whole.json().at("/message/tool_calls/0/function");
        assertThat(call.get("name").asText()).isEqualTo("get_weather");
        assertThat(call.at("/arguments/city").asText()).isEqualTo("Paris"); // an object, not OpenAI's string
        assertThat(whole.json().get("done_reason").asText()).isEqualTo("stop");

        // the call and its result sent back: OpenAI's upstream gets ids that pair them
        var follow = s.post("/api/chat", "{\"model\":\"helper\",\"stream\":false,\"tools\":" + tools + ",\"messages\":[" + ask + ","
                + "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\"}}}]},"
                + "{\"role\":\"tool\",\"content\":\"18 C\",\"tool_name\":\"get_weather\"}]}");
        assertThat(follow.status()).as(follow.raw().body()).isEqualTo(200);
        JsonNode sent = lastToolRequest.get().get("messages");
        String id = sent.at("/1/tool_calls/0/id").asText();
        assertThat(id).isNotEmpty();
        assertThat(TestServer.JSON.readTree(sent.at("/1/tool_calls/0/function/arguments").asText()).get("city").asText()).isEqualTo("Paris");
        assertThat(sent.at("/2/tool_call_id").asText()).isEqualTo(id);

        // streamed: the pieces of the call come back as one line, before the last
        var streamed = s.post("/api/chat", "{\"model\":\"helper\",\"tools\":" + tools + ",\"messages\":[" + ask + "]}");
        assertThat(streamed.status()).as(streamed.raw().body()).isEqualTo(200);
        List<JsonNode> lines = lines(streamed);
        List<JsonNode> withCalls = lines.stream().filter(l -> l.at("/message/tool_calls").isArray()).toList();
        assertThat(withCalls).hasSize(1);
        assertThat(withCalls.getFirst().at("/message/tool_calls/0/function/name").asText()).isEqualTo("get_weather");
        assertThat(withCalls.getFirst().at("/message/tool_calls/0/function/arguments/city").asText()).isEqualTo("Paris");
        assertThat(lines.getLast().get("done").asBoolean()).isTrue();
        assertThat(lines.getLast().get("eval_count").asLong()).isEqualTo(7);
    }

    // ---- Anthropic's /v1/messages for routed models ------------------------------------------

    /** The events of an Anthropic stream: (name, data) pairs. */
    static List<Map.Entry<String, JsonNode>> anthropicEvents(TestServer.Reply r) {
        assertThat(r.raw().headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        List<Map.Entry<String, JsonNode>> out = new ArrayList<>();
        String name = null;
        for (String l : r.raw().body().split("\n")) {
            if (l.startsWith("event: ")) name = l.substring(7);
            else if (l.startsWith("data: ")) out.add(Map.entry(name, TestServer.parse(l.substring(6))));
        }
        return out;
    }

    @Test
    void anAnthropicMessageForARoutedModelHasTheUpstreamsText() throws Exception {
        String expected = upstreamChat("[{\"role\":\"user\",\"content\":\"Once upon a time\"}]", 8);
        var r = s.post("/v1/messages", "{\"model\":\"tale\",\"max_tokens\":8,\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}]}");
        assertThat(r.status()).as(r.raw().body()).isEqualTo(200);
        assertThat(r.json().at("/content/0/text").asText()).isEqualTo(expected);
        UsageRow u = row(r);
        assertThat(u.deployment()).isEqualTo("remote");
        assertThat(r.json().at("/usage/output_tokens").asLong()).isEqualTo(u.completionTokens());

        var streamed = s.post("/v1/messages", "{\"model\":\"tale\",\"max_tokens\":8,\"temperature\":0,\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}]}");
        var events = anthropicEvents(streamed);
        StringBuilder text = new StringBuilder();
        for (var e : events) if (e.getKey().equals("content_block_delta")) text.append(e.getValue().at("/delta/text").asText());
        assertThat(text.toString()).isEqualTo(expected);
        assertThat(events.getFirst().getKey()).isEqualTo("message_start");
        assertThat(events.getLast().getKey()).isEqualTo("message_stop");
        assertThat(events.get(events.size() - 2).getValue().at("/usage/output_tokens").asLong()).isPositive();
    }

    @Test
    void anUpstreamsStreamedToolCallBecomesAToolUseBlock() throws Exception {
        var r = s.post("/v1/messages", "{\"model\":\"helper\",\"max_tokens\":30,\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Weather?\"}],"
                + "\"tools\":[{\"name\":\"get_weather\",\"input_schema\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}],"
                + "\"tool_choice\":{\"type\":\"any\"}}");
        assertThat(r.status()).as(r.raw().body()).isEqualTo(200);
        // what went upstream: OpenAI's tools and a required call
        assertThat(lastToolRequest.get().at("/tools/0/function/name").asText()).isEqualTo("get_weather");
        assertThat(lastToolRequest.get().get("tool_choice").asText()).isEqualTo("required");
        var events = anthropicEvents(r);
        JsonNode start = events.stream().filter(e -> e.getKey().equals("content_block_start")).findFirst().orElseThrow().getValue();
        assertThat(start.at("/content_block/type").asText()).isEqualTo("tool_use");
        assertThat(start.at("/content_block/name").asText()).isEqualTo("get_weather");
        assertThat(start.at("/content_block/id").asText()).isEqualTo("c1");
        StringBuilder json = new StringBuilder();
        for (var e : events) if (e.getKey().equals("content_block_delta")) json.append(e.getValue().at("/delta/partial_json").asText());
        assertThat(TestServer.parse(json.toString()).get("city").asText()).isEqualTo("Paris");
        JsonNode delta = events.stream().filter(e -> e.getKey().equals("message_delta")).findFirst().orElseThrow().getValue();
        assertThat(delta.at("/delta/stop_reason").asText()).isEqualTo("tool_use");
        assertThat(delta.at("/usage/input_tokens").asLong()).isEqualTo(12);
        assertThat(delta.at("/usage/output_tokens").asLong()).isEqualTo(7);
    }
}
