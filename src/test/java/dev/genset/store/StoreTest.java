package dev.genset.store;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The store against a real SQLite file and a real PostgreSQL server, by the same code. */
class StoreTest {

    @ParameterizedTest
    @EnumSource(Database.Kind.class)
    void migratesAndReopens(Database.Kind kind) {
        Database db = TestDatabases.fresh(kind);
        try (Store s = Store.open(db)) {
            new Teams(s).create("research", Limits.NONE);
        }
        try (Store s = Store.open(db)) { // migrations already applied: opening again is a no-op
            assertThat(new Teams(s).list()).extracting(Team::name).containsExactly("research");
        }
    }

    @ParameterizedTest
    @EnumSource(Database.Kind.class)
    void keysAndTeams(Database.Kind kind) {
        try (Store s = Store.open(TestDatabases.fresh(kind))) {
            Teams teams = new Teams(s);
            Keys keys = new Keys(s);
            assertThat(keys.anyExist()).isFalse();
            Limits tl = new Limits(List.of("a", "b"), 60L, 10_000L, new BigDecimal("25.50"), 1_000_000L, BudgetPeriod.WEEKLY);
            Team t = teams.create("research", tl);
            assertThat(teams.find("research")).isEqualTo(t);
            assertThat(teams.find(t.id()).limits().budget()).isEqualByComparingTo("25.5");
            assertThatThrownBy(() -> teams.create("research", Limits.NONE)).hasMessageContaining("already exists");

            ApiKeyRecord k = keys.insert("h1", "gs-abc", "ci", t.id(), Limits.NONE.withRpm(5L), 2_000_000_000_000L);
            keys.insert("h2", "gs-def", "other", null, Limits.NONE, null);
            assertThat(keys.anyExist()).isTrue();
            assertThat(keys.list(null)).hasSize(2);
            assertThat(keys.list(t.id())).extracting(ApiKeyRecord::name).containsExactly("ci");

            Keys.Resolved r = keys.lookup("h1");
            assertThat(r.key().id()).isEqualTo(k.id());
            assertThat(r.key().limits().rpm()).isEqualTo(5L);
            assertThat(r.team().name()).isEqualTo("research");
            assertThat(r.team().limits().models()).containsExactly("a", "b");
            assertThat(keys.lookup("h2").team()).isNull();
            assertThat(keys.lookup("nope")).isNull();

            assertThat(keys.revoke("ci").revoked()).isTrue();
            assertThat(keys.lookup("h1").key().revoked()).isTrue();
            assertThat(keys.find("gs-def").name()).isEqualTo("other");
            assertThat(teams.setDisabled("research", true).disabled()).isTrue();
            assertThat(keys.lookup("h1").team().disabled()).isTrue();
        }
    }

    @ParameterizedTest
    @EnumSource(Database.Kind.class)
    void pricesAreExact(Database.Kind kind) {
        try (Store s = Store.open(TestDatabases.fresh(kind))) {
            Prices prices = new Prices(s);
            prices.set(new Price("gpt", "", 0, new BigDecimal("0.15"), new BigDecimal("0.6"), new BigDecimal("0.075"), 0));
            prices.set(new Price("gpt", "", 0, new BigDecimal("0.0375"), new BigDecimal("0.6"), null, 0)); // replaces
            prices.set(new Price("gpt", "azure", 200_000, new BigDecimal("2.5"), new BigDecimal("10"), null, 0));
            List<Price> all = prices.list();
            assertThat(all).hasSize(2);
            assertThat(all.getFirst().input()).isEqualByComparingTo("0.0375");
            assertThat(all.getFirst().cachedInput()).isNull();
            assertThat(all.get(1).deployment()).isEqualTo("azure");
            // 3 tokens at $0.0375 per million: 1.125e-7 dollars, exactly
            assertThat(all.getFirst().cost(3, 0, 0)).isEqualByComparingTo("0.0000001125");
            assertThat(prices.delete("gpt", "azure", 200_000L)).isEqualTo(1);
            assertThat(prices.forModel("gpt")).hasSize(1);
        }
    }

