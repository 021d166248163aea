package dev.genset.gateway;

import dev.genset.gateway.admin.AdminService;
import dev.genset.gateway.ratelimit.LocalRateLimiter;
import dev.genset.store.BudgetPeriod;
import dev.genset.store.Database;
import dev.genset.store.Limits;
import dev.genset.store.Price;
import dev.genset.store.Store;
import dev.genset.store.TestDatabases;
import dev.genset.store.UsageReports;
import dev.genset.store.UsageRow;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.math.BigDecimal;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class GatewayTest {

    private static Gateway gateway(Store s) {
        return new Gateway(s, new LocalRateLimiter(), GatewayConfig.of(s.database()));
    }

    @ParameterizedTest
    @EnumSource(Database.Kind.class)
    void keysAreRequiredOnceOneExistsAndRevocationIsImmediate(Database.Kind kind) throws Exception {
        try (Store s = Store.open(TestDatabases.fresh(kind)); Gateway g = gateway(s)) {
            InetAddress loopback = InetAddress.getLoopbackAddress();
            InetAddress any = InetAddress.getByName("0.0.0.0");
            assertThat(g.openAccessAllowed(loopback, false)).isTrue();
            assertThat(g.openAccessAllowed(any, false)).isFalse();
            assertThat(g.openAccessAllowed(any, true)).isTrue();
            g.configureOpenAccess(loopback, false);
            Admission anon = g.admit(null, "m", 10, 10);
            assertThat(anon.key()).isNull();
            g.settle(anon, Usage.of(10, 3), "ok");

            AdminService.CreatedKey k = g.admin().createKey(new AdminService.KeySpec("ci", null, Limits.NONE, null));
            assertThat(k.key()).startsWith("gs-").hasSize(46);
            assertThat(g.openAccessAllowed(loopback, true)).isFalse();
            GatewayException e = catchThrowableOfType(GatewayException.class, () -> g.admit(null, "m", 1, 1));
            assertThat(e.status()).isEqualTo(401);
            assertThat(e.code()).isEqualTo("missing_api_key");
            assertThat(catchThrowableOfType(GatewayException.class, () -> g.admit("gs-wrong", "m", 1, 1)).code()).isEqualTo("invalid_api_key");

            Admission a = g.admit(k.key(), "m", 1, 1);
            assertThat(a.key().name()).isEqualTo("ci");
            g.admin().revokeKey(k.record().id());
            GatewayException revoked = catchThrowableOfType(GatewayException.class, () -> g.admit(k.key(), "m", 1, 1));
            assertThat(revoked.status()).isEqualTo(401);
            assertThat(revoked.getMessage()).contains("revoked");

            AdminService.CreatedKey soon = g.admin().createKey(new AdminService.KeySpec("soon", null, Limits.NONE, System.currentTimeMillis() + 300));
            g.admit(soon.key(), "m", 1, 1);
            Thread.sleep(350);
            assertThat(catchThrowableOfType(GatewayException.class, () -> g.admit(soon.key(), "m", 1, 1)).getMessage()).contains("expired");
        }
    }

    @Test
    void modelsAndDisabledTeams() {
        try (Store s = Store.open(TestDatabases.freshSqlite()); Gateway g = gateway(s)) {
            g.admin().createTeam("research", Limits.NONE.withModels(List.of("a", "b")));
            String k = g.admin().createKey(new AdminService.KeySpec("k", "research", Limits.NONE.withModels(List.of("b", "c")), null)).key();
            g.admit(k, "b", 1, 1);
            GatewayException e = catchThrowableOfType(GatewayException.class, () -> g.admit(k, "a", 1, 1)); // the key refuses a
            assertThat(e.status()).isEqualTo(403);
            assertThat(e.code()).isEqualTo("model_not_allowed");
            assertThat(catchThrowableOfType(GatewayException.class, () -> g.admit(k, "c", 1, 1)).code()).isEqualTo("model_not_allowed"); // the team refuses c
            g.admin().setTeamDisabled("research", true);
            assertThat(catchThrowableOfType(GatewayException.class, () -> g.admit(k, "b", 1, 1)).code()).isEqualTo("team_disabled");
        }
    }

    @Test
    void requestsPerMinuteWithOpenAiHeadersAndRetryAfter() {
        try (Store s = Store.open(TestDatabases.freshSqlite()); Gateway g = gateway(s)) {
            String k = g.admin().createKey(new AdminService.KeySpec("k", null, Limits.NONE.withRpm(3L).withTpm(1000L), null)).key();
            Admission a1 = g.admit(k, "m", 10, 90);
            assertThat(a1.headers()).containsEntry("x-ratelimit-limit-requests", "3").containsEntry("x-ratelimit-remaining-requests", "2")
                    .containsEntry("x-ratelimit-limit-tokens", "1000").containsEntry("x-ratelimit-remaining-tokens", "900")
                    .containsKeys("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens");
            g.settle(a1, Usage.of(10, 20), "ok"); // 70 unused tokens come back
            Admission a2 = g.admit(k, "m", 10, 90);
            assertThat(Long.parseLong(a2.headers().get("x-ratelimit-remaining-tokens"))).isBetween(870L, 880L);
            g.admit(k, "m", 1, 1);
            GatewayException e = catchThrowableOfType(GatewayException.class, () -> g.admit(k, "m", 1, 1));
            assertThat(e.status()).isEqualTo(429);
            assertThat(e.type()).isEqualTo("requests");
            assertThat(e.code()).isEqualTo("rate_limit_exceeded");
            assertThat(Integer.parseInt(e.retryAfter())).isBetween(1, 20);
            assertThat(e.headers()).containsEntry("x-ratelimit-remaining-requests", "0");

            String big = g.admin().createKey(new AdminService.KeySpec("b", null, Limits.NONE.withTpm(100L), null)).key();
            GatewayException tooLarge = catchThrowableOfType(GatewayException.class, () -> g.admit(big, "m", 60, 60));
            assertThat(tooLarge.type()).isEqualTo("tokens");
            assertThat(tooLarge.getMessage()).contains("Request too large");
            assertThat(tooLarge.retryAfter()).isNull();
        }
    }

    @Test
    void teamLimitsAreSharedByItsKeys() {
        try (Store s = Store.open(TestDatabases.freshSqlite()); Gateway g = gateway(s)) {
            g.admin().createTeam("t", Limits.NONE.withRpm(2L));
            String k1 = g.admin().createKey(new AdminService.KeySpec("k1", "t", Limits.NONE, null)).key();
            String k2 = g.admin().createKey(new AdminService.KeySpec("k2", "t", Limits.NONE, null)).key();
            g.admit(k1, "m", 1, 1);
            g.admit(k2, "m", 1, 1);
            GatewayException e = catchThrowableOfType(GatewayException.class, () -> g.admit(k1, "m", 1, 1));
            assertThat(e.getMessage()).contains("of this team");
        }
    }

    @ParameterizedTest
    @EnumSource(Database.Kind.class)
    void fiftyParallelRequestsAgainstABudgetForTen(Database.Kind kind) throws Exception {
        try (Store s = Store.open(TestDatabases.fresh(kind)); Gateway g = gateway(s)) {
            // $1 per million input and output tokens: 50k prompt + 50k completion tokens cost at most $0.10
            g.admin().setPrice(new Price("m", "", 0, new BigDecimal("1"), new BigDecimal("1"), null, 0));
            String k = g.admin().createKey(new AdminService.KeySpec("k", null,
                    Limits.NONE.withBudget(new BigDecimal("1.00"), BudgetPeriod.MONTHLY), null)).key();
            ConcurrentLinkedQueue<Admission> admitted = new ConcurrentLinkedQueue<>();
            AtomicInteger quota = new AtomicInteger();
            CountDownLatch go = new CountDownLatch(1);
            List<Future<?>> fs = new ArrayList<>();
            try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 50; i++) {
                    fs.add(pool.submit(() -> {
                        go.await();
                        try {
                            admitted.add(g.admit(k, "m", 50_000, 50_000));
                        } catch (GatewayException e) {
                            assertThat(e.status()).isEqualTo(429);
                            assertThat(e.type()).isEqualTo("insufficient_quota");
                            assertThat(e.code()).isEqualTo("insufficient_quota");
                            quota.incrementAndGet();
                        }
                        return null;
                    }));
                }
                go.countDown();
                for (Future<?> f : fs) f.get();
            }
            assertThat(admitted).hasSize(10);
            assertThat(quota.get()).isEqualTo(40);

            // settle them for a quarter of their maximum: the rest is released and more requests fit
            for (Admission a : admitted) g.settle(a, Usage.of(25_000, 0), "ok");
            g.ledger().flush();
            List<UsageReports.Totals> t = g.admin().usage("k", null, null, null, null, UsageReports.GroupBy.NONE);
            assertThat(t.getFirst().requests()).isEqualTo(10);
            assertThat(t.getFirst().cost()).isEqualByComparingTo("0.25");
            int more = 0;
            for (int i = 0; i < 10; i++) {
                try {
                    g.admit(k, "m", 50_000, 50_000);
                    more++;
                } catch (GatewayException e) {
                    break;
                }
            }
            assertThat(more).isEqualTo(7); // $0.75 left, $0.10 each
        }
    }

    @Test
    void settlementCostsByDeploymentAndTierAndIsIdempotent() {
        try (Store s = Store.open(TestDatabases.freshSqlite()); Gateway g = gateway(s)) {
            g.admin().setPrice(new Price("m", "", 0, new BigDecimal("0.15"), new BigDecimal("0.60"), new BigDecimal("0.075"), 0));
            g.admin().setPrice(new Price("m", "", 200_000, new BigDecimal("0.30"), new BigDecimal("1.20"), null, 0));
            g.admin().setPrice(new Price("m", "azure-eu", 0, new BigDecimal("0.20"), new BigDecimal("0.80"), null, 0));
            String k = g.admin().createKey(new AdminService.KeySpec("k", null, Limits.NONE, null)).key();

            Admission a = g.admit(k, "m", 1000, 100);
            g.settle(a, new Usage(1000, 100, 400, "openai", "upstream-a"), "ok");
            g.settle(a, new Usage(1000, 100, 400, "openai", "upstream-a"), "ok"); // no effect
            Admission b = g.admit(k, "m", 1000, 100);
            g.settle(b, new Usage(1000, 100, 0, "openai", "azure-eu"), "ok");
            Admission c = g.admit(k, "m", 300_000, 100);
            g.settle(c, new Usage(300_000, 100, 0, "local", "local"), "error");
            g.ledger().flush();
            UsageReports reports = new UsageReports(s);
            // 600 * 0.15 + 400 * 0.075 + 100 * 0.60 per million
            assertThat(reports.row(a.requestId()).cost()).isEqualByComparingTo("0.00018");
            assertThat(reports.row(b.requestId()).cost()).isEqualByComparingTo("0.00028");
            assertThat(reports.row(c.requestId()).cost()).isEqualByComparingTo("0.09012");
            UsageRow rc = reports.row(c.requestId());
            assertThat(rc.status()).isEqualTo("error");
            assertThat(rc.deployment()).isEqualTo("local");
            assertThat(reports.count()).isEqualTo(3);
        }
    }

    @Test
    void tokenQuotaPerTeam() {
        try (Store s = Store.open(TestDatabases.freshSqlite()); Gateway g = gateway(s)) {
            g.admin().createTeam("t", Limits.NONE.withTokenQuota(1000L).withBudget(null, BudgetPeriod.DAILY));
            String k = g.admin().createKey(new AdminService.KeySpec("k", "t", Limits.NONE, null)).key();
            Admission a = g.admit(k, "m", 400, 400);
            assertThatThrownBy(() -> g.admit(k, "m", 100, 150)).isInstanceOf(GatewayException.class).hasMessageContaining("token quota");
            g.settle(a, Usage.of(400, 100), "ok");
            g.ledger().flush();
            g.admit(k, "m", 100, 150); // 500 used, 250 more fits
        }
    }

    @Test
    void resetDurationsReadLikeOpenAis() {
        assertThat(Gateway.duration(120)).isEqualTo("120ms");
        assertThat(Gateway.duration(1500)).isEqualTo("1.5s");
        assertThat(Gateway.duration(20_000)).isEqualTo("20s");
        assertThat(Gateway.duration(360_000)).isEqualTo("6m0s");
    }
}
