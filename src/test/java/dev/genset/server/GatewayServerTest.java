package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.genset.gateway.Gateway;
import dev.genset.gateway.GatewayConfig;
import dev.genset.store.ApiKeyRecord;
import dev.genset.store.BudgetAssertions;
import dev.genset.store.Budgets;
import dev.genset.store.Database;
import dev.genset.store.Deployments;
import dev.genset.store.UsageReports;
import dev.genset.store.UsageRow;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** genset serve with the gateway: keys, limits, budgets and the usage ledger, on a real SQLite file, over real HTTP. */
@Timeout(120)
class GatewayServerTest {
    static final String ADMIN = "admin-secret-for-tests";
    @TempDir
    static Path dir;
    static Gateway gateway;
    static TestServer s;
    static String key;

    @BeforeAll
    static void start() throws Exception {
        gateway = Gateway.open(GatewayConfig.of(Database.sqlite(dir.resolve("genset.db"))).withAdminKey(ADMIN));
        s = new TestServer(c -> c.withContextSize(4096), gateway);
        // no key yet, on loopback: open
        assertThat(s.post("/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":2}").status()).isEqualTo(200);
        key = createKey("{\"name\":\"main\"}");
    }

    @AfterAll
    static void stop() {
        s.close();
        gateway.close();
    }

    static String createKey(String spec) throws Exception {
        var r = s.send("POST", "/admin/keys", spec, "Authorization", "Bearer " + ADMIN);
        assertThat(r.status()).as(r.raw().body()).isIn(200, 201);
        return r.json().get("key").asText();
    }

    static String[] auth(String k) {
        return new String[] {"Authorization", "Bearer " + k};
    }

    /** The ledger row of a response (settled just after the response went out, written by the ledger thread). */
    static UsageRow row(TestServer.Reply r) throws InterruptedException {
        return row(r.raw().headers().firstValue("x-request-id").orElseThrow());
    }

    /** Rows in the ledger once earlier requests are settled and written. */
    static long settledCount() throws InterruptedException {
        Thread.sleep(150);
        assertThat(gateway.ledger().flush(10_000)).isTrue();
        return new UsageReports(gateway.store()).count();
    }

    static UsageRow row(String requestId) throws InterruptedException {
        return bookedRow(gateway, requestId);
    }

    /** The ledger row of a request, flushing the ledger until it is there (20 s at most). */
    static UsageRow bookedRow(Gateway gateway, String requestId) throws InterruptedException {
        UsageReports reports = new UsageReports(gateway.store());
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        UsageRow u;
        while ((u = reports.row(requestId)) == null) {
            assertThat(System.nanoTime()).as("request " + requestId + " was never booked").isLessThan(deadline);
            gateway.ledger().flush(200);
            Thread.sleep(10);
        }
        return u;
    }

    /** llama-server's /slots shows what every tenant's requests are doing: once keys exist, only the admin key may read it. */
    @Test
    void slotsNeedTheAdminKey() throws Exception {
        assertThat(s.send("GET", "/slots", null, "Authorization", "Bearer " + key).status()).isEqualTo(403);
        assertThat(s.get("/slots").status()).isEqualTo(401);
        var r = s.send("GET", "/slots", null, "Authorization", "Bearer " + ADMIN);
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().isArray()).isTrue();
    }

    @Test
    void embeddingsAreMeteredByTheirInputTokens() throws Exception {
        assertThat(s.post("/v1/embeddings", "{\"input\":\"Once upon a time\"}").status()).as("a key is needed").isEqualTo(401);
        var r = s.send("POST", "/v1/embeddings", "{\"input\":[\"Once upon a time\",\"there was a cat\"]}", auth(key));
        assertThat(r.status()).as(r.raw().body()).isEqualTo(200);
        UsageRow u = row(r);
        assertThat(u.promptTokens()).isEqualTo(r.json().at("/usage/prompt_tokens").asLong()).isGreaterThan(4);
        assertThat(u.completionTokens()).isZero();
        assertThat(u.status()).isEqualTo("ok");
        assertThat(u.keyId()).isNotBlank();
    }

