package dev.genset.server;

import com.sun.net.httpserver.HttpServer;
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

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An upstream that stops sending in the middle of a stream (or of a body): the gateway gives up
 * after the deployment's timeout between chunks, the client's stream ends, and the ledger books
 * exactly the tokens that were produced before the stall.
 */
@Timeout(120)
class UpstreamStallTest {
    @TempDir
    static Path dir;
    static Gateway gateway;
    static TestServer s;
    static HttpServer upstream;
    static final CountDownLatch release = new CountDownLatch(1);
    static final AtomicInteger hits = new AtomicInteger();

    static String delta(String text) {
        return "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"up\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\""
                + text + "\"},\"finish_reason\":null}]}\n\n";
    }

    @BeforeAll
    static void start() throws Exception {
        upstream = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        upstream.setExecutor(Executors.newCachedThreadPool());
        upstream.createContext("/v1/chat/completions", ex -> {
            hits.incrementAndGet();
            String req = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            try {
                if (req.contains("\"stream\":true")) {
                    ex.getResponseHeaders().add("Content-Type", "text/event-stream");
                    ex.sendResponseHeaders(200, 0);
                    OutputStream out = ex.getResponseBody();
                    for (String piece : List.of("abcd", "efgh", "ijkl")) { // 12 characters: 3 tokens as counted without a usage chunk
                        out.write(delta(piece).getBytes(StandardCharsets.UTF_8));
                        out.flush();
                    }
                    release.await(60, TimeUnit.SECONDS); // stalls: no more chunks, no [DONE], connection kept open
                } else {
                    byte[] half = "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"mess".getBytes(StandardCharsets.UTF_8);
                    ex.getResponseHeaders().add("Content-Type", "application/json");
                    ex.sendResponseHeaders(200, half.length * 2L);
                    ex.getResponseBody().write(half);
                    ex.getResponseBody().flush();
                    release.await(60, TimeUnit.SECONDS); // half a body, then nothing
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                ex.close();
            }
        });
        upstream.start();
        gateway = Gateway.open(GatewayConfig.of(Database.sqlite(dir.resolve("genset.db"))));
        gateway.admin().putDeployment(new Deployments.Row("stalling", "slow-model", "openai",
                "http://127.0.0.1:" + upstream.getAddress().getPort() + "/v1", null, "up", 0, 1, 700L));
        gateway.reloadRoutes();
        s = new TestServer(c -> c, gateway);
    }

    @AfterAll
    static void stop() {
        release.countDown();
        s.close();
        gateway.close();
        upstream.stop(0);
    }

    static UsageRow row(String requestId) throws InterruptedException {
        return GatewayServerTest.bookedRow(gateway, requestId);
    }

    @Test
    void aStreamThatStallsIsEndedAfterTheIdleTimeoutAndBookedWithTheTokensProduced() throws Exception {
        String body = "{\"model\":\"slow-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story\"}],\"stream\":true,\"max_tokens\":50}";
        long t0 = System.nanoTime();
        var r = s.post("/v1/chat/completions", body);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(r.status()).isEqualTo(200);
        assertThat(ms).as("ended by the 700 ms idle timeout, not by the upstream").isBetween(600L, 10_000L);
        List<String> events = r.raw().body().lines().filter(l -> l.startsWith("data: ")).map(l -> l.substring(6)).toList();
        assertThat(events).hasSize(3);
        assertThat(String.join("", events)).contains("abcd").contains("efgh").contains("ijkl");
        assertThat(events).doesNotContain("[DONE]");

        UsageRow u = row(r.raw().headers().firstValue("x-request-id").orElseThrow());
        assertThat(u.completionTokens()).isEqualTo(3);
        assertThat(u.deployment()).isEqualTo("stalling");
        assertThat(u.status()).isEqualTo("error");
        assertThat(release.getCount()).isEqualTo(1); // the upstream never finished on its own
    }

    @Test
    void aBodyThatStallsIsTimedOutAndAnswered504WithoutBookingTokens() throws Exception {
        String body = "{\"model\":\"slow-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":5}";
        int before = hits.get();
        long t0 = System.nanoTime();
        var r = s.post("/v1/chat/completions", body);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(r.status()).as(r.raw().body()).isEqualTo(504);
        assertThat(ms).isLessThan(15_000);
        assertThat(hits.get() - before).isBetween(1, 2); // tried again once at most, then given up
        UsageRow u = row(r.raw().headers().firstValue("x-request-id").orElseThrow());
        assertThat(u.completionTokens()).isZero();
        assertThat(u.status()).isEqualTo("error");
    }
}
