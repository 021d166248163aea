package dev.genset.server;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import dev.genset.gateway.Gateway;
import dev.genset.gateway.GatewayConfig;
import dev.genset.gateway.admin.AdminService;
import dev.genset.store.Database;
import dev.genset.store.Limits;
import dev.genset.store.Deployments;
import dev.genset.store.UsageReports;
import dev.genset.store.UsageRow;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A model held here with deployments, the local engine first and an upstream (a second Genset on
 * loopback) second: requests go through the router; the local engine's full queue falls back to
 * the upstream, its client errors go to the client as they are, streams work, and the ledger
 * books each request once under the deployment that served it. Another public name tries a dead
 * upstream first and the local engine second.
 */
@Timeout(180)
class LocalFallbackTest {
    static final int LOCAL_CTX = 3072, UPSTREAM_CTX = 4096; // the occupying generation fills the local context: several seconds
    @TempDir
    static Path dir;
    static Gateway gateway;
    static TestServer up, s;
    static String[] auth;

    @BeforeAll
    static void start() throws Exception {
        up = new TestServer(c -> c.withParallel(2).withContextSize(UPSTREAM_CTX));
        gateway = Gateway.open(GatewayConfig.of(Database.sqlite(dir.resolve("genset.db"))));
        var admin = gateway.admin();
        admin.putDeployment(new Deployments.Row("engine", "stories260K", "local", null, null, null, 1, 1, null));
        admin.putDeployment(new Deployments.Row("remote", "stories260K", "openai", up.base + "/v1", null, null, 2, 1, 30_000L));
        // the other way round: an upstream that refuses connections first, the local engine second
        admin.putDeployment(new Deployments.Row("dead", "story-b", "openai", "http://127.0.0.1:" + closedPort() + "/v1", null, "stories260K", 1, 1, 5_000L));
        admin.putDeployment(new Deployments.Row("engine-b", "story-b", "local", null, null, "stories260K", 2, 1, null));
        // the upstream alone
        admin.putDeployment(new Deployments.Row("remote-c", "story-c", "openai", up.base + "/v1", null, "stories260K", 1, 1, 30_000L));
        gateway.reloadRoutes();
        auth = new String[] {"Authorization", "Bearer " + admin.createKey(new AdminService.KeySpec("main", null, Limits.NONE, null)).key()};
        // one slot and no queue: a second request for the local engine is refused with 429 at once
        s = new TestServer(c -> c.withParallel(1).withQueueCapacity(0).withContextSize(LOCAL_CTX), gateway);
    }

    @AfterAll
    static void stop() {
        if (s != null) s.close();
        if (gateway != null) gateway.close();
        if (up != null) up.close();
    }

