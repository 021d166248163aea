package dev.genset.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.genset.gateway.route.CircuitBreaker;
import dev.genset.gateway.route.Deployment;
import dev.genset.gateway.route.ResponseSink;
import dev.genset.gateway.route.Router;
import dev.genset.gateway.route.TokenCounter;
import dev.genset.gateway.route.UpstreamClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** Routing against fault-injecting OpenAI-compatible upstreams started on loopback. */
class RouterTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** An upstream whose every answer the test scripts. */
    static final class Upstream implements AutoCloseable {
        interface Behaviour {
            void answer(int hit, JsonNode request, HttpExchange ex) throws Exception;
        }

        final HttpServer server;
        final AtomicInteger hits = new AtomicInteger();
        final AtomicReference<JsonNode> lastRequest = new AtomicReference<>();
        final AtomicReference<String> lastAuth = new AtomicReference<>();

        Upstream(Behaviour b) throws IOException {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
            server.createContext("/", ex -> {
                try {
                    JsonNode req = JSON.readTree(ex.getRequestBody().readAllBytes());
                    lastRequest.set(req);
                    lastAuth.set(ex.getRequestHeaders().getFirst("Authorization"));
                    b.answer(hits.incrementAndGet(), req, ex);
                } catch (Exception e) {
                    // a scripted failure (a cut stream) ends here
                } finally {
                    ex.close();
                }
            });
            server.start();
        }

        String url() {
            return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    static void json(HttpExchange ex, int status, String body, String... headers) throws IOException {
        for (int i = 0; i < headers.length; i += 2) ex.getResponseHeaders().add(headers[i], headers[i + 1]);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
    }

    static void completion(HttpExchange ex, String content) throws IOException {
        json(ex, 200, "{\"id\":\"x\",\"object\":\"chat.completion\",\"model\":\"upstream-name\",\"choices\":[{\"index\":0,\"message\":"
                + "{\"role\":\"assistant\",\"content\":\"" + content + "\"},\"finish_reason\":\"stop\"}],"
                + "\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":4,\"total_tokens\":15,\"prompt_tokens_details\":{\"cached_tokens\":2}}}");
    }

    static String chunk(String content) {
        return "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + content + "\"}}]}\n\n";
    }

    private final List<Upstream> upstreams = new ArrayList<>();

    private Upstream upstream(Upstream.Behaviour b) throws IOException {
        Upstream u = new Upstream(b);
        upstreams.add(u);
        return u;
    }

    @AfterEach
    void stop() {
        upstreams.forEach(Upstream::close);
    }

    private static Router router(int retries, int threshold) {
        return new Router(new UpstreamClient(TokenCounter.ESTIMATE), new Router.Options(retries, 10, 2_000, threshold, 60_000));
    }

    private static ObjectNode request(boolean stream) {
        ObjectNode b = JSON.createObjectNode();
        b.put("model", "m");
        b.putArray("messages").addObject().put("role", "user").put("content", "hi");
        if (stream) b.put("stream", true);
        return b;
    }

    @Test
    void priorityFallbackAndCircuitBreaker() throws Exception {
        Upstream a = upstream((hit, req, ex) -> json(ex, 500, "{\"error\":{\"message\":\"boom\"}}"));
        Upstream b = upstream((hit, req, ex) -> completion(ex, "from b"));
        Router r = router(1, 2);
        r.route("m", Router.Strategy.PRIORITY, List.of(
                Deployment.upstream("a", "m", a.url(), "key-a").withPriority(0),
                Deployment.upstream("b", "m", b.url(), "key-b").withPriority(1).withUpstreamModel("b-model")));
        Router.Result res = r.forward("m", "/chat/completions", request(false), 9, null, null);
        assertThat(res.deployment().name()).isEqualTo("b");
        assertThat(res.attempts()).isEqualTo(3);
        assertThat(a.hits.get()).isEqualTo(2);
        assertThat(b.lastRequest.get().get("model").asText()).isEqualTo("b-model");
        assertThat(b.lastAuth.get()).isEqualTo("Bearer key-b");
        JsonNode body = JSON.readTree(res.outcome().body());
        assertThat(body.get("model").asText()).isEqualTo("m"); // the public name goes back to the client
        assertThat(res.outcome().usage()).isEqualTo(new Usage(11, 4, 2, "openai", "b"));
        assertThat(r.breakerState("a")).isEqualTo(CircuitBreaker.State.OPEN);

        r.forward("m", "/chat/completions", request(false), 9, null, null);
        assertThat(a.hits.get()).isEqualTo(2); // resting
        assertThat(b.hits.get()).isEqualTo(2);
    }

    @Test
    void honoursRetryAfterThenSucceeds() throws Exception {
        Upstream a = upstream((hit, req, ex) -> {
            if (hit == 1) json(ex, 429, "{\"error\":{\"message\":\"slow down\"}}", "Retry-After", "1");
            else completion(ex, "ok");
        });
        Router r = router(1, 3);
        r.route("m", Router.Strategy.PRIORITY, List.of(Deployment.upstream("a", "m", a.url(), null)));
        long t0 = System.nanoTime();
        Router.Result res = r.forward("m", "/chat/completions", request(false), 9, null, null);
        assertThat(res.outcome().ok()).isTrue();
        assertThat(res.attempts()).isEqualTo(2);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isGreaterThanOrEqualTo(950);
    }

    @Test
    void passesTheSoonestRetryAfterOnWhenAllAreRateLimited() throws Exception {
        Upstream a = upstream((hit, req, ex) -> json(ex, 429, "{}", "Retry-After", "7"));
        Upstream b = upstream((hit, req, ex) -> json(ex, 429, "{}", "Retry-After", "3"));
        Router r = router(0, 5);
        r.route("m", Router.Strategy.PRIORITY, List.of(Deployment.upstream("a", "m", a.url(), null), Deployment.upstream("b", "m", b.url(), null).withPriority(1)));
        GatewayException e = catchThrowableOfType(GatewayException.class, () -> r.forward("m", "/chat/completions", request(false), 9, null, null));
        assertThat(e.status()).isEqualTo(429);
        assertThat(e.retryAfter()).isEqualTo("3");
        assertThat(catchThrowableOfType(GatewayException.class, () -> r.forward("nope", "/chat/completions", request(false), 9, null, null)).status())
                .isEqualTo(404);
    }

    @Test
    void timeoutsFallBackAndErrorsPassThrough() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        Upstream slow = upstream((hit, req, ex) -> {
            release.await(5, TimeUnit.SECONDS);
            completion(ex, "late");
        });
        Upstream bad = upstream((hit, req, ex) -> json(ex, 400, "{\"error\":{\"message\":\"bad request\",\"type\":\"invalid_request_error\"}}"));
        Upstream good = upstream((hit, req, ex) -> completion(ex, "ok"));
        Router r = router(0, 5);
        r.route("m", Router.Strategy.PRIORITY, List.of(
                Deployment.upstream("slow", "m", slow.url(), null).withTimeout(Duration.ofMillis(300)),
                Deployment.upstream("good", "m", good.url(), null).withPriority(1)));
        Router.Result res = r.forward("m", "/chat/completions", request(false), 9, null, null);
        release.countDown();
        assertThat(res.deployment().name()).isEqualTo("good");

        r.route("m", Router.Strategy.PRIORITY, List.of(
                Deployment.upstream("bad", "m", bad.url(), null), Deployment.upstream("good", "m", good.url(), null).withPriority(1)));
        Router.Result passed = r.forward("m", "/chat/completions", request(false), 9, null, null);
        assertThat(passed.outcome().status()).isEqualTo(400); // the client's error: not retried elsewhere
        assertThat(new String(passed.outcome().body(), StandardCharsets.UTF_8)).contains("bad request");

        Upstream slower = upstream((hit, req, ex) -> {
            Thread.sleep(1_000);
            completion(ex, "late");
        });
        r.route("m", Router.Strategy.PRIORITY, List.of(Deployment.upstream("slower", "m", slower.url(), null).withTimeout(Duration.ofMillis(200))));
        GatewayException timeout = catchThrowableOfType(GatewayException.class, () -> r.forward("m", "/chat/completions", request(false), 9, null, null));
        assertThat(timeout.status()).isEqualTo(504);
    }

    static final class Collect implements ResponseSink {
        final List<String> chunks = new ArrayList<>();
        final List<Long> at = new ArrayList<>();
        int status;

        @Override
        public void start(int status, String contentType) {
            this.status = status;
        }

        @Override
        public void chunk(byte[] data) {
            chunks.add(new String(data, StandardCharsets.UTF_8));
            at.add(System.nanoTime());
        }
    }

    @Test
    void streamsChunkByChunkWithUpstreamUsage() throws Exception {
        Upstream a = upstream((hit, req, ex) -> {
            ex.getResponseHeaders().add("Content-Type", "text/event-stream");
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            for (String piece : List.of("Hel", "lo", "!")) {
                out.write(chunk(piece).getBytes(StandardCharsets.UTF_8));
                out.flush();
                Thread.sleep(150);
            }
            out.write("data: {\"id\":\"x\",\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3,\"total_tokens\":10}}\n\n".getBytes(StandardCharsets.UTF_8));
            out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
        });
        Router r = router(0, 3);
        r.route("m", Router.Strategy.PRIORITY, List.of(Deployment.upstream("a", "m", a.url(), null)));
        Collect sink = new Collect();
        Router.Result res = r.forward("m", "/chat/completions", request(true), 5, sink, null);
        assertThat(a.lastRequest.get().at("/stream_options/include_usage").asBoolean()).isTrue();
        assertThat(res.outcome().ok()).isTrue();
        assertThat(res.outcome().usage().promptTokens()).isEqualTo(7);
        assertThat(res.outcome().usage().completionTokens()).isEqualTo(3);
        assertThat(sink.chunks).hasSize(4); // three deltas and [DONE]; the usage chunk the client did not ask for stays back
        assertThat(sink.chunks.get(0)).contains("Hel");
        assertThat(sink.chunks.get(3)).contains("[DONE]");
        assertThat(TimeUnit.NANOSECONDS.toMillis(sink.at.get(2) - sink.at.get(0))).isGreaterThanOrEqualTo(250); // as they came
    }

    @Test
    void aStreamCutMidwayIsCountedAndNotRetried() throws Exception {
        Upstream a = upstream((hit, req, ex) -> {
            ex.getResponseHeaders().add("Content-Type", "text/event-stream");
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            out.write((chunk("abcdefgh") + chunk("ijklmnop")).getBytes(StandardCharsets.UTF_8));
            out.flush();
            throw new IOException("cut"); // the connection closes without [DONE]
        });
        Upstream b = upstream((hit, req, ex) -> completion(ex, "b"));
        Router r = router(1, 3);
        r.route("m", Router.Strategy.PRIORITY, List.of(Deployment.upstream("a", "m", a.url(), null), Deployment.upstream("b", "m", b.url(), null).withPriority(1)));
        Collect sink = new Collect();
        Router.Result res = r.forward("m", "/chat/completions", request(true), 5, sink, null);
        assertThat(res.deployment().name()).isEqualTo("a");
        assertThat(res.outcome().streamed()).isTrue();
        assertThat(res.outcome().complete()).isFalse();
        assertThat(res.outcome().usage().completionTokens()).isEqualTo(4); // 16 characters counted where no usage came
        assertThat(res.outcome().usage().promptTokens()).isEqualTo(5);
        assertThat(sink.chunks).hasSize(2);
        assertThat(b.hits.get()).isZero();
    }

    @Test
    void weightedRoundRobinAndLeastBusy() throws Exception {
        Upstream a = upstream((hit, req, ex) -> completion(ex, "a"));
        Upstream b = upstream((hit, req, ex) -> completion(ex, "b"));
        Router r = router(0, 3);
        r.route("m", Router.Strategy.WEIGHTED, List.of(
                Deployment.upstream("a", "m", a.url(), null).withWeight(3), Deployment.upstream("b", "m", b.url(), null).withWeight(1)));
        for (int i = 0; i < 40; i++) r.forward("m", "/chat/completions", request(false), 1, null, null);
        assertThat(a.hits.get()).isEqualTo(30);
        assertThat(b.hits.get()).isEqualTo(10);

        CountDownLatch hold = new CountDownLatch(1);
        Upstream busy = upstream((hit, req, ex) -> {
            hold.await(5, TimeUnit.SECONDS);
            completion(ex, "busy");
        });
        r.route("m", Router.Strategy.LEAST_BUSY, List.of(
                Deployment.upstream("busy", "m", busy.url(), null), Deployment.upstream("b", "m", b.url(), null).withPriority(1)));
        assertThat(r.order("m").getFirst().name()).isEqualTo("busy");
        Thread t = Thread.ofVirtual().start(() -> r.forward("m", "/chat/completions", request(false), 1, null, null));
        while (busy.hits.get() == 0) Thread.sleep(10);
        assertThat(r.order("m").getFirst().name()).isEqualTo("b");
        assertThat(r.forward("m", "/chat/completions", request(false), 1, null, null).deployment().name()).isEqualTo("b");
        hold.countDown();
        t.join();
    }

    @Test
    void localDeploymentsAreServedByTheEngineHandler() {
        Router r = router(0, 3);
        r.route("m", Router.Strategy.PRIORITY, List.of(Deployment.local("engine", "m")));
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        Router.Result res = r.forward("m", "/chat/completions", request(false), 3, null, (d, body, sink) -> {
            seen.writeBytes(body.toString().getBytes(StandardCharsets.UTF_8));
            return new dev.genset.gateway.route.Outcome(200, "{}".getBytes(StandardCharsets.UTF_8), new Usage(3, 2, 0, "local", d.name()), -1, false, true, null);
        });
        assertThat(res.outcome().usage().deployment()).isEqualTo("engine");
        assertThat(seen.toString(StandardCharsets.UTF_8)).contains("\"model\":\"m\"");
    }

    private static dev.genset.gateway.route.Outcome localError(int status, long retryAfterMs) {
        return new dev.genset.gateway.route.Outcome(status, "{\"error\":{}}".getBytes(StandardCharsets.UTF_8), Usage.NONE, retryAfterMs, false, false, "engine answered " + status);
    }

    @Test
    void aBusyLocalEngineFallsBackAtOnceWithoutRestingIt() throws Exception {
        Upstream b = upstream((hit, req, ex) -> completion(ex, "from b"));
        Router r = router(1, 1); // one retry allowed, one failure opens a breaker
        routeLocalThen(r, b);
        AtomicInteger calls = new AtomicInteger();
        for (int status : new int[] {429, 503}) { // a full queue, a model still loading: both say when to come back
            Router.Result res = r.forward("m", "/chat/completions", request(false), 3, null, (d, body, sink) -> {
                calls.incrementAndGet();
                return localError(status, 1_000); // within the wait the router would honour for an upstream
            });
            assertThat(res.deployment().name()).isEqualTo("b");
            assertThat(res.attempts()).isEqualTo(2);
            assertThat(r.breakerState("engine")).isEqualTo(CircuitBreaker.State.CLOSED); // full, not failing
        }
        assertThat(calls.get()).isEqualTo(2); // asked once per request, not again after its Retry-After
        assertThat(b.hits.get()).isEqualTo(2);
    }

    @Test
    void aFailingLocalEngineFallsBackAtOnceAndRestsAfterFailuresInARow() throws Exception {
        Upstream b = upstream((hit, req, ex) -> completion(ex, "from b"));
        Router r = router(1, 2);
        routeLocalThen(r, b);
        AtomicInteger calls = new AtomicInteger();
        Router.LocalHandler failing = (d, body, sink) -> {
            calls.incrementAndGet();
            return localError(500, -1);
        };
        Router.Result res = r.forward("m", "/chat/completions", request(false), 3, null, failing);
        assertThat(res.deployment().name()).isEqualTo("b");
        assertThat(calls.get()).isEqualTo(1); // not retried in place
        assertThat(r.breakerState("engine")).isEqualTo(CircuitBreaker.State.CLOSED);
        r.forward("m", "/chat/completions", request(false), 3, null, failing);
        assertThat(r.breakerState("engine")).isEqualTo(CircuitBreaker.State.OPEN);
        assertThat(r.forward("m", "/chat/completions", request(false), 3, null, failing).deployment().name()).isEqualTo("b");
        assertThat(calls.get()).isEqualTo(2); // resting
        assertThat(b.hits.get()).isEqualTo(3);
    }

    @Test
    void aLocalClientErrorIsTheAnswer() throws Exception {
        Upstream b = upstream((hit, req, ex) -> completion(ex, "from b"));
        Router r = router(1, 1);
        routeLocalThen(r, b);
        Router.Result res = r.forward("m", "/chat/completions", request(false), 3, null, (d, body, sink) -> localError(400, -1));
        assertThat(res.deployment().name()).isEqualTo("engine");
        assertThat(res.outcome().status()).isEqualTo(400);
        assertThat(res.outcome().retryable()).isFalse();
        assertThat(b.hits.get()).isZero();
        assertThat(r.breakerState("engine")).isEqualTo(CircuitBreaker.State.CLOSED);
    }

    @Test
    void aLoadingLocalEngineAloneIs503WithItsRetryAfter() {
        Router r = router(1, 3);
        r.route("m", Router.Strategy.PRIORITY, List.of(Deployment.local("engine", "m")));
        GatewayException e = catchThrowableOfType(GatewayException.class,
                () -> r.forward("m", "/chat/completions", request(false), 3, null, (d, body, sink) -> localError(503, 2_000)));
        assertThat(e.status()).isEqualTo(503);
        assertThat(e.retryAfter()).isEqualTo("2");
        GatewayException busy = catchThrowableOfType(GatewayException.class,
                () -> r.forward("m", "/chat/completions", request(false), 3, null, (d, body, sink) -> localError(429, 1_000)));
        assertThat(busy.status()).isEqualTo(429);
        assertThat(busy.retryAfter()).isEqualTo("1");
    }

    /** Model "m" on the local deployment "engine" first, then upstream b. */
    private static void routeLocalThen(Router r, Upstream b) {
        r.route("m", Router.Strategy.PRIORITY, List.of(Deployment.local("engine", "m"), Deployment.upstream("b", "m", b.url(), null).withPriority(1)));
    }
}
