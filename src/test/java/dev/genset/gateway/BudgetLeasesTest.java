package dev.genset.gateway;

import dev.genset.gateway.admin.AdminService;
import dev.genset.gateway.ratelimit.LocalRateLimiter;
import dev.genset.store.BudgetLeases;
import dev.genset.store.BudgetPeriod;
import dev.genset.store.Budgets;
import dev.genset.store.Database;
import dev.genset.store.LedgerWriter;
import dev.genset.store.Limits;
import dev.genset.store.Money;
import dev.genset.store.Price;
import dev.genset.store.Store;
import dev.genset.store.TestDatabases;
import dev.genset.store.UsageRow;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static dev.genset.store.BudgetAssertions.assertCountersMatchLedger;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * Budget leases: admissions decided in memory, with the store's guarantees kept (a budget is never
 * passed, by one process or several; usage is booked once; leases of dead processes are swept;
 * idle and closed leases are returned; changed limits apply).
 */
class BudgetLeasesTest {
    /** $1 per million tokens: a request of 5,000 + 5,000 tokens may cost $0.01. */
    private static final Price PRICE = new Price("m", "", 0, new BigDecimal("1"), new BigDecimal("1"), null, 0);
    private static final long CENT = Money.toNanos(new BigDecimal("0.01"));
    private static final Duration SHORT_TTL = Duration.ofSeconds(2); // leases refreshed every 0.5 s, returned after 0.2 s idle

    private static Limits budget(String dollars) {
        return Limits.NONE.withBudget(new BigDecimal(dollars), BudgetPeriod.MONTHLY);
    }

    private static Gateway gateway(Store s, Duration ttl) {
        return new Gateway(s, new LocalRateLimiter(), GatewayConfig.of(s.database()).withReservationTtl(ttl));
    }