    /** Anthropic's clients send their key as x-api-key: the request is admitted and booked to that key like any other. */
    @Test
    void anthropicsKeyHeaderIsAKeyToo() throws Exception {
        String body = "{\"model\":\"stories260K\",\"max_tokens\":4,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
        assertThat(s.post("/v1/messages", body).status()).isEqualTo(401);
        assertThat(s.send("POST", "/v1/messages", body, "x-api-key", "gs-wrong").status()).isEqualTo(401);
        var r = s.send("POST", "/v1/messages", body, "x-api-key", key);
        assertThat(r.status()).as(r.raw().body()).isEqualTo(200);
        UsageRow u = row(r);
        assertThat(u.status()).isEqualTo("ok");
        assertThat(u.completionTokens()).isEqualTo(r.json().at("/usage/output_tokens").asLong()).isPositive();
    }

    @Test
    void withoutAKeyOrWithAWrongOneIs401OnceAKeyExists() throws Exception {
        var none = s.post("/v1/chat/completions", ServerApiTest.chat("Hi", 4, ""));
        assertThat(none.status()).isEqualTo(401);
        assertThat(none.json().at("/error/type").asText()).isEqualTo("invalid_request_error");
        assertThat(none.json().at("/error/code").asText()).isEqualTo("missing_api_key");
        var wrong = s.post("/v1/completions", "{\"prompt\":\"Once\"}", auth("gs-wrong"));
        assertThat(wrong.status()).isEqualTo(401);
        assertThat(wrong.json().at("/error/code").asText()).isEqualTo("invalid_api_key");
        assertThat(s.get("/v1/models").status()).isEqualTo(401);
        assertThat(s.get("/health").status()).isEqualTo(200); // probes need no key
        assertThat(s.send("GET", "/admin/keys", null).status()).isEqualTo(401); // the admin API has its own key
    }

    @Test
    void aValidKeyIsServedAndBookedOnce() throws Exception {
        long before = settledCount();
        var r = s.post("/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":7,\"temperature\":0,\"ignore_eos\":true}", auth(key));
        assertThat(r.status()).isEqualTo(200);
        UsageRow u = row(r);
        assertThat(u.promptTokens()).isEqualTo(r.json().at("/usage/prompt_tokens").asLong()).isEqualTo(5);
        assertThat(u.completionTokens()).isEqualTo(7);
        assertThat(u.cachedTokens()).isEqualTo(r.json().at("/usage/prompt_tokens_details/cached_tokens").asLong());
        assertThat(u.status()).isEqualTo("ok");
        assertThat(u.model()).isEqualTo("stories260K");
        assertThat(u.keyId()).isNotNull();
        assertThat(settledCount()).isEqualTo(before + 1);
    }

    @Test
    void aStreamIsBookedOnceWithItsUsage() throws Exception {
        String body = "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story\"}],\"max_tokens\":9,"
                + "\"temperature\":0,\"ignore_eos\":true,\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
        var r = s.post("/v1/chat/completions", body, auth(key));
        assertThat(r.status()).isEqualTo(200);
        List<String> events = r.raw().body().lines().filter(l -> l.startsWith("data: ")).map(l -> l.substring(6)).toList();
        assertThat(events.getLast()).isEqualTo("[DONE]");
        JsonNode usage = TestServer.parse(events.get(events.size() - 2)).get("usage");
        UsageRow u = row(r);
        assertThat(u.promptTokens()).isEqualTo(usage.get("prompt_tokens").asLong());
        assertThat(u.completionTokens()).isEqualTo(9);
        assertThat(u.status()).isEqualTo("ok");
    }

    @Test
    void aStreamCutByTheClientBooksTheTokensProduced() throws Exception {
        cutStream("/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":4000,\"temperature\":0,\"ignore_eos\":true,\"stream\":true}", "data: ");
    }

    @Test
    void anOllamaStreamCutByTheClientIsBookedToo() throws Exception {
        cutStream("/api/generate", "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"options\":{\"num_predict\":4000,\"temperature\":0}}", "{");
    }

