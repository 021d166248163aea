package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.genset.testing.TestFiles;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/** A live server on an ephemeral loopback port, and a small HTTP client for it. */
final class TestServer implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();

    final GensetServer server;
    final String base;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    TestServer(UnaryOperator<ServerConfig> tweak) throws Exception {
        this(tweak, ServeOptions.none());
    }

    /** With a gateway: keys, limits and the usage ledger. */
    TestServer(UnaryOperator<ServerConfig> tweak, dev.genset.gateway.Gateway gateway) throws Exception {
        this(tweak, ServeOptions.none().withGateway(gateway, false));
    }

    TestServer(UnaryOperator<ServerConfig> tweak, ServeOptions options) throws Exception {
        ServerConfig c = ServerConfig.defaults(List.of(TestFiles.storiesModel())).withPort(0).withThreads(1).withParallel(4)
                .withBatchSize(32).withQueueCapacity(16);
        server = GensetServer.start(tweak.apply(c), options);
        server.awaitModels(Duration.ofSeconds(60));
        base = "http://127.0.0.1:" + server.port();
    }

    record Reply(int status, JsonNode json, HttpResponse<String> raw) {}

    Reply post(String path, String body) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), parse(r.body()), r);
    }

    /** A POST with headers given as name, value, name, value... */
    Reply post(String path, String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").method("POST", HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) b.headers(headers);
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), parse(r.body()), r);
    }

    /** Any method with headers given as name, value, ... (body may be null). */
    Reply send(String method, String path, String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) b.header("Content-Type", "application/json");
        if (headers.length > 0) b.headers(headers);
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), parse(r.body()), r);
    }

    Reply get(String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), parse(r.body()), r);
    }

    /** The event: names of a streamed response (the Responses API's typed events), in order. */
    List<String> streamEvents(String path, String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) b.headers(headers);
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) throw new AssertionError("status " + r.statusCode() + ": " + r.body());
        List<String> events = new ArrayList<>();
        for (String line : r.body().split("\n")) if (line.startsWith("event: ")) events.add(line.substring(7));
        return events;
    }

    /** The data: payloads of a streamed response, in order (the last is "[DONE]" when the stream ended normally). */
    List<String> stream(String path, String body) throws Exception {
        HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofInputStream());
        if (r.statusCode() != 200) throw new AssertionError("status " + r.statusCode() + ": " + new String(r.body().readAllBytes(), StandardCharsets.UTF_8));
        if (!r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream")) throw new AssertionError("not an event stream: " + r.headers());
        List<String> data = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith("data: ")) data.add(line.substring(6));
                else if (!line.isEmpty()) throw new AssertionError("unexpected line in stream: " + line);
            }
        }
        return data;
    }

    static JsonNode parse(String s) {
        try {
            return s.isEmpty() ? null : JSON.readTree(s);
        } catch (Exception e) {
            return null;
        }
    }

    @Override
    public void close() {
        server.close();
    }
}