    @ParameterizedTest
    @EnumSource(Database.Kind.class)
    void ledgerIsIdempotentAndFlushesOnClose(Database.Kind kind) {
        try (Store s = Store.open(TestDatabases.fresh(kind))) {
            UsageReports usage = new UsageReports(s);
            try (LedgerWriter w = new LedgerWriter(s)) {
                for (int i = 0; i < 300; i++) {
                    UsageRow r = new UsageRow("req-" + i, 1_700_000_000_000L + i * 3_600_000L, "k" + (i % 3), null, i % 2 == 0 ? "m1" : "m2",
                            "local", "local", 10, 5, 2, new BigDecimal("0.000001"), 12, i % 10 == 0 ? "error" : "ok");
                    w.submit(new LedgerWriter.Entry(r, null, null));
                    if (i < 50) w.submit(new LedgerWriter.Entry(r, null, null)); // settled twice: counted once
                }
            } // close() flushes
            assertThat(usage.count()).isEqualTo(300);
            UsageReports.Totals all = usage.totals(UsageReports.Filter.ALL, UsageReports.GroupBy.NONE).getFirst();
            assertThat(all.requests()).isEqualTo(300);
            assertThat(all.errors()).isEqualTo(30);
            assertThat(all.promptTokens()).isEqualTo(3000);
            assertThat(all.cost()).isEqualByComparingTo("0.0003");
            assertThat(usage.totals(UsageReports.Filter.ALL, UsageReports.GroupBy.MODEL)).extracting(UsageReports.Totals::group).containsExactly("m1", "m2");
            assertThat(usage.totals(new UsageReports.Filter("k1", null, null, null, null), UsageReports.GroupBy.NONE).getFirst().requests()).isEqualTo(100);
            List<UsageReports.Totals> days = usage.totals(UsageReports.Filter.ALL, UsageReports.GroupBy.DAY);
            assertThat(days.getFirst().group()).isEqualTo("2023-11-14");
            assertThat(days.stream().mapToLong(UsageReports.Totals::requests).sum()).isEqualTo(300);
            assertThat(usage.row("req-7").completionTokens()).isEqualTo(5);
        }
    }

    @ParameterizedTest
    @EnumSource(Database.Kind.class)
    void concurrentReservationsNeverPassTheBudget(Database.Kind kind) throws Exception {
        try (Store s = Store.open(TestDatabases.fresh(kind)); LedgerWriter writer = new LedgerWriter(s)) {
            Budgets budgets = new Budgets(s);
            long now = System.currentTimeMillis();
            Limits keyLimits = Limits.NONE.withBudget(new BigDecimal("1.00"), BudgetPeriod.DAILY);
            Budgets.Scope scope = Budgets.Scope.key("k1", keyLimits, now);
            long tenCents = Money.toNanos(new BigDecimal("0.10"));
            AtomicInteger admitted = new AtomicInteger();
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> fs = new ArrayList<>();
            try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < 50; i++) {
                    String id = "r" + i;
                    fs.add(pool.submit(() -> {
                        start.await();
                        if (budgets.reserve(id, scope, null, tenCents, 100) == null) admitted.incrementAndGet();
                        return null;
                    }));
                }
                start.countDown();
                for (Future<?> f : fs) f.get();
            }
            assertThat(admitted.get()).isEqualTo(10);
            Budgets.Counter c = budgets.counter(scope);
            assertThat(c.reservedNanos()).isEqualTo(10 * tenCents);
            assertThat(c.spentNanos()).isZero();

            // settle one of the admitted requests for 4 cents: 6 cents come back
            String settled = s.call(conn -> Store.queryOne(conn, "SELECT request_id FROM budget_reservations ORDER BY request_id", rs -> rs.getString(1)));
            writer.submit(new LedgerWriter.Entry(new UsageRow(settled, now, "k1", null, "m", null, null, 10, 10, 0,
                    new BigDecimal("0.04"), 1, "ok"), scope, null));
            writer.flush();
            c = budgets.counter(scope);
            assertThat(c.spentNanos()).isEqualTo(Money.toNanos(new BigDecimal("0.04")));
            assertThat(c.reservedNanos()).isEqualTo(9 * tenCents);
            assertThat(c.tokensUsed()).isEqualTo(20);
            assertThat(budgets.reserve("x1", scope, null, Money.toNanos(new BigDecimal("0.06")), 1)).isNull();
            Budgets.Refusal no = budgets.reserve("x2", scope, null, 1, 1);
            assertThat(no).isNotNull();
            assertThat(no.tokens()).isFalse();

