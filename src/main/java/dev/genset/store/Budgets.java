package dev.genset.store;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * Spend and token counters per key and team per budget period, shared by every process that uses
 * the store. Admission reserves a request's maximum cost and tokens with one conditional UPDATE per
 * scope in one transaction, so concurrent admissions can never reserve past a limit; settlement (in
 * the ledger writer's transaction) books the actual amounts and releases the reservation.
 *
 * <p>Lock order, so that transactions of several processes on PostgreSQL cannot deadlock: a
 * transaction locks the counters it changes first, in scope order ("key:..." before "team:..."),
 * and only then reservation rows.
 */
public final class Budgets {
    /**
     * A budget scope in one period.
     *
     * @param scope       "key:ID:period" or "team:ID:period"
     * @param ownerColumn the ledger column that identifies the owner ("key_id" or "team_id")
     * @param ownerId     the key's or team's id
     * @param limitNanos  the spend limit, or null
     * @param tokenQuota  the token quota, or null
     */
    public record Scope(String scope, String ownerColumn, String ownerId, long periodStart, Long limitNanos, Long tokenQuota) {
        public static Scope key(String keyId, Limits l, long nowMs) {
            return of("key", "key_id", keyId, l, nowMs);
        }

        public static Scope team(String teamId, Limits l, long nowMs) {
            return of("team", "team_id", teamId, l, nowMs);
        }

        private static Scope of(String kind, String column, String id, Limits l, long nowMs) {
            if (l.budget() == null && l.tokenQuota() == null) return null;
            return new Scope(kind + ":" + id + ":" + l.period().label(), column, id, l.period().start(nowMs),
                    Money.toNanosOrNull(l.budget()), l.tokenQuota());
        }
    }

    /** Why a reservation was refused. */
    public record Refusal(Scope scope, boolean tokens, long limit, long used, long reserved) {}

    /** A scope's counters. */
    public record Counter(String scope, long periodStart, long spentNanos, long reservedNanos, long tokensUsed, long tokensReserved) {}

    private final Store store;

    public Budgets(Store store) {
        this.store = store;
    }

    /**
     * Reserves {@code costNanos} and {@code tokens} in every given scope (nulls skipped), all or
     * nothing. Returns null when reserved, else the first scope that refused.
     */
    public Refusal reserve(String requestId, Scope keyScope, Scope teamScope, long costNanos, long tokens) {
        if (keyScope == null && teamScope == null) return null;
        return store.tx(c -> {
            for (Scope s : new Scope[] {keyScope, teamScope}) {
                if (s == null) continue;
                ensureCounter(c, s);
                StringBuilder sql = new StringBuilder("UPDATE budget_counters SET reserved_nanos = reserved_nanos + ?, tokens_reserved = tokens_reserved + ? "
                        + "WHERE scope = ? AND period_start = ?");
                List<Object> args = new ArrayList<>(List.of(costNanos, tokens, s.scope(), s.periodStart()));
                if (s.limitNanos() != null) {
                    sql.append(" AND spent_nanos + reserved_nanos + ? <= ?");
                    args.add(costNanos);
                    args.add(s.limitNanos());
                }
                if (s.tokenQuota() != null) {
                    sql.append(" AND tokens_used + tokens_reserved + ? <= ?");
                    args.add(tokens);
                    args.add(s.tokenQuota());
                }
                if (Store.update(c, sql.toString(), args.toArray()) == 0) {
                    c.rollback();
                    Counter now = counter(c, s.scope(), s.periodStart());
                    boolean money = s.limitNanos() != null && now.spentNanos() + now.reservedNanos() + costNanos > s.limitNanos();
                    return money ? new Refusal(s, false, s.limitNanos(), now.spentNanos(), now.reservedNanos())
                            : new Refusal(s, true, s.tokenQuota() == null ? 0 : s.tokenQuota(), now.tokensUsed(), now.tokensReserved());
                }
            }
            Store.update(c, "INSERT INTO budget_reservations (request_id, created_at, key_scope, key_period, team_scope, team_period, cost_nanos, tokens) "
                            + "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    requestId, System.currentTimeMillis(),
                    keyScope == null ? null : keyScope.scope(), Store.nullableLong(keyScope == null ? null : keyScope.periodStart()),
                    teamScope == null ? null : teamScope.scope(), Store.nullableLong(teamScope == null ? null : teamScope.periodStart()),
                    costNanos, tokens);
            return null;
        });
    }

    /** Creates a scope's counter row for its period, seeded with what the ledger already holds. */
    private static void ensureCounter(Connection c, Scope s) throws SQLException {
        if (Store.queryOne(c, "SELECT 1 FROM budget_counters WHERE scope = ? AND period_start = ?", rs -> 1, s.scope(), s.periodStart()) != null)
            return;
        Store.update(c, "INSERT INTO budget_counters (scope, period_start, spent_nanos, reserved_nanos, tokens_used, tokens_reserved) "
                        + "SELECT ?, ?, COALESCE(SUM(cost_nanos), 0), 0, COALESCE(SUM(prompt_tokens + completion_tokens), 0), 0 "
                        + "FROM usage_ledger WHERE " + s.ownerColumn() + " = ? AND ts >= ? "
                        + "ON CONFLICT (scope, period_start) DO NOTHING",
                s.scope(), s.periodStart(), s.ownerId(), s.periodStart());
    }

    /**
     * Books a settled request (whose ledger row was just inserted on {@code c}) and releases its
     * reservation. Scopes are those known at admission, used when the reservation is gone. The
     * caller has locked the scopes' counters ({@link #lockCounters}).
     */
    static void book(Connection c, String requestId, long costNanos, long tokens, Scope keyScope, Scope teamScope) throws SQLException {
        Res r = reservation(c, requestId);
        if (r != null && Store.update(c, "DELETE FROM budget_reservations WHERE request_id = ?", requestId) == 1) {
            if (r.keyScope() != null) move(c, r.keyScope(), r.keyPeriod(), costNanos, tokens, r.cost(), r.tokens());
            if (r.teamScope() != null) move(c, r.teamScope(), r.teamPeriod(), costNanos, tokens, r.cost(), r.tokens());
            return;
        }
        for (Scope s : new Scope[] {keyScope, teamScope})
            if (s != null) move(c, s.scope(), s.periodStart(), costNanos, tokens, 0, 0);
    }

    private static void move(Connection c, String scope, long period, long cost, long tokens, long releaseCost, long releaseTokens) throws SQLException {
        Store.update(c, "UPDATE budget_counters SET spent_nanos = spent_nanos + ?, reserved_nanos = reserved_nanos - ?, "
                        + "tokens_used = tokens_used + ?, tokens_reserved = tokens_reserved - ? WHERE scope = ? AND period_start = ?",
                cost, releaseCost, tokens, releaseTokens, scope, period);
    }

    /** Releases reservations older than {@code cutoffMs} (their requests died with a process). Returns how many. */
    public int releaseStale(long cutoffMs) {
        List<String> ids = store.call(c -> Store.query(c, "SELECT request_id FROM budget_reservations WHERE created_at < ?",
                rs -> rs.getString(1), cutoffMs));
        int n = 0;
        for (String id : ids) // one transaction each: it locks the row's counters before the row
            if (store.tx(c -> release(c, id, cutoffMs))) n++;
        return n;
    }

    /** A reservation row as read. */
    private record Res(String keyScope, Long keyPeriod, String teamScope, Long teamPeriod, long cost, long tokens, long createdAt) {}

    private static Res reservation(Connection c, String id) throws SQLException {
        return Store.queryOne(c, "SELECT * FROM budget_reservations WHERE request_id = ?",
                rs -> new Res(rs.getString("key_scope"), Store.getLong(rs, "key_period"), rs.getString("team_scope"),
                        Store.getLong(rs, "team_period"), rs.getLong("cost_nanos"), rs.getLong("tokens"), rs.getLong("created_at")), id);
    }

    /**
     * Deletes a reservation row and releases what it holds, if it was created (or, for a lease,
     * last refreshed) before {@code cutoffMs}. The row is read again once its counters are locked:
     * a booking may have changed it meanwhile.
     */
    static boolean release(Connection c, String id, long cutoffMs) throws SQLException {
        Res first = reservation(c, id);
        if (first == null) return false;
        if (first.keyScope() != null) lockCounter(c, first.keyScope(), first.keyPeriod());
        if (first.teamScope() != null) lockCounter(c, first.teamScope(), first.teamPeriod());
        Res r = reservation(c, id);
        if (r == null || r.createdAt() >= cutoffMs || Store.update(c, "DELETE FROM budget_reservations WHERE request_id = ?", id) != 1)
            return false;
        if (r.keyScope() != null) move(c, r.keyScope(), r.keyPeriod(), 0, 0, r.cost(), r.tokens());
        if (r.teamScope() != null) move(c, r.teamScope(), r.teamPeriod(), 0, 0, r.cost(), r.tokens());
        return true;
    }

    /** Locks the counters of these scopes (nulls skipped) for the rest of the transaction, in scope order. */
    static void lockCounters(Connection c, Collection<Scope> scopes) throws SQLException {
        List<Scope> sorted = new ArrayList<>();
        for (Scope s : scopes) if (s != null) sorted.add(s);
        sorted.sort(Comparator.comparing(Scope::scope).thenComparingLong(Scope::periodStart));
        Scope last = null;
        for (Scope s : sorted) {
            if (last == null || !last.scope().equals(s.scope()) || last.periodStart() != s.periodStart())
                lockCounter(c, s.scope(), s.periodStart());
            last = s;
        }
    }

    /** A write that changes nothing: it takes the row lock on PostgreSQL (SQLite's write transactions lock the whole file). */
    private static void lockCounter(Connection c, String scope, long period) throws SQLException {
        Store.update(c, "UPDATE budget_counters SET spent_nanos = spent_nanos WHERE scope = ? AND period_start = ?", scope, period);
    }

    public Counter counter(Scope s) {
        return store.call(c -> counter(c, s.scope(), s.periodStart()));
    }

    static Counter counter(Connection c, String scope, long period) throws SQLException {
        Counter k = Store.queryOne(c, "SELECT * FROM budget_counters WHERE scope = ? AND period_start = ?",
                rs -> new Counter(rs.getString("scope"), rs.getLong("period_start"), rs.getLong("spent_nanos"), rs.getLong("reserved_nanos"),
                        rs.getLong("tokens_used"), rs.getLong("tokens_reserved")), scope, period);
        return k != null ? k : new Counter(scope, period, 0, 0, 0, 0);
    }
}
