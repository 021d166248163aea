package dev.genset.gateway;

import dev.genset.gateway.admin.AdminService;
import dev.genset.gateway.ratelimit.RateLimiter;
import dev.genset.gateway.ratelimit.RedisRateLimiter;
import dev.genset.store.BudgetPeriod;
import dev.genset.store.Database;
import dev.genset.store.Limits;
import dev.genset.store.Price;
import dev.genset.store.Store;
import dev.genset.store.TestDatabases;
import dev.genset.store.UsageReports;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Several gateway processes sharing limits: rate-limit counters in one real Redis, budgets and the
 * ledger in one real PostgreSQL. Skipped, with a message, where redis-server is not installed.
 */
class SharedLimitsTest {
    private static RedisServer redis;

    @BeforeAll
    static void startRedis() throws Exception {
        assumeTrue(RedisServer.executable() != null,
                "redis-server is not installed: skipping the shared rate-limit tests (apt-get install redis-server)");
        redis = RedisServer.start();
    }

    @AfterAll
    static void stopRedis() throws Exception {
        if (redis != null) redis.close();
    }

    @Test
    void twoLimitersShareOneBucketAtomically() throws Exception {
        try (RedisRateLimiter a = new RedisRateLimiter(redis.url(), "t1"); RedisRateLimiter b = new RedisRateLimiter(redis.url(), "t1")) {
            List<RateLimiter.Take> take = List.of(new RateLimiter.Take("key:k:rpm", 20, 1), new RateLimiter.Take("key:k:tpm", 1000, 10));
            AtomicInteger allowed = new AtomicInteger();
            CountDownLatch go = new CountDownLatch(1);
            List<Future<?>> fs = new ArrayList<>();
            try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 60; i++) {
                    RedisRateLimiter l = i % 2 == 0 ? a : b;
                    fs.add(pool.submit(() -> {
                        go.await();
                        if (l.acquire(take).allowed()) allowed.incrementAndGet();
                        return null;
                    }));
                }
                go.countDown();
                for (Future<?> f : fs) f.get();
            }
            assertThat(allowed.get()).isEqualTo(20);
            RateLimiter.Decision d = b.acquire(take);
            assertThat(d.allowed()).isFalse();
            assertThat(d.refusedBy()).isZero();
            assertThat(d.retryAfterMs()).isBetween(1L, 3_000L); // one request every 3 s
            assertThat(d.levels().get(1).remaining()).isBetween(799L, 900L); // tokens were taken only when all buckets allowed (plus refill)

            // a refund shows in the other instance; a bucket never holds more than its capacity
            a.refund(List.of(new RateLimiter.Take("key:k:tpm", 1000, 5_000)));
            assertThat(b.acquire(List.of(new RateLimiter.Take("key:k:tpm", 1000, 1000))).allowed()).isTrue();
            assertThat(b.acquire(List.of(new RateLimiter.Take("key:k:tpm", 1000, 2000))).retryAfterMs()).isEqualTo(-1);
        }
    }

    @Test
    void twoGatewaysOnPostgresAndRedis() throws Exception {
        Database db = TestDatabases.freshPostgres();
        GatewayConfig cfg = GatewayConfig.of(db).withRedis(redis.url());
        try (Gateway g1 = Gateway.open(cfg); Gateway g2 = Gateway.open(cfg)) {
            g1.admin().setPrice(new Price("m", "", 0, new BigDecimal("10"), new BigDecimal("10"), null, 0));
            // each request may cost $0.02 (1000 + 1000 tokens at $10 per million); the team's budget is $0.10
            g1.admin().createTeam("t", Limits.NONE.withBudget(new BigDecimal("0.10"), BudgetPeriod.DAILY));
            String k = g1.admin().createKey(new AdminService.KeySpec("k", "t", Limits.NONE.withRpm(8L), null)).key();
            AtomicInteger ok = new AtomicInteger(), rate = new AtomicInteger(), quota = new AtomicInteger();
            List<Admission> admitted = java.util.Collections.synchronizedList(new ArrayList<>());
            CountDownLatch go = new CountDownLatch(1);
            List<Future<?>> fs = new ArrayList<>();
            try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 30; i++) {
                    Gateway g = i % 2 == 0 ? g1 : g2;
                    fs.add(pool.submit(() -> {
                        go.await();
                        try {
                            admitted.add(g.admit(k, "m", 1000, 1000));
                            ok.incrementAndGet();
                        } catch (GatewayException e) {
                            (e.code().equals("insufficient_quota") ? quota : rate).incrementAndGet();
                        }
                        return null;
                    }));
                }
                go.countDown();
                for (Future<?> f : fs) f.get();
            }
            // 8 requests pass the shared rate limit; of those, the shared budget admits 5
            assertThat(ok.get()).isEqualTo(5);
            assertThat(quota.get()).isEqualTo(3);
            assertThat(rate.get()).isEqualTo(22);
            for (int i = 0; i < admitted.size(); i++) (i % 2 == 0 ? g1 : g2).settle(admitted.get(i), Usage.of(1000, 500), "ok");
            g1.ledger().flush();
            g2.ledger().flush();
            UsageReports.Totals t = g1.admin().usage(null, "t", null, null, null, UsageReports.GroupBy.NONE).getFirst();
            assertThat(t.requests()).isEqualTo(5);
            assertThat(t.cost()).isEqualByComparingTo("0.075");
            try (Store s = Store.open(db)) {
                assertThat(new AdminService(s).teamSpend(new AdminService(s).team("t")).spent()).isEqualByComparingTo("0.075");
            }
        }
    }
}
