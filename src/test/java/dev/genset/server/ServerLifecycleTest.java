package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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
            // counted by the request's thread when it takes the sequence's end, which can come just after the slot is free
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (metric(s, "genset_sequences_finished_total", "reason=\"cancelled\"") < 1 && System.nanoTime() < deadline) Thread.sleep(10);
            assertThat(metric(s, "genset_sequences_finished_total", "reason=\"cancelled\"")).isEqualTo(1);
            assertThat(metric(s, "genset_generated_tokens_total", "")).isLessThan(4000);
            // The slot serves the next request.
            assertThat(s.post("/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":3}").status()).isEqualTo(200);
        }
    }

    /** A request for thousands of tokens, not streamed, on each route that generates. */
    static String endlessReply(String path) {
        return switch (path) {
            case "/v1/chat/completions" -> ServerApiTest.chat("Tell me a story", 4000, ",\"ignore_eos\":true");
            case "/v1/completions" -> ENDLESS.replace(",\"stream\":true", "");
            case "/api/generate" -> "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"stream\":false,\"options\":{\"num_predict\":4000,\"temperature\":0}}";
            default -> throw new IllegalArgumentException(path);
        };
    }

    /** Sends a raw request on a new connection and leaves its reply unread. */
    static Socket send(TestServer s, String path, String body) throws Exception {
        Socket socket = new Socket("127.0.0.1", s.server.port());
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        OutputStream out = socket.getOutputStream();
        out.write(("POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: " + b.length + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.write(b);
        out.flush();
        return socket;
    }

    static void awaitBusy(TestServer s) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (s.server.scheduler("stories260K").busySlots() == 0) {
            assertThat(System.nanoTime()).as("the generation never started").isLessThan(deadline);
            Thread.sleep(1);
        }
    }

    /** Reads what the server sends until it closes the connection. */
    static String readToEnd(Socket socket) throws Exception {
        socket.setSoTimeout(30_000);
        return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }

    /** Reads one reply with a Content-Length: its status line and headers, a blank line, its body. */
    static String readReply(Socket socket) throws Exception {
        socket.setSoTimeout(30_000);
        InputStream in = socket.getInputStream();
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) throw new AssertionError("connection closed in a reply's head: " + head);
            head.append((char) c);
        }
        Matcher m = Pattern.compile("(?im)^content-length: *(\\d+)").matcher(head);
        assertThat(m.find()).as("a Content-Length in " + head).isTrue();
        return head + new String(in.readNBytes(Integer.parseInt(m.group(1))), StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @ValueSource(strings = {"/v1/chat/completions", "/v1/completions", "/api/generate"})
    void aClientThatDropsBeforeItsReplyFreesItsSlot(String path) throws Exception {
        try (TestServer s = new TestServer(c -> c.withParallel(2).withContextSize(4096))) {
            Socket socket = send(s, path, endlessReply(path)); // all 4000 tokens take seconds here
            awaitBusy(s);
            long closed = System.nanoTime();
            socket.close();
            awaitIdle(s);
            assertThat(Duration.ofNanos(System.nanoTime() - closed)).isLessThan(Duration.ofSeconds(2));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (metric(s, "genset_requests_total", "status=\"499\"") == 0) { // the request ends just after its slot frees
                assertThat(System.nanoTime()).as("the request was not counted as cut by its client").isLessThan(deadline);
                Thread.sleep(10);
            }
            assertThat(metric(s, "genset_sequences_finished_total", "reason=\"cancelled\"")).isEqualTo(1);
            assertThat(metric(s, "genset_generated_tokens_total", "")).isLessThan(4000);
            // The slot serves the next request.
            assertThat(s.post("/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":3}").status()).isEqualTo(200);
        }
    }

    @Test
    void aReplySentWhileTheConnectionWasWatchedClosesIt() throws Exception {
        try (TestServer s = new TestServer(c -> c)) {
            String reply;
            try (Socket socket = send(s, "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":5,\"temperature\":0}")) {
                reply = readToEnd(socket); // ends only because the server closes
            }
            assertThat(reply).startsWith("HTTP/1.1 200").containsIgnoringCase("\r\nconnection: close\r\n").contains("\"finish_reason\":\"length\"");
            // Requests that generate nothing keep their connection.
            try (Socket health = new Socket("127.0.0.1", s.server.port())) {
                for (int i = 0; i < 2; i++) {
                    health.getOutputStream().write("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    assertThat(readReply(health)).startsWith("HTTP/1.1 200").doesNotContainIgnoringCase("connection: close").contains("\"slots_idle\"");
                }
            }
        }
    }

    @Test
    void aRequestPipelinedBehindAWatchedOneIsServed() throws Exception {
        // long enough that the pipelined request surely comes while it is generated (the default
        // context ended it after 124 tokens, which a fast moment finished within the 20 ms below)
        try (TestServer s = new TestServer(c -> c.withContextSize(4096))) {
            try (Socket socket = send(s, "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":1000,\"temperature\":0,\"ignore_eos\":true}")) {
                awaitBusy(s);
                Thread.sleep(20); // the watch waits on the connection by now
                socket.getOutputStream().write("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                // The watch read the second request and left it to the server; the connection stays open.
                assertThat(readReply(socket)).startsWith("HTTP/1.1 200").doesNotContainIgnoringCase("connection: close").contains("\"finish_reason\":\"length\"");
                assertThat(readReply(socket)).startsWith("HTTP/1.1 200").contains("\"slots_idle\"");
            }
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
