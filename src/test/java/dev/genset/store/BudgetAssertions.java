package dev.genset.store;

import static org.assertj.core.api.Assertions.assertThat;

/** Checks of budget counters against the ledger and the reservation rows. */
public final class BudgetAssertions {
    private BudgetAssertions() {}

    /**
     * Checks that a key's counter in its current period holds what the ledger holds (spend and
     * tokens: nothing lost, nothing counted twice) and what the key's reservation rows hold (leases
     * and exact reservations); returns the counter.
     */
    public static Budgets.Counter assertCountersMatchLedger(Store s, String keyId, Limits limits) {
        return assertCountersMatchLedger(s, Budgets.Scope.key(keyId, limits, System.currentTimeMillis()));
    }

    /** As above, for any scope (a key's or a team's). */
    public static Budgets.Counter assertCountersMatchLedger(Store s, Budgets.Scope scope) {
        Budgets.Counter c = new Budgets(s).counter(scope);
        String column = scope.ownerColumn(), prefix = column.equals("key_id") ? "key" : "team";
        long[] ledger = s.call(conn -> Store.queryOne(conn, "SELECT COALESCE(SUM(cost_nanos), 0), COALESCE(SUM(prompt_tokens + completion_tokens), 0) "
                        + "FROM usage_ledger WHERE " + column + " = ? AND ts >= ?", rs -> new long[] {rs.getLong(1), rs.getLong(2)},
                scope.ownerId(), scope.periodStart()));
        long[] held = s.call(conn -> Store.queryOne(conn, "SELECT COALESCE(SUM(cost_nanos), 0), COALESCE(SUM(tokens), 0) "
                        + "FROM budget_reservations WHERE " + prefix + "_scope = ? AND " + prefix + "_period = ?",
                rs -> new long[] {rs.getLong(1), rs.getLong(2)}, scope.scope(), scope.periodStart()));
        assertThat(c.spentNanos()).as("spent").isEqualTo(ledger[0]);
        assertThat(c.tokensUsed()).as("tokens used").isEqualTo(ledger[1]);
        assertThat(c.reservedNanos()).as("reserved").isEqualTo(held[0]);
        assertThat(c.tokensReserved()).as("tokens reserved").isEqualTo(held[1]);
        return c;
    }

    /** Lease rows of a key in its current period. */
    public static long leaseRows(Store s, String keyId, Limits limits) {
        Budgets.Scope scope = Budgets.Scope.key(keyId, limits, System.currentTimeMillis());
        return s.call(conn -> Store.queryOne(conn, "SELECT COUNT(*) FROM budget_reservations WHERE request_id LIKE ? AND key_scope = ? AND key_period = ?",
                rs -> rs.getLong(1), Budgets.LEASE_PREFIX + "%", scope.scope(), scope.periodStart()));
    }
}
