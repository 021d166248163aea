package dev.genset.gateway;

import com.sun.net.httpserver.HttpServer;
import dev.genset.gateway.admin.AdminService;
import dev.genset.gateway.ratelimit.LocalRateLimiter;
import dev.genset.store.Database;
import dev.genset.store.Deployments;
import dev.genset.store.Store;
import dev.genset.store.TestDatabases;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Upstream API keys sealed at rest with the master key; plaintext ones still work and are sealed once a master key is set. */
class SecretBoxTest {

    @Test
    void sealsAndOpensOnlyWithTheSameMasterKeyAndContext() {
        SecretBox box = SecretBox.of("correct horse battery staple");
        assertThat(SecretBox.of(null)).isNull();
        assertThat(SecretBox.of("  ")).isNull();
        String a = box.seal("sk-secret", "deployment up1");
        String b = box.seal("sk-secret", "deployment up1");
        assertThat(a).startsWith(SecretBox.PREFIX).doesNotContain("sk-secret").isNotEqualTo(b); // a fresh nonce each time
        assertThat(SecretBox.open(box, a, "deployment up1")).isEqualTo("sk-secret");
        assertThat(SecretBox.open(box, b, "deployment up1")).isEqualTo("sk-secret");
        assertThat(SecretBox.open(null, "sk-plain", "deployment up1")).isEqualTo("sk-plain"); // stored before a master key
        assertThat(SecretBox.open(box, null, "deployment up1")).isNull();

        assertThatThrownBy(() -> SecretBox.open(box, a, "deployment up2")).isInstanceOf(IllegalStateException.class).hasMessageContaining("does not open");
        assertThatThrownBy(() -> SecretBox.open(SecretBox.of("another"), a, "deployment up1")).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> SecretBox.open(null, a, "deployment up1")).isInstanceOf(IllegalStateException.class).hasMessageContaining(SecretBox.ENV);
        char[] t = a.toCharArray();
        int i = SecretBox.PREFIX.length() + 20;
        t[i] = t[i] == 'A' ? 'B' : 'A';
        assertThatThrownBy(() -> SecretBox.open(box, new String(t), "deployment up1")).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void plaintextKeysAreSealedWhenAMasterKeyIsConfiguredAndStillReachTheUpstream() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        HttpServer up = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        up.createContext("/v1/chat/completions", ex -> {
            seen.add(ex.getRequestHeaders().getFirst("Authorization"));
            ex.getRequestBody().readAllBytes();
            byte[] b = "{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}"
                    .getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        up.start();
        String url = "http://127.0.0.1:" + up.getAddress().getPort() + "/v1";
        Database db = TestDatabases.freshSqlite();
        try (Store s = Store.open(db)) {
            new AdminService(s, null, null).putDeployment(new Deployments.Row("old", "m", "openai", url, "sk-plain-old", null, 0, 1, null));
            assertThat(stored(s, "old")).isEqualTo("sk-plain-old"); // no master key: as given, as before

            GatewayConfig withKey = GatewayConfig.of(db).withMasterKey("master-1");
            assertThat(withKey.toString()).doesNotContain("master-1");
            try (Gateway g = new Gateway(s, new LocalRateLimiter(), withKey)) {
                assertThat(stored(s, "old")).startsWith(SecretBox.PREFIX).doesNotContain("sk-plain-old"); // sealed on start
                g.admin().putDeployment(new Deployments.Row("new", "m2", "openai", url, "sk-new", null, 0, 1, null));
                assertThat(stored(s, "new")).startsWith(SecretBox.PREFIX).doesNotContain("sk-new");
                g.reloadRoutes();
                var body = (com.fasterxml.jackson.databind.node.ObjectNode) new com.fasterxml.jackson.databind.ObjectMapper()
                        .readTree("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
                assertThat(g.router().forward("m", "/chat/completions", body, 3, null, null).outcome().ok()).isTrue();
                body.put("model", "m2");
                assertThat(g.router().forward("m2", "/chat/completions", body, 3, null, null).outcome().ok()).isTrue();
                assertThat(seen).containsExactly("Bearer sk-plain-old", "Bearer sk-new");
                assertThat(g.admin().sealDeploymentKeys()).isZero(); // nothing left in plaintext
            }
            assertThatThrownBy(() -> new Gateway(s, new LocalRateLimiter(), GatewayConfig.of(db)))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining(SecretBox.ENV);
            assertThatThrownBy(() -> new Gateway(s, new LocalRateLimiter(), GatewayConfig.of(db).withMasterKey("master-2")))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("does not open");
        } finally {
            up.stop(0);
        }
    }

    private static String stored(Store s, String deployment) {
        return s.call(c -> Store.queryOne(c, "SELECT api_key FROM deployments WHERE name = ?", rs -> rs.getString(1), deployment));
    }
}
