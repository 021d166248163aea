package dev.genset.gateway;

import dev.genset.gateway.route.Deployment;
import dev.genset.gateway.route.Router;
import dev.genset.store.Database;
import dev.genset.store.Deployments;
import dev.genset.store.Store;
import dev.genset.store.TestDatabases;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DeploymentsTest {
    @ParameterizedTest
    @EnumSource(Database.Kind.class)
    void routesComeFromTheStore(Database.Kind kind) {
        try (Store s = Store.open(TestDatabases.fresh(kind));
             Gateway g = new Gateway(s, new dev.genset.gateway.ratelimit.LocalRateLimiter(), GatewayConfig.of(s.database()))) {
            g.admin().putDeployment(new Deployments.Row("eu", "gpt", "openai", "http://127.0.0.1:9/v1", "sk-1", "gpt-4o-mini", 1, 3, 5_000L));
            g.admin().putDeployment(new Deployments.Row("engine", "gpt", "local", null, null, null, 0, 1, null));
            g.admin().setRouteStrategy("gpt", "weighted");
            assertThatThrownBy(() -> g.admin().putDeployment(new Deployments.Row("x", "gpt", "openai", null, null, null, 0, 1, null)))
                    .hasMessageContaining("base URL");
            g.reloadRoutes();
            Router r = g.router();
            assertThat(r.routes("gpt")).isTrue();
            assertThat(r.deployments("gpt")).extracting(Deployment::name).containsExactlyInAnyOrder("eu", "engine");
            Deployment eu = r.deployments("gpt").stream().filter(d -> d.name().equals("eu")).findFirst().orElseThrow();
            assertThat(eu.timeout()).isEqualTo(Duration.ofSeconds(5));
            assertThat(eu.targetModel()).isEqualTo("gpt-4o-mini");
            assertThat(eu.toString()).doesNotContain("sk-1");
            // weighted 3:1 — of four picks, eu leads three
            int eus = 0;
            for (int i = 0; i < 4; i++) if (r.order("gpt").getFirst().name().equals("eu")) eus++;
            assertThat(eus).isEqualTo(3);
            g.admin().removeDeployment("eu");
            g.admin().removeDeployment("engine");
            g.reloadRoutes();
            assertThat(r.routes("gpt")).isFalse();
        }
    }
}