    static int closedPort() throws Exception {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    static String chat(String model, int maxTokens, boolean stream) {
        return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story\"}],\"max_tokens\":" + maxTokens
                + ",\"temperature\":0,\"ignore_eos\":true" + (stream ? ",\"stream\":true" : "") + "}";
    }

    /** The Responses API takes the chat routes: upstream alone, and a dead upstream falling back to the engine; booked once each. */
    @Test
    void responsesTakeTheSameRoutes() throws Exception {
        for (String model : new String[] {"story-c", "story-b"}) {
            var r = s.post("/v1/responses", "{\"model\":\"" + model + "\",\"input\":\"Tell me a story\",\"max_output_tokens\":6,\"temperature\":0}", auth);
            assertThat(r.status()).as(model + ": " + r.raw().body()).isEqualTo(200);
            assertThat(r.json().at("/output/0/content/0/text").asText()).as(model).isNotEmpty();
            UsageRow booked = row(r);
            assertThat(booked.deployment()).isEqualTo(model.equals("story-c") ? "remote-c" : "engine-b");
            assertThat(booked.completionTokens()).isEqualTo(r.json().at("/usage/output_tokens").asLong()).isPositive();
            assertThat(booked.promptTokens()).isEqualTo(r.json().at("/usage/input_tokens").asLong());
            List<String> events = s.streamEvents("/v1/responses", "{\"model\":\"" + model
                    + "\",\"input\":\"Tell me a story\",\"max_output_tokens\":6,\"temperature\":0,\"stream\":true}", auth);
            assertThat(events.getFirst()).isEqualTo("response.created");
            assertThat(events).as(model).contains("response.output_text.delta");
            assertThat(events.getLast()).isIn("response.completed", "response.incomplete");
        }
    }

    static UsageRow row(TestServer.Reply r) throws InterruptedException {
        return GatewayServerTest.bookedRow(gateway, r.raw().headers().firstValue("x-request-id").orElseThrow());
    }

    /** Ledger rows once the requests so far are settled and written. */
    static long settledCount() throws InterruptedException {
        Thread.sleep(150);
        assertThat(gateway.ledger().flush(10_000)).isTrue();
        return new UsageReports(gateway.store()).count();
    }

    static long generatedUpstream() {
        return up.server.scheduler("stories260K").stats().generatedTokens();
    }

    static double chatRequestsUpstream() throws Exception {
        return ServerLifecycleTest.metric(up, "genset_requests_total", "endpoint=\"chat\"");
    }

    @Test
    void embeddingsAreRoutedAndBookedUnderTheDeploymentThatServed() throws Exception {
        String body = "{\"model\":\"%s\",\"input\":[\"Once upon a time\",\"a little dog\"]}";
        var local = s.post("/v1/embeddings", body.formatted("stories260K"), auth);
        var fallback = s.post("/v1/embeddings", body.formatted("story-b"), auth); // the dead upstream first
        var remote = s.post("/v1/embeddings", body.formatted("story-c"), auth);
        for (var r : List.of(local, fallback, remote)) {
            assertThat(r.status()).as(r.raw().body()).isEqualTo(200);
            assertThat(r.json().at("/data")).hasSize(2);
            assertThat(r.json().at("/data/1/embedding")).isEqualTo(local.json().at("/data/1/embedding")); // one model behind every name
        }
        assertThat(row(local).deployment()).isEqualTo("engine");
        assertThat(row(fallback).deployment()).isEqualTo("engine-b");
        UsageRow viaUpstream = row(remote);
        assertThat(viaUpstream.deployment()).isEqualTo("remote-c");
        assertThat(viaUpstream.promptTokens()).isEqualTo(local.json().at("/usage/prompt_tokens").asLong()).isEqualTo(row(local).promptTokens()).isPositive();
        assertThat(viaUpstream.completionTokens()).isZero();
    }

    @Test
    void whileTheEngineHasRoomTheLocalDeploymentServes() throws Exception {
        long before = settledCount();
        long upstreamBefore = generatedUpstream();
        var r = s.post("/v1/chat/completions", chat("stories260K", 6, false), auth);
        assertThat(r.status()).as(r.raw().body()).isEqualTo(200);
        assertThat(r.json().at("/choices/0/message/content").asText()).isNotEmpty();
        UsageRow u = row(r);
        assertThat(u.provider()).isEqualTo("local");
        assertThat(u.deployment()).isEqualTo("engine");
        assertThat(u.model()).isEqualTo("stories260K");
        assertThat(u.promptTokens()).isEqualTo(r.json().at("/usage/prompt_tokens").asLong()).isPositive();
        assertThat(u.completionTokens()).isEqualTo(6);
        assertThat(u.status()).isEqualTo("ok");

        var ollama = s.post("/api/generate", "{\"model\":\"stories260K\",\"prompt\":\"Once\",\"stream\":false,\"options\":{\"num_predict\":3}}", auth);
        assertThat(ollama.status()).isEqualTo(200);
        assertThat(row(ollama).deployment()).as("Ollama's routes are not routed").isNull();

        var text = s.post("/v1/completions", "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"max_tokens\":5,\"temperature\":0,\"ignore_eos\":true}", auth);
        assertThat(text.status()).as(text.raw().body()).isEqualTo(200);
        assertThat(row(text).deployment()).isEqualTo("engine");
        assertThat(row(text).completionTokens()).isEqualTo(5);

        assertThat(generatedUpstream()).isEqualTo(upstreamBefore);
        assertThat(settledCount()).isEqualTo(before + 3);
    }

    @Test
    void aStreamThroughTheLocalDeploymentWorksWithTheOpenAiSdk() throws Exception {
        long upstreamBefore = generatedUpstream();
        UsageReports reports = new UsageReports(gateway.store());
        settledCount();
        UsageReports.Totals engineBefore = engineTotals(reports);
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(s.base + "/v1").apiKey(auth[1].substring(7)).maxRetries(0).timeout(Duration.ofSeconds(60)).build();
        StringBuilder text = new StringBuilder();
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(ChatCompletionCreateParams.builder()
                .model("stories260K").addUserMessage("Tell me a story").maxCompletionTokens(9).temperature(0.0)
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            stream.stream().forEach(chunk -> {
                chunks.add(chunk);
                for (ChatCompletionChunk.Choice ch : chunk.choices()) ch.delta().content().ifPresent(text::append);
            });
        } finally {
            client.close();
        }
        var whole = s.post("/v1/chat/completions", "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story\"}],"
                + "\"max_completion_tokens\":9,\"temperature\":0}", auth);
        assertThat(text.toString()).isNotEmpty().isEqualTo(whole.json().at("/choices/0/message/content").asText());
        long completion = chunks.getLast().usage().orElseThrow().completionTokens();
        assertThat(completion).isEqualTo(whole.json().at("/usage/completion_tokens").asLong());
        assertThat(chunks.get(chunks.size() - 2).choices().getFirst().finishReason()).isPresent();

        settledCount();
        UsageReports.Totals engineAfter = engineTotals(reports); // the stream and the whole answer
        assertThat(engineAfter.requests()).isEqualTo(engineBefore.requests() + 2);
        assertThat(engineAfter.completionTokens()).isEqualTo(engineBefore.completionTokens() + 2 * completion);
        assertThat(engineAfter.errors()).isEqualTo(engineBefore.errors());
        assertThat(generatedUpstream()).isEqualTo(upstreamBefore);
    }

    static UsageReports.Totals engineTotals(UsageReports reports) {
        return reports.totals(UsageReports.Filter.ALL, UsageReports.GroupBy.DEPLOYMENT).stream().filter(t -> "engine".equals(t.group()))
                .findFirst().orElse(new UsageReports.Totals("engine", 0, 0, 0, 0, 0, java.math.BigDecimal.ZERO, 0));
    }

    @Test
    void aFullQueueFallsBackToTheUpstream() throws Exception {
        long before = settledCount();
        String occupier;
        try (Occupier busy = new Occupier()) {
            assertThat(s.server.scheduler("stories260K").stats().busySlots()).isEqualTo(1);
            // Ollama's routes, which are not routed, are refused: the engine really is full
            var refused = s.post("/api/generate", "{\"model\":\"stories260K\",\"prompt\":\"Once\",\"stream\":false}", auth);
            assertThat(refused.status()).isEqualTo(429);
            assertThat(refused.json().get("error").asText()).contains("busy");

            long upstreamBefore = generatedUpstream();
            var r = s.post("/v1/chat/completions", chat("stories260K", 6, false), auth);
            assertThat(r.status()).as(r.raw().body()).isEqualTo(200);
            assertThat(r.json().at("/usage/completion_tokens").asLong()).isEqualTo(6);
            UsageRow u = row(r);
            assertThat(u.provider()).isEqualTo("openai");
            assertThat(u.deployment()).isEqualTo("remote");
            assertThat(u.completionTokens()).isEqualTo(6);
            assertThat(u.status()).isEqualTo("ok");

            var streamed = s.post("/v1/chat/completions", chat("stories260K", 7, true), auth);
            assertThat(streamed.status()).isEqualTo(200);
            List<String> events = streamed.raw().body().lines().filter(l -> l.startsWith("data: ")).map(l -> l.substring(6)).toList();
            assertThat(events.getLast()).isEqualTo("[DONE]");
            assertThat(row(streamed).deployment()).isEqualTo("remote");
            assertThat(row(streamed).completionTokens()).isEqualTo(7);
            assertThat(generatedUpstream() - upstreamBefore).isEqualTo(13);

            assertThat(busy.stillRunning()).as("the local engine stayed full throughout").isTrue();
            occupier = busy.requestId;
        }
        UsageRow cut = GatewayServerTest.bookedRow(gateway, occupier);
        assertThat(cut.deployment()).isEqualTo("engine");
        assertThat(cut.status()).isEqualTo("cancelled");
        assertThat(cut.completionTokens()).isPositive().isLessThan(LOCAL_CTX - 16);
        // the occupying request (cancelled), the refused one and the two routed ones: one row each
        assertThat(settledCount()).isEqualTo(before + 4);
    }

    @Test
    void clientErrorsFromTheLocalEngineAreNotRetriedUpstream() throws Exception {
        String sentence = "Once upon a time there was a little dog who liked to play in the park with his friends. ";
        int perSentence = s.post("/tokenize", "{\"content\":" + ServerApiTest.quote(sentence) + "}", auth).json().get("tokens").size();
        String longPrompt = sentence.repeat((LOCAL_CTX + 600) / perSentence);
        String body = "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":" + ServerApiTest.quote(longPrompt) + "}],\"max_tokens\":1}";
        // the upstream's context would take it, so a retry there would have succeeded
        assertThat(up.post("/v1/chat/completions", body).status()).isEqualTo(200);

