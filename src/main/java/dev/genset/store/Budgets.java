package dev.genset.store;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * Spend and token counters per key and team per budget period, shared by every process that uses
 * the store. Every amount held against a counter is a row of budget_reservations, added with a
 * conditional UPDATE of the counter in the same transaction, so concurrent processes can never
 * reserve past a limit: a request's maximum cost and tokens ({@link #reserve}), or a lease, a chunk
 * of budget that one process admits requests against in memory ({@link BudgetLeases}). Settlement
 * (in the ledger writer's transaction) books the actual amounts and releases the request's
 * reservation, or takes the actual amounts out of the lease's row. A counter's reserved amounts are
 * always the sum of its rows.
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
                if (!hold(c, s, costNanos, tokens)) {
                    c.rollback();
                    return refusal(c, s, costNanos, tokens, 0, 0);
                }
            }
            insertReservation(c, requestId, keyScope, teamScope, costNanos, tokens);
            return null;
        });
    }

    /** Adds to a scope's reservations if its limits allow it (the UPDATE checks them); false if they do not. */
    private static boolean hold(Connection c, Scope s, long costNanos, long tokens) throws SQLException {
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
        return Store.update(c, sql.toString(), args.toArray()) == 1;
    }

    /**
     * Why a scope refuses {@code costNanos} and {@code tokens}, read after the rollback. Amounts
     * that the refused process itself leased and left unused ({@code ownUnused...}) are not
     * reported as held by requests in flight.
     */
    private static Refusal refusal(Connection c, Scope s, long costNanos, long tokens, long ownUnusedCost, long ownUnusedTokens) throws SQLException {
        Counter now = counter(c, s.scope(), s.periodStart());
        long reserved = now.reservedNanos() - ownUnusedCost;
        long tokensReserved = now.tokensReserved() - ownUnusedTokens;
        boolean money = s.limitNanos() != null && now.spentNanos() + reserved + costNanos > s.limitNanos();
        return money ? new Refusal(s, false, s.limitNanos(), now.spentNanos(), reserved)
                : new Refusal(s, true, s.tokenQuota() == null ? 0 : s.tokenQuota(), now.tokensUsed(), tokensReserved);
    }

    private static void insertReservation(Connection c, String id, Scope keyScope, Scope teamScope, long costNanos, long tokens) throws SQLException {
        Store.update(c, "INSERT INTO budget_reservations (request_id, created_at, key_scope, key_period, team_scope, team_period, cost_nanos, tokens) "
                        + "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                id, System.currentTimeMillis(),
                keyScope == null ? null : keyScope.scope(), Store.nullableLong(keyScope == null ? null : keyScope.periodStart()),
                teamScope == null ? null : teamScope.scope(), Store.nullableLong(teamScope == null ? null : teamScope.periodStart()),
                costNanos, tokens);
    }

    // --- leases (see BudgetLeases) ---

    /** The ids of lease rows start with this. */
    public static final String LEASE_PREFIX = "lease:";
    /**
     * A lease grows by this many times the maximum of the request that needs it (a lease that had
     * to grow again within a second grows by twice as many as the last time, up to
     * LEASE_MAX_CHUNK_REQUESTS: BudgetLeases decides),
     */
    static final int LEASE_CHUNK_REQUESTS = 8;
    static final int LEASE_MAX_CHUNK_REQUESTS = 1024;
    /** and by at most 1/LEASE_SHARE of what is left, so that other processes sharing the store get budget too. */
    static final int LEASE_SHARE = 4;
    /**
     * Below this many request maxima left, a request reserves exactly on its own row (and its
     * process gives back what its lease does not hold for requests), so that no process keeps
     * budget from the others when little is left.
     */
    static final int LEASE_MIN_REQUESTS = 8;

    /**
     * One scope of a lease transaction.
     *
     * @param stored     whether the lease's row exists
     * @param unusedCost what the lease holds that no admitted request holds, taken out of the lease
     *                   in memory during the transaction (negative when requests cost more than their maximum)
     * @param needCost   the request's maximum cost if the scope limits spend, else 0 (likewise {@code needTokens})
     * @param chunk      how many request maxima to add (see {@link #leaseGrant})
     */
    record LeaseAsk(Scope scope, String leaseId, boolean stored, long unusedCost, long unusedTokens, long needCost, long needTokens,
                    int chunk) {}

    /**
     * The answer for one scope: {@code cost} and {@code tokens} added to the lease, or (exact) the
     * request reserved on its own row and {@code cost} and {@code tokens} of the lease's unused part
     * given back to the budget.
     */
    record LeaseGrant(boolean exact, long cost, long tokens) {}

    /** Grants in the order asked; or a refusal; or the id of a lease whose row is gone (the stale sweep released it). */
    record LeaseResult(List<LeaseGrant> grants, Refusal refusal, String goneLease) {}

    /**
     * Grows the leases of the scopes asked, or where little budget is left gives back a lease's
     * unused part and reserves the request ({@code costNanos}, {@code tokens}) on its own row
     * instead, as {@link #reserve} does: one transaction, all or nothing. Every amount added is
     * conditional on the limits, as a reservation is.
     */
    LeaseResult lease(String requestId, List<LeaseAsk> asks, long costNanos, long tokens) {
        return store.tx(c -> {
            long now = System.currentTimeMillis();
            for (LeaseAsk a : asks) ensureCounter(c, a.scope());
            lockCounters(c, asks.stream().map(LeaseAsk::scope).toList());
            List<LeaseGrant> grants = new ArrayList<>();
            Scope exactKey = null, exactTeam = null;
            for (LeaseAsk a : asks) {
                Scope s = a.scope();
                if (a.stored() && Store.update(c, "UPDATE budget_reservations SET created_at = ? WHERE request_id = ?", now, a.leaseId()) == 0) {
                    c.rollback();
                    return new LeaseResult(null, null, a.leaseId());
                }
                Counter k = counter(c, s.scope(), s.periodStart());
                long cost = leaseGrant(s.limitNanos(), k.spentNanos() + k.reservedNanos(), a.needCost(), a.unusedCost(), a.chunk());
                long toks = leaseGrant(s.tokenQuota(), k.tokensUsed() + k.tokensReserved(), a.needTokens(), a.unusedTokens(), a.chunk());
                if (cost >= 0 && toks >= 0) {
                    // (nothing to add when the lease only needed refreshing: it holds what it holds)
                    if ((cost > 0 || toks > 0) && !hold(c, s, cost, toks)) { // cannot fail while the counter is locked
                        c.rollback();
                        return new LeaseResult(null, refusal(c, s, a.needCost(), a.needTokens(), 0, 0), null);
                    }
                    if (a.stored())
                        Store.update(c, "UPDATE budget_reservations SET cost_nanos = cost_nanos + ?, tokens = tokens + ? WHERE request_id = ?",
                                cost, toks, a.leaseId());
                    else
                        insertReservation(c, a.leaseId(), isKey(s) ? s : null, isKey(s) ? null : s, cost, toks);
                    grants.add(new LeaseGrant(false, cost, toks));
                } else {
                    long backCost = Math.max(0, a.unusedCost()), backTokens = Math.max(0, a.unusedTokens());
                    if (backCost > 0 || backTokens > 0) {
                        Store.update(c, "UPDATE budget_reservations SET cost_nanos = cost_nanos - ?, tokens = tokens - ? WHERE request_id = ?",
                                backCost, backTokens, a.leaseId());
                        move(c, s.scope(), s.periodStart(), 0, 0, backCost, backTokens);
                    }
                    grants.add(new LeaseGrant(true, backCost, backTokens));
                    if (isKey(s)) exactKey = s;
                    else exactTeam = s;
                }
            }
            if (exactKey == null && exactTeam == null) return new LeaseResult(grants, null, null);
            for (int i = 0; i < asks.size(); i++) {
                Scope s = asks.get(i).scope();
                if (!grants.get(i).exact() || hold(c, s, costNanos, tokens)) continue;
                c.rollback();
                LeaseAsk a = asks.get(i);
                return new LeaseResult(null, refusal(c, s, costNanos, tokens, Math.max(0, a.unusedCost()), Math.max(0, a.unusedTokens())), null);
            }
            insertReservation(c, requestId, exactKey, exactTeam, costNanos, tokens);
            return new LeaseResult(grants, null, null);
        });
    }

    /**
     * What to add to a lease in one dimension: 0 if the dimension is unlimited or the lease's unused
     * part covers the request; -1 if so little is left that the request should reserve exactly;
     * else {@code chunk} request maxima, capped at a share of what is left, and never less than the
     * request needs beyond what the lease holds unused.
     */
    static long leaseGrant(Long limit, long usedAndReserved, long need, long unused, int chunk) {
        if (limit == null) return 0;
        long left = limit - usedAndReserved;
        if (need == 0 && left < 0) return -1; // refused as a reservation of nothing is, once the limit is passed
        if (unused >= need) return 0;
        long shortfall = need - unused;
        if (left < saturatedTimes(need, LEASE_MIN_REQUESTS) || shortfall > left) return -1;
        return Math.max(Math.min(saturatedTimes(need, chunk), left / LEASE_SHARE), shortfall);
    }

    private static long saturatedTimes(long v, int n) {
        return v > Long.MAX_VALUE / n ? Long.MAX_VALUE : v * n;
    }

    private static boolean isKey(Scope s) {
        return s.ownerColumn().equals("key_id");
    }

    /** Gives back part of a lease (a lease whose limits changed); false if its row is gone. */
    boolean shrinkLease(String leaseId, Scope s, long costNanos, long tokens) {
        return store.tx(c -> {
            lockCounters(c, List.of(s));
            if (Store.update(c, "UPDATE budget_reservations SET cost_nanos = cost_nanos - ?, tokens = tokens - ? WHERE request_id = ?",
                    costNanos, tokens, leaseId) == 0) return false;
            move(c, s.scope(), s.periodStart(), 0, 0, costNanos, tokens);
            return true;
        });
    }

    /** Deletes a lease's row and releases what it still holds; false if it was gone already. */
    boolean returnLease(String leaseId) {
        return store.tx(c -> release(c, leaseId, Long.MAX_VALUE));
    }

    /** Marks a lease as alive, so that the stale sweep leaves it; false if its row is gone. */
    boolean touchLease(String leaseId, long nowMs) {
        // auto-commit, one row: it waits for no counter lock, and no one waits for it long
        return store.call(c -> Store.update(c, "UPDATE budget_reservations SET created_at = ? WHERE request_id = ?", nowMs, leaseId)) == 1;
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
     * Books a settled request (whose ledger row was just inserted on {@code c}) and releases what it
     * held: its own reservation row, or in a scope it was admitted to through a lease, its actual
     * amounts from the lease's row (the rest of its maximum went back to the lease in memory).
     * Scopes are those known at admission, used as they are where nothing is held any more. The
     * caller has locked the scopes' counters ({@link #lockCounters}).
     */
    static void book(Connection c, String requestId, long costNanos, long tokens, Scope keyScope, Scope teamScope,
                     String keyLease, String teamLease) throws SQLException {
        Res r = reservation(c, requestId);
        boolean own = r != null && Store.update(c, "DELETE FROM budget_reservations WHERE request_id = ?", requestId) == 1;
        if (own && r.keyScope() != null) move(c, r.keyScope(), r.keyPeriod(), costNanos, tokens, r.cost(), r.tokens());
        else if (keyScope != null) bookThroughLease(c, keyScope, keyLease, costNanos, tokens);
        if (own && r.teamScope() != null) move(c, r.teamScope(), r.teamPeriod(), costNanos, tokens, r.cost(), r.tokens());
        else if (teamScope != null) bookThroughLease(c, teamScope, teamLease, costNanos, tokens);
    }

    private static void bookThroughLease(Connection c, Scope s, String leaseId, long costNanos, long tokens) throws SQLException {
        // a lease holds only the dimensions its scope limits
        long cost = s.limitNanos() == null ? 0 : costNanos, toks = s.tokenQuota() == null ? 0 : tokens;
        boolean held = leaseId != null && Store.update(c, "UPDATE budget_reservations SET cost_nanos = cost_nanos - ?, tokens = tokens - ? "
                + "WHERE request_id = ?", cost, toks, leaseId) == 1;
        if (held) move(c, s.scope(), s.periodStart(), costNanos, tokens, cost, toks);
        else move(c, s.scope(), s.periodStart(), costNanos, tokens, 0, 0); // nothing held: the lease was released meanwhile
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
