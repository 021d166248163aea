package dev.genset.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.genset.gateway.admin.AdminHttpService;
import dev.genset.gateway.ratelimit.LocalRateLimiter;
import dev.genset.store.Store;
import dev.genset.store.TestDatabases;
import io.helidon.webserver.WebServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/** The /admin API on a real Helidon server on a loopback port. */
class AdminHttpServiceTest {
    private static final String ADMIN_KEY = "admin-secret-0123456789";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Store store;
    private static Gateway gateway;
    private static WebServer server;
    private static WebServer disabled;
    private static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() {
        store = Store.open(TestDatabases.freshSqlite());
        gateway = new Gateway(store, new LocalRateLimiter(), GatewayConfig.of(store.database()));
        server = WebServer.builder().host("127.0.0.1").port(0)
                .routing(r -> r.register("/admin", new AdminHttpService(gateway.admin(), ADMIN_KEY))).build().start();
        disabled = WebServer.builder().host("127.0.0.1").port(0)
                .routing(r -> r.register("/admin", new AdminHttpService(gateway.admin(), null))).build().start();
    }

    @AfterAll
    static void stop() {
        if (server != null) server.stop();
        if (disabled != null) disabled.stop();
        if (gateway != null) gateway.close();
        if (store != null) store.close();
    }

    record Reply(int status, JsonNode body) {}

    private static Reply call(WebServer s, String method, String path, String body, String auth) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (auth != null) b.header("Authorization", "Bearer " + auth);
        if (body != null) b.header("Content-Type", "application/json");
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), r.body().isEmpty() ? null : JSON.readTree(r.body()));
    }

    private static Reply call(String method, String path, String body) throws Exception {
        return call(server, method, path, body, ADMIN_KEY);
    }

    @Test
    void refusesWithoutTheAdminKey() throws Exception {
        Reply none = call(server, "GET", "/admin/keys", null, null);
        assertThat(none.status()).isEqualTo(401);
        assertThat(none.body().at("/error/code").asText()).isEqualTo("invalid_admin_key");
        assertThat(call(server, "GET", "/admin/keys", null, ADMIN_KEY + "x").status()).isEqualTo(401);
        assertThat(call(server, "GET", "/admin/keys", null, "").status()).isEqualTo(401);
        Reply off = call(disabled, "GET", "/admin/keys", null, ADMIN_KEY);
        assertThat(off.status()).isEqualTo(403);
        assertThat(off.body().at("/error/code").asText()).isEqualTo("admin_disabled");
    }

    @Test
    void keysTeamsPricesAndUsageOverHttp() throws Exception {
        Reply team = call("POST", "/admin/teams", "{\"name\": \"web\", \"rpm\": 100, \"budget\": \"20\", \"period\": \"monthly\"}");
        assertThat(team.status()).isEqualTo(201);
        assertThat(team.body().get("budget").asText()).isEqualTo("20.00");

        Reply created = call("POST", "/admin/keys", "{\"name\": \"frontend\", \"team\": \"web\", \"models\": [\"m\"], \"tpm\": 5000, \"expires\": \"7d\"}");
        assertThat(created.status()).isEqualTo(201);
        String key = created.body().get("key").asText();
        String id = created.body().get("id").asText();
        assertThat(key).startsWith("gs-");
        assertThat(created.body().get("team").asText()).isEqualTo("web");

        Reply list = call("GET", "/admin/keys?team=web", null);
        assertThat(list.body().get("data")).hasSize(1);
        assertThat(list.body().toString()).doesNotContain(key);

        assertThat(call("PUT", "/admin/prices/m", "{\"input\": \"2.50\", \"output\": \"10\", \"cached_input\": \"1.25\"}").status()).isEqualTo(200);
        assertThat(call("GET", "/admin/prices", null).body().at("/data/0/cached_input").asText()).isEqualTo("1.25");

        Admission a = gateway.admit(key, "m", 1000, 100);
        gateway.settle(a, new Usage(1000, 100, 200, "local", "local"), "ok");
        gateway.ledger().flush();
        Reply usage = call("GET", "/admin/usage?team=web&by=model", null);
        assertThat(usage.status()).isEqualTo(200);
        assertThat(usage.body().at("/totals/requests").asLong()).isEqualTo(1);
        // 800 * 2.50 + 200 * 1.25 + 100 * 10 per million
        assertThat(usage.body().at("/totals/cost").decimalValue()).isEqualByComparingTo("0.00325");
        assertThat(usage.body().at("/groups/0/group").asText()).isEqualTo("m");

        Reply shown = call("GET", "/admin/keys/" + id, null);
        assertThat(shown.body().at("/spend/spent").asText()).isEqualTo("0.00325");

        Reply patched = call("PATCH", "/admin/keys/" + id, "{\"rpm\": 7}");
        assertThat(patched.body().get("rpm").asLong()).isEqualTo(7);
        assertThat(gateway.admit(key, "m", 1, 1).headers()).containsEntry("x-ratelimit-limit-requests", "7");

        assertThat(call("DELETE", "/admin/keys/" + id, null).body().get("revoked_at").isNull()).isFalse();
        GatewayException e = org.assertj.core.api.Assertions.catchThrowableOfType(GatewayException.class, () -> gateway.admit(key, "m", 1, 1));
        assertThat(e.status()).isEqualTo(401);

        assertThat(call("PATCH", "/admin/teams/web", "{\"disabled\": true}").body().get("disabled").asBoolean()).isTrue();
        assertThat(call("GET", "/admin/keys/nope", null).status()).isEqualTo(404);
        assertThat(call("POST", "/admin/keys", "{\"team\": \"web\"}").status()).isEqualTo(400);
        assertThat(call("POST", "/admin/keys", "not json").status()).isEqualTo(400);
        assertThat(call("GET", "/admin/nothing", null).status()).isEqualTo(404);
    }

    @Test
    void requestCaptureIsSetPerKeyAndAppliesFromTheNextRequest() throws Exception {
        Reply created = call("POST", "/admin/keys", "{\"name\": \"captured\", \"rpm\": 9}");
        assertThat(created.status()).isEqualTo(201);
        assertThat(created.body().get("capture").asBoolean(true)).isFalse(); // off by default
        String id = created.body().get("id").asText(), key = created.body().get("key").asText();
        assertThat(gateway.authenticate(key).key().capture()).isFalse();

        Reply on = call("PATCH", "/admin/keys/" + id, "{\"capture\": true}");
        assertThat(on.status()).isEqualTo(200);
        assertThat(on.body().get("capture").asBoolean()).isTrue();
        assertThat(on.body().get("rpm").asLong()).isEqualTo(9); // limits untouched
        assertThat(call("GET", "/admin/keys/captured", null).body().get("capture").asBoolean()).isTrue();
        assertThat(gateway.authenticate(key).key().capture()).isTrue();

        Reply both = call("PATCH", "/admin/keys/" + id, "{\"capture\": false, \"rpm\": 3}");
        assertThat(both.body().get("capture").asBoolean()).isFalse();
        assertThat(both.body().get("rpm").asLong()).isEqualTo(3);
        assertThat(gateway.authenticate(key).key().capture()).isFalse();

        Reply bad = call("PATCH", "/admin/keys/" + id, "{\"capture\": \"sometimes\"}");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.body().at("/error/message").asText()).contains("capture");
        assertThat(call("GET", "/admin/keys/" + id, null).body().get("capture").asBoolean()).isFalse();
    }
}