        double upstreamChats = chatRequestsUpstream();
        var tooLong = s.post("/v1/chat/completions", body, auth);
        assertThat(tooLong.status()).as(tooLong.raw().body()).isEqualTo(400);
        assertThat(tooLong.json().at("/error/code").asText()).isEqualTo("context_length_exceeded");
        assertThat(tooLong.json().at("/error/n_ctx").asInt()).isEqualTo(LOCAL_CTX);
        assertThat(row(tooLong).status()).isEqualTo("error");

        var negative = s.post("/v1/chat/completions", chat("stories260K", -3, false), auth);
        assertThat(negative.status()).isEqualTo(400);
        assertThat(negative.json().at("/error/type").asText()).isEqualTo("invalid_request_error");
        assertThat(negative.json().at("/error/param").asText()).isEqualTo("max_tokens");
        assertThat(chatRequestsUpstream()).isEqualTo(upstreamChats);
    }

    @Test
    void anUpstreamThatFailsFallsBackToTheLocalEngine() throws Exception {
        var r = s.post("/v1/chat/completions", chat("story-b", 5, false), auth);
        assertThat(r.status()).as(r.raw().body()).isEqualTo(200);
        UsageRow u = row(r);
        assertThat(u.provider()).isEqualTo("local");
        assertThat(u.deployment()).isEqualTo("engine-b");
        assertThat(u.completionTokens()).isEqualTo(5);
        var streamed = s.post("/v1/chat/completions", chat("story-b", 5, true), auth);
        assertThat(streamed.status()).isEqualTo(200);
        assertThat(streamed.raw().body().lines().filter(l -> l.startsWith("data: ")).toList().getLast()).isEqualTo("data: [DONE]");
        assertThat(row(streamed).deployment()).isEqualTo("engine-b");
    }

    /**
     * A long generation on the local engine's only slot (routed there while it is free), streamed
     * to a client that keeps the connection open and reads no further; closing cancels it.
     */
    static final class Occupier implements AutoCloseable {
        final Socket socket = new Socket("127.0.0.1", s.server.port());
        String requestId;

        Occupier() throws Exception {
            byte[] b = ("{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"max_tokens\":" + (LOCAL_CTX - 16)
                    + ",\"temperature\":0,\"ignore_eos\":true,\"stream\":true}").getBytes(StandardCharsets.UTF_8);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" + auth[0] + ": " + auth[1]
                    + "\r\nContent-Length: " + b.length
                    + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(b);
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                if (line.toLowerCase(java.util.Locale.ROOT).startsWith("x-request-id:")) requestId = line.substring(line.indexOf(':') + 1).trim();
                if (line.startsWith("data: ")) return;
            }
            throw new AssertionError("the occupying stream never started");
        }

        boolean stillRunning() {
            return s.server.scheduler("stories260K").stats().busySlots() == 1;
        }

        @Override
        public void close() throws IOException {
            socket.close();
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (stillRunning()) {
                assertThat(System.nanoTime()).as("the occupying generation was never cancelled").isLessThan(deadline);
                java.util.concurrent.locks.LockSupport.parkNanos(10_000_000);
            }
        }
    }
}