            // stale reservations (their process died) are released
            assertThat(budgets.releaseStale(System.currentTimeMillis() + 1)).isEqualTo(10);
            assertThat(budgets.counter(scope).reservedNanos()).isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(Database.Kind.class)
    void tokenQuotaAndLedgerSeeding(Database.Kind kind) {
        try (Store s = Store.open(TestDatabases.fresh(kind))) {
            long now = System.currentTimeMillis();
            try (LedgerWriter w = new LedgerWriter(s)) { // spend before any quota existed
                w.submit(new LedgerWriter.Entry(new UsageRow("old", now, "k1", "t1", "m", null, null, 600, 300, 0,
                        new BigDecimal("0.5"), 1, "ok"), null, null));
            }
            Budgets budgets = new Budgets(s);
            Budgets.Scope team = Budgets.Scope.team("t1", Limits.NONE.withTokenQuota(1000L), now);
            assertThat(budgets.reserve("a", null, team, 0, 100)).isNull(); // 900 + 100 <= 1000
            Budgets.Refusal r = budgets.reserve("b", null, team, 0, 1);
            assertThat(r.tokens()).isTrue();
            assertThat(r.used()).isEqualTo(900);
        }
    }

    @ParameterizedTest
    @EnumSource(Database.Kind.class)
    void leasesAreReservationRowsThatSettlementDrawsOn(Database.Kind kind) {
        try (Store s = Store.open(TestDatabases.fresh(kind)); LedgerWriter writer = new LedgerWriter(s)) {
            Budgets budgets = new Budgets(s);
            long now = System.currentTimeMillis();
            Budgets.Scope scope = Budgets.Scope.key("k1", Limits.NONE.withBudget(new BigDecimal("1.00"), BudgetPeriod.DAILY), now);
            long cent = Money.toNanos(new BigDecimal("0.01"));

            // plenty left: a new lease takes 8 request maxima; the key has no token quota, so the lease holds no tokens
            Budgets.LeaseResult a = budgets.lease("r1", List.of(new Budgets.LeaseAsk(scope, "lease:a:1", false, 0, 0, cent, 0, 8)), cent, 100);
            assertThat(a.grants()).containsExactly(new Budgets.LeaseGrant(false, 8 * cent, 0));
            assertThat(budgets.counter(scope).reservedNanos()).isEqualTo(8 * cent);

            // a request admitted through the lease is booked from the lease's row
            writer.submit(new LedgerWriter.Entry(new UsageRow("r1", now, "k1", null, "m", null, null, 20, 10, 0,
                    new BigDecimal("0.004"), 1, "ok"), scope, null, "lease:a:1", null));
            writer.flush();
            Budgets.Counter c = budgets.counter(scope);
            assertThat(c.spentNanos()).isEqualTo(4 * cent / 10);
            assertThat(c.reservedNanos()).isEqualTo(76 * cent / 10);
            assertThat(c.tokensUsed()).isEqualTo(30);
            assertThat(c.tokensReserved()).isZero();

            // another process's lease: at most a quarter of what is left ($0.92)
            Budgets.LeaseResult b = budgets.lease("r2", List.of(new Budgets.LeaseAsk(scope, "lease:b:1", false, 0, 0, 10 * cent, 0, 8)), 10 * cent, 100);
            assertThat(b.grants()).containsExactly(new Budgets.LeaseGrant(false, 23 * cent, 0));

            // little left ($0.69 for a request of $0.30): the lease gives back its unused part, the request reserves exactly
            Budgets.LeaseResult exact = budgets.lease("r3", List.of(new Budgets.LeaseAsk(scope, "lease:b:1", true, 5 * cent, 0, 30 * cent, 0, 8)), 30 * cent, 100);
            assertThat(exact.grants()).containsExactly(new Budgets.LeaseGrant(true, 5 * cent, 0));
            c = budgets.counter(scope);
            assertThat(c.reservedNanos()).isEqualTo(556 * cent / 10); // 7.6 + 18 + 30
            assertThat(c.tokensReserved()).isEqualTo(100); // as a reservation does

            // refused: $0.516 left even with lease a's unused $0.076, and nothing changes
            Budgets.LeaseResult no = budgets.lease("r4", List.of(new Budgets.LeaseAsk(scope, "lease:a:1", true, 76 * cent / 10, 0, 60 * cent, 0, 8)), 60 * cent, 100);
            assertThat(no.refusal()).isNotNull();
            assertThat(no.refusal().tokens()).isFalse();
            assertThat(no.refusal().reserved()).isEqualTo(48 * cent); // a's unused part does not count as held by requests in flight
            assertThat(budgets.counter(scope).reservedNanos()).isEqualTo(556 * cent / 10);

            // a live lease is refreshed; the stale sweep releases only the one nobody refreshed
            assertThat(budgets.touchLease("lease:a:1", System.currentTimeMillis())).isTrue();
            assertThat(budgets.touchLease("lease:nobody:1", System.currentTimeMillis())).isFalse();
            s.call(conn -> Store.update(conn, "UPDATE budget_reservations SET created_at = 0 WHERE request_id = 'lease:b:1'"));
            assertThat(budgets.releaseStale(System.currentTimeMillis() - 60_000)).isEqualTo(1);
            assertThat(budgets.counter(scope).reservedNanos()).isEqualTo(376 * cent / 10);

            // settlement through a released lease books the spend and releases nothing; growing it reports it gone
            writer.submit(new LedgerWriter.Entry(new UsageRow("r5", now, "k1", null, "m", null, null, 1, 1, 0,
                    new BigDecimal("0.01"), 1, "ok"), scope, null, "lease:b:1", null));
            writer.flush();
            c = budgets.counter(scope);
            assertThat(c.spentNanos()).isEqualTo(14 * cent / 10);
            assertThat(c.reservedNanos()).isEqualTo(376 * cent / 10);
            assertThat(budgets.lease("r6", List.of(new Budgets.LeaseAsk(scope, "lease:b:1", true, 0, 0, cent, 0, 8)), cent, 1).goneLease())
                    .isEqualTo("lease:b:1");

            // a returned lease leaves only the exact reservation
            assertThat(budgets.returnLease("lease:a:1")).isTrue();
            assertThat(budgets.returnLease("lease:a:1")).isFalse();
            assertThat(budgets.counter(scope).reservedNanos()).isEqualTo(30 * cent);
            long rows = s.call(conn -> Store.queryOne(conn, "SELECT SUM(cost_nanos) FROM budget_reservations", rs -> rs.getLong(1)));
            assertThat(rows).isEqualTo(30 * cent);
        }
    }