    @Test
    void almostEveryAdmissionIsDecidedInMemory() {
        try (Store s = Store.open(TestDatabases.freshSqlite())) {
            String keyId;
            try (Gateway g = gateway(s, Duration.ofMinutes(30))) {
                g.admin().setPrice(PRICE);
                AdminService.CreatedKey k = g.admin().createKey(new AdminService.KeySpec("k", null, budget("100.00"), null));
                keyId = k.record().id();
                long before = g.leases().storeCalls();
                for (int i = 0; i < 1000; i++) // each may cost $0.002 and costs $0.0015
                    g.settle(g.admit(k.key(), "m", 1000, 1000), Usage.of(1000, 500), "ok");
                // without leases every admission is a transaction; with them the lease grows by 8, 16, 32, ... requests
                assertThat(g.leases().storeCalls() - before).isLessThan(20);
                g.ledger().flush();
                Budgets.Counter c = assertCountersMatchLedger(s, keyId, budget("100.00"));
                assertThat(c.spentNanos()).isEqualTo(Money.toNanos(new BigDecimal("1.5")));
                assertThat(c.reservedNanos()).isPositive(); // the lease
            }
            // closing the gateway returned its lease
            Budgets.Counter c = assertCountersMatchLedger(s, keyId, budget("100.00"));
            assertThat(c.reservedNanos()).isZero();
            assertThat(reservationRows(s)).isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(Database.Kind.class)
    void aBurstAdmitsExactlyWhatTheBudgetHoldsAndBooksEachRequestOnce(Database.Kind kind) throws Exception {
        try (Store s = Store.open(TestDatabases.fresh(kind))) {
            String keyId;
            try (Gateway g = gateway(s, Duration.ofMinutes(30))) {
                g.admin().setPrice(PRICE);
                AdminService.CreatedKey k = g.admin().createKey(new AdminService.KeySpec("k", null, budget("1.00"), null));
                keyId = k.record().id();
                List<Admission> admitted = burst(List.of(g), k.key(), 300, false);
                // leases while much is left, exact reservations near the end: no more and no fewer than the budget holds
                assertThat(admitted).hasSize(100);
                // settled every which way: in full, cancelled part way, failed, twice
                for (int i = 0; i < admitted.size(); i++) {
                    Admission a = admitted.get(i);
                    switch (i % 4) {
                        case 0 -> g.settle(a, Usage.of(5000, 5000), "ok");
                        case 1 -> g.settle(a, Usage.of(5000, 1234), "cancelled");
                        case 2 -> g.settle(a, Usage.NONE, "error");
                        default -> {
                            g.settle(a, Usage.of(5000, 10), "ok");
                            g.settle(a, Usage.of(5000, 5000), "ok"); // no effect
                        }
                    }
                }
                g.ledger().flush();
                assertThat(ledgerRows(s, keyId)).isEqualTo(100);
                Budgets.Counter c = assertCountersMatchLedger(s, keyId, budget("1.00"));
                assertThat(c.spentNanos()).isEqualTo(25 * (CENT + Money.toNanos(new BigDecimal("0.006234")) + Money.toNanos(new BigDecimal("0.00501"))));
                assertThat(c.spentNanos() + c.reservedNanos()).isLessThanOrEqualTo(100 * CENT);
            }
            assertThat(assertCountersMatchLedger(s, keyId, budget("1.00")).reservedNanos()).isZero();
        }
    }

    /**
     * Two gateways (two processes) on one PostgreSQL database, each request settled at once at its
     * full maximum: together they never spend more than the budget, and once their leases are
     * returned, all of it can be spent.
     */
    @Test
    void twoGatewaysSharingPostgresNeverPassOneBudget() throws Exception {
        GatewayConfig cfg = GatewayConfig.of(TestDatabases.freshPostgres()).withReservationTtl(SHORT_TTL);
        try (Gateway g1 = Gateway.open(cfg); Gateway g2 = Gateway.open(cfg)) {
            g1.admin().setPrice(PRICE);
            AdminService.CreatedKey k = g1.admin().createKey(new AdminService.KeySpec("k", null, budget("1.00"), null));
            List<Admission> admitted = burst(List.of(g1, g2), k.key(), 400, true);
            assertThat(admitted.size()).isBetween(1, 100);
            g1.ledger().flush();
            g2.ledger().flush();
            Budgets.Counter c = assertCountersMatchLedger(g1.store(), k.record().id(), budget("1.00"));
            assertThat(c.spentNanos()).isEqualTo(admitted.size() * CENT);
            assertThat(c.spentNanos() + c.reservedNanos()).isLessThanOrEqualTo(100 * CENT);

            // the leases are returned when idle; then the rest of the budget is there, to the cent
            await(() -> reservationRows(g1.store()) == 0);
            int more = 0;
            while (more <= 100) {
                try {
                    g1.settle(g1.admit(k.key(), "m", 5000, 5000), Usage.of(5000, 5000), "ok");
                    more++;
                } catch (GatewayException e) {
                    assertThat(e.code()).isEqualTo("insufficient_quota");
                    break;
                }
            }
            assertThat(admitted.size() + more).isEqualTo(100);
        }
    }

    @ParameterizedTest
    @EnumSource(Database.Kind.class)
    void theLeaseOfACrashedGatewayIsReleasedByTheStaleSweep(Database.Kind kind) throws Exception {
        Database db = TestDatabases.fresh(kind);
        Duration ttl = Duration.ofSeconds(3); // the live lease is refreshed every 0.75 s: a loaded machine may delay that a little
        GatewayConfig cfg = GatewayConfig.of(db).withReservationTtl(ttl);
        Gateway crashing = Gateway.open(cfg);
        String keyId;
        try (Gateway alive = Gateway.open(cfg)) {
            alive.admin().setPrice(PRICE);
            AdminService.CreatedKey k = alive.admin().createKey(new AdminService.KeySpec("k", null, budget("10.00"), null));
            keyId = k.record().id();
            for (int i = 0; i < 5; i++) crashing.settle(crashing.admit(k.key(), "m", 5000, 5000), Usage.of(5000, 100), "ok");
            crashing.admit(k.key(), "m", 5000, 5000); // in flight when the process dies
            Admission held = alive.admit(k.key(), "m", 5000, 5000); // in flight across the sweep: its lease is refreshed
            crashing.ledger().flush();
            String dead = Budgets.LEASE_PREFIX + crashing.leases().instanceId() + ":";
            String live = Budgets.LEASE_PREFIX + alive.leases().instanceId() + ":";
            assertThat(leaseRows(alive.store(), dead)).isPositive();
            long crashedAt = System.currentTimeMillis();
            crashing.simulateCrash();

            await(() -> leaseRows(alive.store(), dead) == 0);
            assertThat(System.currentTimeMillis() - crashedAt).isGreaterThanOrEqualTo(ttl.toMillis() / 2);
            Thread.sleep(3 * ttl.toMillis() / 4); // another sweep (they run every TTL/2)
            assertThat(leaseRows(alive.store(), live)).isEqualTo(1); // older than the TTL too, but refreshed
            Budgets.Counter c = assertCountersMatchLedger(alive.store(), keyId, budget("10.00"));
            assertThat(c.reservedNanos()).isPositive(); // the live lease, holding the request in flight

            alive.settle(held, Usage.of(5000, 100), "ok");
        }
        try (Store s = Store.open(db)) {
            assertThat(assertCountersMatchLedger(s, keyId, budget("10.00")).reservedNanos()).isZero();
            assertThat(reservationRows(s)).isZero();
            assertThat(ledgerRows(s, keyId)).isEqualTo(6);
        }
    }

    @ParameterizedTest
    @EnumSource(Database.Kind.class)
    void idleLeasesAreReturned(Database.Kind kind) throws Exception {
        try (Store s = Store.open(TestDatabases.fresh(kind)); Gateway g = gateway(s, SHORT_TTL)) {
            g.admin().setPrice(PRICE);
            AdminService.CreatedKey k = g.admin().createKey(new AdminService.KeySpec("k", null, budget("10.00"), null));
            for (int i = 0; i < 20; i++) g.settle(g.admit(k.key(), "m", 5000, 5000), Usage.of(5000, 100), "ok");
            Admission held = g.admit(k.key(), "m", 5000, 5000);
            Thread.sleep(3 * SHORT_TTL.toMillis() / 10); // idle, but a request holds it
            assertThat(reservationRows(s)).isEqualTo(1);
            g.settle(held, Usage.of(5000, 100), "ok");
            await(() -> reservationRows(s) == 0);
            Budgets.Counter c = assertCountersMatchLedger(s, k.record().id(), budget("10.00"));
            assertThat(c.reservedNanos()).isZero();
            assertThat(c.spentNanos()).isEqualTo(21 * Money.toNanos(new BigDecimal("0.0051")));
        }
    }

    /**
     * A lowered limit applies from the next request: requests admitted before the change may still
     * spend what they hold, but the lease's unused part is given back and nothing more is admitted
     * beyond the new limit.
     */
    @ParameterizedTest
    @EnumSource(Database.Kind.class)
    void aLoweredLimitIsPassedAtMostByWhatWasAdmittedBeforeIt(Database.Kind kind) {
        try (Store s = Store.open(TestDatabases.fresh(kind)); Gateway g = gateway(s, Duration.ofMinutes(30))) {
            g.admin().setPrice(PRICE);
            AdminService.CreatedKey k = g.admin().createKey(new AdminService.KeySpec("k", null, budget("1.00"), null));
            List<Admission> held = new ArrayList<>();
            for (int i = 0; i < 10; i++) held.add(g.admit(k.key(), "m", 5000, 5000));
            assertThat(counter(s, k.record().id(), budget("1.00")).reservedNanos()).isGreaterThan(10 * CENT); // the lease holds more

            g.admin().updateKey("k", budget("0.05"), null); // below what requests in flight hold
            GatewayException e = catchThrowableOfType(GatewayException.class, () -> g.admit(k.key(), "m", 5000, 5000));
            assertThat(e.status()).isEqualTo(429);
            assertThat(e.code()).isEqualTo("insufficient_quota");
            assertThat(e.getMessage()).contains("budget $0.05").contains("held by requests in flight $0.10");
            for (Admission a : held) g.settle(a, Usage.of(5000, 5000), "ok");
            g.ledger().flush();
            Budgets.Counter c = assertCountersMatchLedger(s, k.record().id(), budget("0.05"));
            assertThat(c.spentNanos()).isEqualTo(10 * CENT); // over the new limit by what was admitted before it, no more
            assertThat(c.reservedNanos()).isZero(); // the old lease's unused part went back at the change

            g.admin().updateKey("k", budget("0.15"), null);
            int more = 0;
            for (int i = 0; i < 10; i++) {
                try {
                    g.admit(k.key(), "m", 5000, 5000);
                    more++;
                } catch (GatewayException refused) {
                    break;
                }
            }
            assertThat(more).isEqualTo(5);
        }
    }

    /**
     * A key's budget and its team's, each held through its own lease (or exactly near the end):
     * the tighter one decides, and both counters agree with the ledger.
     */
    @ParameterizedTest
    @EnumSource(Database.Kind.class)
    void aKeyAndItsTeamHoldTheirBudgetsTogether(Database.Kind kind) throws Exception {
        try (Store s = Store.open(TestDatabases.fresh(kind)); Gateway g = gateway(s, Duration.ofMinutes(30))) {
            g.admin().setPrice(PRICE);
            Limits teamLimits = Limits.NONE.withBudget(new BigDecimal("0.30"), BudgetPeriod.DAILY).withTokenQuota(10_000_000L);
            var team = g.admin().createTeam("t", teamLimits);
            AdminService.CreatedKey k1 = g.admin().createKey(new AdminService.KeySpec("k1", "t", budget("0.20"), null));
            AdminService.CreatedKey k2 = g.admin().createKey(new AdminService.KeySpec("k2", "t", Limits.NONE, null));
            List<Admission> first = burst(List.of(g), k1.key(), 60, false); // the key's $0.20 binds
            assertThat(first).hasSize(20);
            List<Admission> second = burst(List.of(g), k2.key(), 60, false); // then the team's $0.30
            assertThat(second).hasSize(10);
            for (Admission a : first) g.settle(a, Usage.of(5000, 1000), "ok");
            for (Admission a : second) g.settle(a, Usage.of(5000, 1000), "cancelled");
            g.ledger().flush();
            Budgets.Counter key = assertCountersMatchLedger(s, k1.record().id(), budget("0.20"));
            Budgets.Counter t = assertCountersMatchLedger(s, Budgets.Scope.team(team.id(), teamLimits, System.currentTimeMillis()));
            assertThat(key.spentNanos()).isEqualTo(20 * 6 * CENT / 10);
            assertThat(t.spentNanos()).isEqualTo(30 * 6 * CENT / 10);
            assertThat(t.tokensUsed()).isEqualTo(30 * 6000);
            assertThat(t.spentNanos() + t.reservedNanos()).isLessThanOrEqualTo(30 * CENT);
        }
    }

    @Test
    void aNewPeriodStartsAFreshLease() {
        try (Store s = Store.open(TestDatabases.freshSqlite()); LedgerWriter ledger = new LedgerWriter(s);
             BudgetLeases leases = new BudgetLeases(s, ledger, Duration.ofMinutes(30))) {
            long today = System.currentTimeMillis(), tomorrow = today + 86_400_000L;
            Limits daily = Limits.NONE.withBudget(new BigDecimal("1.00"), BudgetPeriod.DAILY);
            Budgets.Scope d1 = Budgets.Scope.key("k1", daily, today), d2 = Budgets.Scope.key("k1", daily, tomorrow);
            BudgetLeases.Hold h1 = leases.acquire("r1", d1, null, CENT, 10).hold();
            BudgetLeases.Hold h2 = leases.acquire("r2", d2, null, CENT, 10).hold();
            assertThat(h1.keyLease()).isNotNull().isNotEqualTo(h2.keyLease());
            Budgets budgets = new Budgets(s);
            assertThat(budgets.counter(d1).reservedNanos()).isEqualTo(8 * CENT);
            assertThat(budgets.counter(d2).reservedNanos()).isEqualTo(8 * CENT);

            // a request admitted yesterday is booked to yesterday
            ledger.submit(new LedgerWriter.Entry(new UsageRow("r1", today, "k1", null, "m", null, null, 1, 1, 0, new BigDecimal("0.004"), 1, "ok"),
                    d1, null, h1.keyLease(), null));
            leases.release(h1, Money.toNanos(new BigDecimal("0.004")), 2);
            leases.release(h2, 0, 0);
            ledger.flush();
            assertThat(budgets.counter(d1).spentNanos()).isEqualTo(Money.toNanos(new BigDecimal("0.004")));
            assertThat(budgets.counter(d2).spentNanos()).isZero();
            leases.close();
            assertThat(budgets.counter(d1).reservedNanos()).isZero();
            assertThat(budgets.counter(d2).reservedNanos()).isZero();
            assertThat(reservationRows(s)).isZero();
        }
    }

    // --- helpers ---

    /**
     * Sends {@code n} requests of at most $0.01 at once, spread over the gateways; returns those
     * admitted (settled at once at their full maximum if {@code settle}).
     */
    private static List<Admission> burst(List<Gateway> gateways, String key, int n, boolean settle) throws Exception {
        ConcurrentLinkedQueue<Admission> admitted = new ConcurrentLinkedQueue<>();
        AtomicInteger refused = new AtomicInteger();
        CountDownLatch go = new CountDownLatch(1);
        List<Future<?>> fs = new ArrayList<>();
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < n; i++) {
                Gateway g = gateways.get(i % gateways.size());
                fs.add(pool.submit(() -> {
                    go.await();
                    try {
                        Admission a = g.admit(key, "m", 5000, 5000);
                        admitted.add(a);
                        if (settle) g.settle(a, Usage.of(5000, 5000), "ok");
                    } catch (GatewayException e) {
                        assertThat(e.status()).isEqualTo(429);
                        assertThat(e.code()).isEqualTo("insufficient_quota");
                        refused.incrementAndGet();
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : fs) f.get();
        }
        assertThat(admitted.size() + refused.get()).isEqualTo(n);
        return new ArrayList<>(admitted);
    }

    private static Budgets.Counter counter(Store s, String keyId, Limits limits) {
        return new Budgets(s).counter(Budgets.Scope.key(keyId, limits, System.currentTimeMillis()));
    }

    private static long reservationRows(Store s) {
        return s.call(conn -> Store.queryOne(conn, "SELECT COUNT(*) FROM budget_reservations", rs -> rs.getLong(1)));
    }

    private static long leaseRows(Store s, String idPrefix) {
        return s.call(conn -> Store.queryOne(conn, "SELECT COUNT(*) FROM budget_reservations WHERE request_id LIKE ?", rs -> rs.getLong(1),
                idPrefix + "%"));
    }

    private static long ledgerRows(Store s, String keyId) {
        return s.call(conn -> Store.queryOne(conn, "SELECT COUNT(*) FROM usage_ledger WHERE key_id = ?", rs -> rs.getLong(1), keyId));
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("timed out waiting").isLessThan(deadline);
            Thread.sleep(50);
        }
    }
}