    /** Opens a stream, reads its first event, drops the connection: the request is booked once, as cancelled, with the tokens generated. */
    private static void cutStream(String path, String body, String eventStart) throws Exception {
        long before = settledCount();
        long generatedBefore = s.server.scheduler("stories260K").stats().generatedTokens();
        String requestId = openAndCut(key, path, body, eventStart);
        UsageRow u = row(requestId);
        assertThat(u.status()).isEqualTo("cancelled");
        assertThat(u.promptTokens()).isEqualTo(5);
        long produced = s.server.scheduler("stories260K").stats().generatedTokens() - generatedBefore;
        assertThat(u.completionTokens()).isPositive().isLessThan(4000).isEqualTo(produced);
        assertThat(settledCount()).isEqualTo(before + 1);
    }

    /** Sends a streamed request, reads up to its first event and drops the connection; returns the request's id. */
    private static String openAndCut(String key, String path, String body, String eventStart) throws Exception {
        String requestId = null;
        try (Socket socket = new Socket("127.0.0.1", s.server.port())) {
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            OutputStream out = socket.getOutputStream();
            out.write(("POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAuthorization: Bearer " + key
                    + "\r\nContent-Length: " + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(b);
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                if (line.toLowerCase(java.util.Locale.ROOT).startsWith("x-request-id:")) requestId = line.substring(line.indexOf(':') + 1).trim();
                if (line.startsWith(eventStart)) break;
            }
        }
        assertThat(requestId).isNotNull();
        return requestId;
    }

    /**
     * A key with a budget is served through a budget lease: after a burst of whole, streamed and
     * cut requests its counters hold exactly what the ledger holds (nothing lost, nothing counted
     * twice), and its reservations exactly what its lease holds.
     */
    @Test
    void aBudgetedKeysCountersMatchTheLedgerAfterABurstWithCutStreams() throws Exception {
        var price = s.send("PUT", "/admin/prices/stories260K", "{\"input\":\"1\",\"output\":\"1\"}", "Authorization", "Bearer " + ADMIN);
        assertThat(price.status()).as(price.raw().body()).isEqualTo(200);
        try {
            String k = createKey("{\"name\":\"leased\",\"budget\":\"100.00\"}");
            ApiKeyRecord rec = gateway.admin().key("leased");
            List<String> cut = new ArrayList<>();
            List<Future<?>> fs = new ArrayList<>();
            try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 3; i++) {
                    fs.add(pool.submit(() -> assertThat(s.post("/v1/completions",
                            "{\"prompt\":\"Once upon a time\",\"max_tokens\":8,\"temperature\":0,\"ignore_eos\":true}", auth(k)).status()).isEqualTo(200)));
                    fs.add(pool.submit(() -> assertThat(s.post("/v1/completions",
                            "{\"prompt\":\"Once upon a time\",\"max_tokens\":8,\"temperature\":0,\"ignore_eos\":true,\"stream\":true}", auth(k)).status()).isEqualTo(200)));
                    fs.add(pool.submit(() -> {
                        String id = openAndCut(k, "/v1/completions",
                                "{\"prompt\":\"Once upon a time\",\"max_tokens\":4000,\"temperature\":0,\"ignore_eos\":true,\"stream\":true}", "data: ");
                        synchronized (cut) {
                            cut.add(id);
                        }
                        return null;
                    }));
                }
                for (Future<?> f : fs) f.get();
            }
            for (String id : cut) assertThat(row(id).status()).isEqualTo("cancelled");
            settledCount();
            long rows = new UsageReports(gateway.store()).totals(new UsageReports.Filter(rec.id(), null, null, null, null), UsageReports.GroupBy.NONE)
                    .getFirst().requests();
            assertThat(rows).isEqualTo(9);
            Budgets.Counter c = BudgetAssertions.assertCountersMatchLedger(gateway.store(), rec.id(), rec.limits());
            assertThat(c.spentNanos()).isPositive();
            assertThat(BudgetAssertions.leaseRows(gateway.store(), rec.id(), rec.limits())).isEqualTo(1);
        } finally {
            s.send("DELETE", "/admin/prices/stories260K", null, "Authorization", "Bearer " + ADMIN);
        }
    }

    /**
     * A client that sends a non-streamed request and then shuts its side of the connection while the
     * reply is generated: the generation stops, the request is booked once, as cancelled, with the
     * tokens generated, and the reply (should the client still read) is a 499 error.
     */
    @Test
    void aClientThatLeavesBeforeItsNonStreamedReplyIsBookedAsCancelled() throws Exception {
        long before = settledCount();
        long generatedBefore = s.server.scheduler("stories260K").stats().generatedTokens();
        byte[] b = "{\"prompt\":\"Once upon a time\",\"max_tokens\":4000,\"temperature\":0,\"ignore_eos\":true}".getBytes(StandardCharsets.UTF_8);
        String reply;
        try (Socket socket = new Socket("127.0.0.1", s.server.port())) {
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAuthorization: Bearer " + key
                    + "\r\nContent-Length: " + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(b);
            out.flush();
            ServerLifecycleTest.awaitBusy(s);
            Thread.sleep(50); // some tokens
            socket.shutdownOutput();
            reply = ServerLifecycleTest.readReply(socket);
        }
        assertThat(reply).startsWith("HTTP/1.1 499").contains("\"code\":\"client_closed_request\"");
        Matcher id = Pattern.compile("(?im)^x-request-id: *(\\S+)").matcher(reply);
        assertThat(id.find()).isTrue();
        UsageRow u = row(id.group(1));
        assertThat(u.status()).isEqualTo("cancelled");
        assertThat(u.promptTokens()).isEqualTo(5);
        long produced = s.server.scheduler("stories260K").stats().generatedTokens() - generatedBefore;
        assertThat(u.completionTokens()).isPositive().isLessThan(4000).isEqualTo(produced);
        assertThat(settledCount()).isEqualTo(before + 1);
    }

    /**
     * Computed prompts are reused within a key, or within a team, never across them, nor across
     * {@code cache_salt}s: one tenant's prompt is not to be found through another's cached tokens.
     */
    @Test
    void cachedPromptsStayWithTheirKeyOrTeam() throws Exception {
        String own = createKey("{\"name\":\"cache-own\"}"), stranger = createKey("{\"name\":\"cache-stranger\"}");
        assertThat(s.send("POST", "/admin/teams", "{\"name\":\"cache-team\"}", "Authorization", "Bearer " + ADMIN).status()).isEqualTo(201);
        String mate = createKey("{\"name\":\"cache-mate\",\"team\":\"cache-team\"}"), mate2 = createKey("{\"name\":\"cache-mate2\",\"team\":\"cache-team\"}");
        String prompt = "The secret of the old house was a little red box hidden under the stairs, and only Tom knew where it was. ";
        java.util.function.BiFunction<String, String, Integer> cached = (k, extra) -> {
            try {
                var r = s.post("/v1/completions", "{\"prompt\":" + TestServer.JSON.valueToTree(prompt) + ",\"max_tokens\":2,\"temperature\":0" + extra + "}", auth(k));
                assertThat(r.status()).as(r.raw().body()).isEqualTo(200);
                return r.json().at("/usage/prompt_tokens_details/cached_tokens").asInt();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        };
        cached.apply(own, "");
        assertThat(cached.apply(own, "")).as("the same key again").isPositive();
        assertThat(cached.apply(stranger, "")).as("another key").isZero();
        assertThat(cached.apply(own, ",\"cache_salt\":\"s1\"")).as("a salt of its own").isZero();
        assertThat(cached.apply(own, ",\"cache_salt\":\"s1\"")).as("the same salt again").isPositive();
        cached.apply(mate, "");
        assertThat(cached.apply(mate2, "")).as("a key of the same team").isPositive();
    }

    @Test
    void aModelTheKeyMayNotUseIs403() throws Exception {
        String k = createKey("{\"name\":\"narrow\",\"models\":[\"some-other-model\"]}");
        var r = s.post("/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":2}", auth(k));
        assertThat(r.status()).as(r.raw().body()).isEqualTo(403);
        assertThat(r.json().at("/error/type").asText()).isEqualTo("permission_error");
        assertThat(r.json().at("/error/code").asText()).isEqualTo("model_not_allowed");
        // and the model list shows such a key only what it may use
        assertThat(s.send("GET", "/v1/models", null, auth(k)).json().get("data").findValuesAsText("id")).doesNotContain("stories260K");
        assertThat(s.send("GET", "/v1/models", null, auth(key)).json().get("data").findValuesAsText("id")).contains("stories260K");
        assertThat(s.send("GET", "/api/tags", null, auth(k)).json().get("models").findValuesAsText("name")).doesNotContain("stories260K");
        assertThat(s.send("GET", "/api/tags", null, auth(key)).json().get("models").findValuesAsText("name")).contains("stories260K");
    }

    @Test
    void aRevokedKeyIsRefusedAtTheNextRequest() throws Exception {
        String k = createKey("{\"name\":\"to-revoke\"}");
        assertThat(s.post("/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":2}", auth(k)).status()).isEqualTo(200);
        var rev = s.send("DELETE", "/admin/keys/to-revoke", null, "Authorization", "Bearer " + ADMIN);
        assertThat(rev.status()).as(rev.raw().body()).isEqualTo(200);
        var r = s.post("/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":2}", auth(k));
        assertThat(r.status()).isEqualTo(401);
        assertThat(r.json().at("/error/code").asText()).isEqualTo("invalid_api_key");
    }

    @Test
    void theRpmLimitAnswers429WithRetryAfterAndRateHeaders() throws Exception {
        String k = createKey("{\"name\":\"slow\",\"rpm\":2}");
        var first = s.post("/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":2}", auth(k));
        assertThat(first.status()).isEqualTo(200);
        assertThat(first.raw().headers().firstValue("x-ratelimit-limit-requests")).contains("2");
        assertThat(first.raw().headers().firstValue("x-ratelimit-remaining-requests")).contains("1");
        assertThat(s.post("/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":2}", auth(k)).status()).isEqualTo(200);
        var third = s.post("/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":2}", auth(k));
        assertThat(third.status()).isEqualTo(429);
        assertThat(third.json().at("/error/code").asText()).isEqualTo("rate_limit_exceeded");
        assertThat(third.json().at("/error/type").asText()).isEqualTo("requests");
        assertThat(Long.parseLong(third.raw().headers().firstValue("Retry-After").orElseThrow())).isPositive();
        assertThat(third.raw().headers().firstValue("x-ratelimit-remaining-requests")).contains("0");
        assertThat(third.raw().headers().firstValue("x-ratelimit-reset-requests")).isPresent();
    }

    @Test
    void anExhaustedBudgetAnswers429InsufficientQuota() throws Exception {
        // a dollar a token: the first request (5 + 16 tokens) fits the $30 budget, the second no longer does
        var price = s.send("PUT", "/admin/prices/stories260K", "{\"input\":\"1000000\",\"output\":\"1000000\"}", "Authorization", "Bearer " + ADMIN);
        assertThat(price.status()).as(price.raw().body()).isEqualTo(200);
        try {
            String k = createKey("{\"name\":\"frugal\",\"budget\":\"30.00\"}");
            String body = "{\"prompt\":\"Once upon a time\",\"max_tokens\":16,\"temperature\":0,\"ignore_eos\":true}";
            var first = s.post("/v1/completions", body, auth(k));
            assertThat(first.status()).as(first.raw().body()).isEqualTo(200);
            assertThat(row(first).cost()).isEqualByComparingTo("21");
            var second = s.post("/v1/completions", body, auth(k));
            assertThat(second.status()).isEqualTo(429);
            assertThat(second.json().at("/error/code").asText()).isEqualTo("insufficient_quota");
            assertThat(second.json().at("/error/type").asText()).isEqualTo("insufficient_quota");
        } finally {
            s.send("DELETE", "/admin/prices/stories260K", null, "Authorization", "Bearer " + ADMIN);
        }
    }

    @Test
    void withoutKeysANonLoopbackAddressNeedsOpen(@TempDir Path other) throws Exception {
        try (Gateway empty = Gateway.open(GatewayConfig.of(Database.sqlite(other.resolve("genset.db"))))) {
            ServerConfig d = ServerConfig.defaults(List.of(dev.genset.testing.TestFiles.storiesModel())).withThreads(1);
            ServerConfig wide = new ServerConfig("0.0.0.0", 0, d.models(), 1, 64, 1, 32, 4, d.requestTimeout(), d.maxBodyBytes(), Duration.ZERO);
            assertThatThrownBy(() -> GensetServer.start(wide, empty, false)).isInstanceOf(IllegalStateException.class).hasMessageContaining("--open");
            try (GensetServer open = GensetServer.start(wide, empty, true)) {
                assertThat(open.port()).isPositive();
            }
        }
    }

    @Test
    void modelsRoutedUpstreamArePassedThroughAndBooked() throws Exception {
        try (TestServer up = new TestServer(c -> c.withParallel(2))) {
            gateway.admin().putDeployment(new Deployments.Row("up1", "remote-stories", "openai", up.base + "/v1", "upstream-key", "stories260K", 0, 1, 30_000L));
            gateway.reloadRoutes();
            try {
                var models = s.send("GET", "/v1/models", null, auth(key));
                assertThat(models.json().get("data").findValuesAsText("id")).contains("stories260K", "remote-stories");

                var whole = s.post("/v1/completions", "{\"model\":\"remote-stories\",\"prompt\":\"Once upon a time\",\"max_tokens\":6,\"temperature\":0,\"ignore_eos\":true}", auth(key));
                assertThat(whole.status()).as(whole.raw().body()).isEqualTo(200);
                assertThat(whole.json().get("model").asText()).isEqualTo("remote-stories");
                var local = s.post("/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":6,\"temperature\":0,\"ignore_eos\":true}", auth(key));
                assertThat(whole.json().at("/choices/0/text").asText()).isEqualTo(local.json().at("/choices/0/text").asText());
                UsageRow u = row(whole);
                assertThat(u.provider()).isEqualTo("openai");
                assertThat(u.deployment()).isEqualTo("up1");
                assertThat(u.promptTokens()).isEqualTo(5);
                assertThat(u.completionTokens()).isEqualTo(6);

                String chat = "{\"model\":\"remote-stories\",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story\"}],\"max_tokens\":7,"
                        + "\"temperature\":0,\"ignore_eos\":true,\"stream\":true}";
                var streamed = s.post("/v1/chat/completions", chat, auth(key));
                assertThat(streamed.status()).isEqualTo(200);
                assertThat(streamed.raw().headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
                List<String> events = streamed.raw().body().lines().filter(l -> l.startsWith("data: ")).map(l -> l.substring(6)).toList();
                assertThat(events.getLast()).isEqualTo("[DONE]");
                assertThat(events).noneMatch(e -> e.contains("\"usage\":{")); // asked for upstream, not by the client
                UsageRow su = row(streamed);
                assertThat(su.completionTokens()).isEqualTo(7);
                assertThat(su.deployment()).isEqualTo("up1");
            } finally {
                new Deployments(gateway.store()).remove("up1");
                gateway.reloadRoutes();
            }
        }
    }

    @Test
    void theOpenAiSdkWorksWithAnApiKey() {
        OpenAIClient ok = OpenAIOkHttpClient.builder().baseUrl(s.base + "/v1").apiKey(key).maxRetries(0).timeout(Duration.ofSeconds(60)).build();
        OpenAIClient bad = OpenAIOkHttpClient.builder().baseUrl(s.base + "/v1").apiKey("gs-nope").maxRetries(0).timeout(Duration.ofSeconds(60)).build();
        try {
            ChatCompletion c = ok.chat().completions().create(ChatCompletionCreateParams.builder().model("stories260K")
                    .addUserMessage("Tell me a story").maxCompletionTokens(8).temperature(0.0).build());
            assertThat(c.choices().getFirst().message().content()).isPresent();
            assertThat(c.usage().orElseThrow().completionTokens()).isPositive();
            assertThat(ok.models().list().data()).isNotEmpty();
            assertThatThrownBy(() -> bad.chat().completions().create(ChatCompletionCreateParams.builder().model("stories260K")
                    .addUserMessage("Hi").maxCompletionTokens(4).build())).isInstanceOf(UnauthorizedException.class);
        } finally {
            ok.close();
            bad.close();
        }
    }
}
