package dev.genset.gateway;

import dev.genset.gateway.admin.AdminService;
import dev.genset.gateway.ratelimit.LocalRateLimiter;
import dev.genset.store.Database;
import dev.genset.store.Limits;
import dev.genset.store.Store;
import dev.genset.store.TestDatabases;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * The gateway keeps keys in memory: changes made through another store handle (another
 * process) still apply from the next request, and an unchanged key is not read again.
 */
class GatewayKeyCacheTest {

    private static Gateway gateway(Store s) {
        return new Gateway(s, new LocalRateLimiter(), GatewayConfig.of(s.database()));
    }

    @ParameterizedTest
    @EnumSource(Database.Kind.class)
    void changesFromAnotherStoreHandleApplyAtTheNextRequest(Database.Kind kind) throws Exception {
        Database db = TestDatabases.fresh(kind);
        try (Store mine = Store.open(db); Store theirs = Store.open(db); Gateway g = gateway(mine)) {
            AdminService other = new AdminService(theirs); // as the CLI in another process
            g.configureOpenAccess(java.net.InetAddress.getLoopbackAddress(), false);
            for (int i = 0; i < 3; i++) g.settle(g.admit(null, "m1", 1, 1), Usage.of(1, 1), "ok"); // no key exists yet: open
            assertThat(g.keysRequired()).isFalse();
            AdminService.CreatedKey k = other.createKey(new AdminService.KeySpec("ci", null, Limits.NONE, null));
            assertThat(g.keysRequired()).isTrue(); // the first key, created elsewhere, closes open access at once
            assertThat(catchThrowableOfType(GatewayException.class, () -> g.admit(null, "m1", 1, 1)).code()).isEqualTo("missing_api_key");
            g.settle(g.admit(k.key(), "m1", 1, 1), Usage.of(1, 1), "ok");
            assertThat(g.authenticate(k.key()).key().capture()).isFalse();

            // a write that does not go through the admin service is not seen: the key is not read per request
            theirs.call(c -> Store.update(c, "UPDATE api_keys SET name = 'renamed' WHERE id = ?", k.record().id()));
            assertThat(g.authenticate(k.key()).key().name()).isEqualTo("ci");

            other.setKeyCapture(k.record().id(), true); // any change through the admin service bumps the version
            assertThat(g.authenticate(k.key()).key().capture()).isTrue();
            assertThat(g.authenticate(k.key()).key().name()).isEqualTo("renamed");

            other.updateKey(k.record().id(), Limits.NONE.withModels(List.of("m2")), null);
            assertThat(catchThrowableOfType(GatewayException.class, () -> g.admit(k.key(), "m1", 1, 1)).code()).isEqualTo("model_not_allowed");
            g.settle(g.admit(k.key(), "m2", 1, 1), Usage.of(1, 1), "ok");

            other.createTeam("research", Limits.NONE);
            AdminService.CreatedKey t = other.createKey(new AdminService.KeySpec("member", "research", Limits.NONE, null));
            g.settle(g.admit(t.key(), "m1", 1, 1), Usage.of(1, 1), "ok");
            other.setTeamDisabled("research", true);
            assertThat(catchThrowableOfType(GatewayException.class, () -> g.admit(t.key(), "m1", 1, 1)).code()).isEqualTo("team_disabled");
            other.setTeamDisabled("research", false);
            g.settle(g.admit(t.key(), "m1", 1, 1), Usage.of(1, 1), "ok");

            other.revokeKey(k.record().id());
            GatewayException revoked = catchThrowableOfType(GatewayException.class, () -> g.admit(k.key(), "m2", 1, 1));
            assertThat(revoked.status()).isEqualTo(401);
            assertThat(revoked.getMessage()).contains("revoked");
            assertThat(catchThrowableOfType(GatewayException.class, () -> g.authenticate(k.key())).status()).isEqualTo(401);
            g.settle(g.admit(t.key(), "m1", 1, 1), Usage.of(1, 1), "ok"); // the other key is unaffected
        }
    }

    @Test
    void aKeyRevokedByTheCliInAnotherProcessIsRefusedAtTheNextRequest() throws Exception {
        Database db = TestDatabases.freshSqlite();
        try (Store s = Store.open(db); Gateway g = gateway(s)) {
            AdminService.CreatedKey k = g.admin().createKey(new AdminService.KeySpec("ci", null, Limits.NONE, null));
            for (int i = 0; i < 3; i++) g.settle(g.admit(k.key(), "m", 1, 1), Usage.of(1, 1), "ok");

            String java = ProcessHandle.current().info().command().orElse("java");
            List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
                    "dev.genset.cli.Main", "keys", "revoke", "ci", "--db", db.jdbcUrl()));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as(out).isZero();
            assertThat(out).contains("revoked");

            GatewayException e = catchThrowableOfType(GatewayException.class, () -> g.admit(k.key(), "m", 1, 1));
            assertThat(e.status()).isEqualTo(401);
            assertThat(e.getMessage()).contains("revoked");
        }
    }
}