    @ParameterizedTest
    @EnumSource(Database.Kind.class)
    void aTokenQuotaIsLeasedInTokens(Database.Kind kind) {
        try (Store s = Store.open(TestDatabases.fresh(kind)); LedgerWriter writer = new LedgerWriter(s)) {
            Budgets budgets = new Budgets(s);
            long now = System.currentTimeMillis();
            Budgets.Scope team = Budgets.Scope.team("t1", Limits.NONE.withTokenQuota(10_000L), now);
            Budgets.LeaseResult r = budgets.lease("r1", List.of(new Budgets.LeaseAsk(team, "lease:a:1", false, 0, 0, 0, 100, 8)), 5, 100);
            assertThat(r.grants()).containsExactly(new Budgets.LeaseGrant(false, 0, 800));
            writer.submit(new LedgerWriter.Entry(new UsageRow("r1", now, null, "t1", "m", null, null, 40, 20, 0,
                    new BigDecimal("0.000000003"), 1, "ok"), null, team, null, "lease:a:1"));
            writer.flush();
            Budgets.Counter c = budgets.counter(team);
            assertThat(c.tokensUsed()).isEqualTo(60);
            assertThat(c.tokensReserved()).isEqualTo(740);
            assertThat(c.spentNanos()).isEqualTo(3);
            assertThat(c.reservedNanos()).isZero();
        }
    }

    @org.junit.jupiter.api.Test
    void leaseGrantsAreAFewRequestsAndAShareOfWhatIsLeft() {
        assertThat(Budgets.leaseGrant(null, 0, 10, 0, 8)).isZero(); // unlimited
        assertThat(Budgets.leaseGrant(1000L, 0, 10, 10, 8)).isZero(); // the lease covers it
        assertThat(Budgets.leaseGrant(1000L, 1000, 0, 0, 8)).isZero(); // a free request at the limit
        assertThat(Budgets.leaseGrant(1000L, 1001, 0, 0, 8)).isEqualTo(-1); // past it: exact, and refused
        assertThat(Budgets.leaseGrant(1000L, 0, 10, 0, 8)).isEqualTo(80); // 8 requests
        assertThat(Budgets.leaseGrant(1000L, 0, 10, 0, 16)).isEqualTo(160); // a busy lease: 16
        assertThat(Budgets.leaseGrant(1000L, 700, 10, 0, 8)).isEqualTo(75); // a quarter of the 300 left
        assertThat(Budgets.leaseGrant(1000L, 921, 10, 0, 8)).isEqualTo(-1); // fewer than 8 requests left: exact
        assertThat(Budgets.leaseGrant(1000L, 0, 10, -200, 8)).isEqualTo(210); // a lease in debt gets at least what the request needs
        assertThat(Budgets.leaseGrant(Long.MAX_VALUE, 0, Long.MAX_VALUE / 2, 0, 8)).isEqualTo(Long.MAX_VALUE / 2); // no overflow
    }
}
