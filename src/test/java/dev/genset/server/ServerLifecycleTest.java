package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** Overload, dropped clients, timeouts, loading failures and shutdown, against live servers. */
@Timeout(120)
class ServerLifecycleTest {
    /** A generation that would run for thousands of tokens (the bundled model, a 4096-token context). */
    static final String ENDLESS = "{\"prompt\":\"Once upon a time\",\"max_tokens\":4000,\"temperature\":0,\"ignore_eos\":true,\"stream\":true}";

    /** Opens a raw streaming request and reads until the first event arrives; the caller closes the socket to drop it. */
    static Socket openStream(TestServer s, String body) throws Exception {
        Socket socket = new Socket("127.0.0.1", s.server.port());
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        OutputStream out = socket.getOutputStream();
        out.write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: " + b.length + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.write(b);
        out.flush();
        InputStream in = socket.getInputStream();
        StringBuilder seen = new StringBuilder();
        while (!seen.toString().contains("data: ")) {
            int c = in.read();
            if (c < 0) throw new AssertionError("stream ended early: " + seen);
            seen.append((char) c);
        }
        return socket;
    }

    static int busySlots(TestServer s) throws Exception {
        return s.get("/health").json().get("slots_processing").asInt();
    }

    static double metric(TestServer s, String name, String labels) throws Exception {
        String text = s.get("/metrics").raw().body();
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "\\{([^}]*)\\} (\\S+)$").matcher(text);
        double sum = 0;
        while (m.find()) if (m.group(1).contains(labels)) sum += Double.parseDouble(m.group(2));
        return sum;
    }

    static void awaitIdle(TestServer s) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (busySlots(s) > 0) {
            assertThat(System.nanoTime()).as("slots still busy").isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    @Test
    void aClientThatDropsMidStreamFreesItsSlot() throws Exception {
        try (TestServer s = new TestServer(c -> c.withParallel(2).withContextSize(4096))) {
            Socket socket = openStream(s, ENDLESS);
            assertThat(busySlots(s)).isEqualTo(1);
            socket.close();
            awaitIdle(s);
            assertThat(metric(s, "genset_sequences_finished_total", "reason=\"cancelled\"")).isEqualTo(1);
            assertThat(metric(s, "genset_generated_tokens_total", "")).isLessThan(4000);
            // The slot serves the next request.
            assertThat(s.post("/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":3}").status()).isEqualTo(200);
        }
    }

    @Test
    void overloadIs429WithRetryAfter() throws Exception {
        try (TestServer s = new TestServer(c -> c.withParallel(1).withQueueCapacity(0).withContextSize(4096))) {
            Socket busy = openStream(s, ENDLESS);
            var r = s.post("/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":3}");
            ServerApiTest.assertError(r, 429, "rate_limit_error", null);
            assertThat(r.raw().headers().firstValue("Retry-After")).isPresent();
            busy.close();
            awaitIdle(s);
            assertThat(s.post("/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":3}").status()).isEqualTo(200);
        }
    }

    @Test
    void requestsWaitInTheQueueForAFreeSlot() throws Exception {
        try (TestServer s = new TestServer(c -> c.withParallel(1).withQueueCapacity(8))) {
            List<CompletableFuture<TestServer.Reply>> replies = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) {
                replies.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        return s.post("/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":20,\"temperature\":0}");
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                }));
            }
            for (var f : replies) {
                TestServer.Reply r = f.get(60, TimeUnit.SECONDS);
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.json().at("/choices/0/text").asText()).startsWith(", there was a little girl");
            }
        }
    }

    @Test
    void aGenerationPastTheTimeoutIsStopped() throws Exception {
        try (TestServer s = new TestServer(c -> c.withContextSize(8192).withRequestTimeout(Duration.ofMillis(300)))) {
            var r = s.post("/v1/completions", ENDLESS.replace(",\"stream\":true", "").replace("4000", "8000"));
            ServerApiTest.assertError(r, 504, "timeout_error", null);
            List<String> data = s.stream("/v1/completions", ENDLESS.replace("4000", "8000"));
            JsonNode last = TestServer.parse(data.getLast());
            assertThat(last.at("/error/type").asText()).isEqualTo("timeout_error");
            awaitIdle(s);
        }
    }

    @Test
    void aModelThatFailsToLoadGives503(@TempDir Path dir) throws Exception {
        Path bogus = Files.write(dir.resolve("broken.gguf"), "not a gguf file".getBytes(StandardCharsets.UTF_8));
        ServerConfig c = ServerConfig.defaults(List.of(bogus)).withPort(0).withThreads(1);
        try (GensetServer server = GensetServer.start(c)) {
            server.awaitModels(Duration.ofSeconds(30));
            var http = java.net.http.HttpClient.newHttpClient();
            var base = "http://127.0.0.1:" + server.port();
            var health = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/health")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(health.statusCode()).isEqualTo(503);
            var chat = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/v1/chat/completions"))
                            .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(chat.statusCode()).isEqualTo(503);
            JsonNode e = TestServer.parse(chat.body()).get("error");
            assertThat(e.get("type").asText()).isEqualTo("unavailable_error");
            assertThat(e.get("message").asText()).contains("broken");
        }
    }

    @Test
    void shutdownLetsRunningStreamsFinish() throws Exception {
        TestServer s = new TestServer(c -> c.withParallel(2));
        CompletableFuture<List<String>> stream = CompletableFuture.supplyAsync(() -> {
            try {
                return s.stream("/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":100,\"temperature\":0,\"ignore_eos\":true,\"stream\":true}");
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (s.server.scheduler("stories260K").busySlots() == 0 && !stream.isDone() && System.nanoTime() < deadline) Thread.sleep(1);
        s.close();
        List<String> data = stream.get(30, TimeUnit.SECONDS);
        assertThat(data.getLast()).isEqualTo("[DONE]");
        JsonNode last = TestServer.parse(data.get(data.size() - 2));
        assertThat(last.at("/choices/0/finish_reason").asText()).isEqualTo("length");
    }
}
