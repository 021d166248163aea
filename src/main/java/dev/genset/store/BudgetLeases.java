package dev.genset.store;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Budget leases: budget that this process admits requests against in memory, so that a key or
 * team with a budget or token quota costs no store transaction per request.
 *
 * <p>Per scope (key or team, period and limits) the process holds a lease: a reservation row
 * ({@code lease:<process>:<n>}) granted in one transaction, conditionally on the limits as a
 * request's reservation is, so the leases and reservations of all processes together never pass a
 * limit. A request takes its maximum cost and tokens from the lease's unused part under the
 * lease's monitor, without a store call. Settlement books the request's actual amounts from the
 * lease's row, in the ledger writer's transaction with the ledger row ({@link Budgets#book}), and
 * gives the rest of its maximum back to the lease in memory.
 *
 * <p>A lease that cannot cover a request grows by a few request maxima (twice as many as the last
 * time if it grew less than a second ago), at most a quarter of what is left
 * ({@link Budgets#leaseGrant}); when little is left, it gives its unused part back and the
 * request reserves exactly, on its own row, as every request did before leases. Refusals are then
 * the store's, as before.
 *
 * <p>Leases idle for a while are returned (their rows deleted, what they hold released), and all
 * are returned on close. A lease's row is refreshed every quarter of the reservation TTL, and a
 * lease whose row was not refreshed for half of it takes no requests, so the stale sweep (which
 * releases rows older than the TTL) releases only leases of processes that died.
 *
 * <p>When a scope's limits change, its first request under the new limits retires the old lease
 * (it takes no more requests and its unused part goes back at once; its row is returned when its
 * requests are settled) and takes a new one, granted under the new limits.
 */
public final class BudgetLeases implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(BudgetLeases.class.getName());
    private static final long FLUSH_MS = 10_000;

    /**
     * What an admitted request holds: per scope the lease it took its maximum from, or null where it
     * reserved on its own row (or has no such scope).
     */
    public record Hold(Lease key, Lease team, long cost, long tokens) {
        public String keyLease() {
            return key == null ? null : key.id;
        }

        public String teamLease() {
            return team == null ? null : team.id;
        }
    }

    /** The answer to {@link #acquire}: a hold, or the refusal. */
    public record Result(Hold hold, Budgets.Refusal refusal) {}

    /** One scope's lease in this process. */
    public static final class Lease {
        final String id;
        final Budgets.Scope scope;
        final String slot;
        /** Held across a store transaction on this lease (one at a time); the monitor guards the fields, briefly. */
        final ReentrantLock refill = new ReentrantLock();
        // What the row will hold once the bookings handed to the ledger writer are written, less what
        // admitted requests hold: what requests may take. Negative when requests cost more than their maximum.
        private long cost, tokens;
        private int holders; // admitted requests not yet settled
        private boolean closed; // takes no more requests
        private boolean stored; // its row exists; changed under refill too
        private long lastUsed, refreshedAt;
        // under refill: a lease that grows again within a second grows by twice as much
        private int chunk = Budgets.LEASE_CHUNK_REQUESTS;
        private long grownAt; // 0: never

        Lease(String id, Budgets.Scope scope, String slot, long now) {
            this.id = id;
            this.scope = scope;
            this.slot = slot;
            this.lastUsed = now;
        }

        /** A request's maximum in what this lease holds: only the dimensions its scope limits. */
        long cost(long c) {
            return scope.limitNanos() == null ? 0 : c;
        }

        long tokens(long t) {
            return scope.tokenQuota() == null ? 0 : t;
        }

        synchronized boolean take(long c, long t, long now, long staleBefore) {
            if (closed || !stored || refreshedAt < staleBefore || cost < cost(c) || tokens < tokens(t)) return false;
            cost -= cost(c);
            tokens -= tokens(t);
            holders++;
            lastUsed = now;
            return true;
        }

        /** A request that held {@code c, t} is done and used {@code usedC, usedT}: the rest comes back. */
        synchronized void give(long c, long t, long usedC, long usedT, long now) {
            cost += cost(c) - cost(usedC);
            tokens += tokens(t) - tokens(usedT);
            holders--;
            lastUsed = now;
        }

        /** Takes the unused part out for a store transaction. */
        synchronized long[] drain() {
            long[] d = {cost, tokens};
            cost = 0;
            tokens = 0;
            return d;
        }

        synchronized void refund(long c, long t) {
            cost += c;
            tokens += t;
        }

        /** A transaction added {@code c, t} (net of the request it admitted) and refreshed the row. */
        synchronized void granted(long c, long t, long now) {
            cost += c;
            tokens += t;
            holders++;
            stored = true;
            refreshedAt = now;
            lastUsed = now;
        }

        /** Request maxima to grow by now (under refill). */
        int nextChunk(long now) {
            return now - grownAt < 1_000 ? Math.min(2 * chunk, Budgets.LEASE_MAX_CHUNK_REQUESTS) : Budgets.LEASE_CHUNK_REQUESTS;
        }

        void grewBy(int chunk, long now) {
            this.chunk = chunk;
            this.grownAt = now;
        }

        synchronized void refreshed(long now) {
            if (stored) refreshedAt = Math.max(refreshedAt, now);
        }

        synchronized boolean isClosed() {
            return closed;
        }

        synchronized boolean isStored() {
            return stored;
        }

        synchronized void close() {
            closed = true;
        }

        /** Closes the lease if nothing holds it and it is closed already or idle since {@code idleBefore}. */
        synchronized boolean closeIfIdle(long idleBefore) {
            if (holders > 0 || (!closed && lastUsed >= idleBefore)) return false;
            closed = true;
            return true;
        }

        synchronized boolean needsRefresh(long before) {
            return stored && refreshedAt < before;
        }

        synchronized void forget() {
            closed = true;
            stored = false;
        }
    }

    private final Budgets budgets;
    private final LedgerWriter ledger;
    private final long refreshMs, staleMs, idleMs, tickMs;
    private final String instance = Ids.random("", 12);
    private final AtomicLong sequence = new AtomicLong();
    private final AtomicLong storeCalls = new AtomicLong();
    private final Map<String, Lease> bySlot = new ConcurrentHashMap<>(); // the lease requests of a scope and period take from
    private final Set<Lease> all = ConcurrentHashMap.newKeySet(); // with retired ones, until returned

    /**
     * @param ledger         the writer that books requests admitted through these leases: a lease is
     *                       returned only once their bookings are written
     * @param reservationTtl the stale sweep's TTL: leases are refreshed every quarter of it and
     *                       returned after a tenth of it idle (10 s at most)
     */
    public BudgetLeases(Store store, LedgerWriter ledger, Duration reservationTtl) {
        this.budgets = new Budgets(store);
        this.ledger = ledger;
        long ttl = Math.max(8, reservationTtl.toMillis());
        this.refreshMs = ttl / 4;
        this.staleMs = ttl / 2;
        this.idleMs = Math.min(10_000, ttl / 10);
        this.tickMs = Math.clamp(ttl / 8, 1, 1_000);
    }

    /** How often {@link #maintain} must run. */
    public long maintenanceIntervalMs() {
        return tickMs;
    }

    /** This process's part of its lease ids. */
    public String instanceId() {
        return instance;
    }

    /** Store calls made so far (transactions and refreshes): a measure of how rarely admission needs the store. */
    public long storeCalls() {
        return storeCalls.get();
    }

    /**
     * Holds {@code cost} nano-dollars and {@code tokens} in each given scope (nulls skipped), all or
     * nothing: from the scopes' leases if they cover it, else with one store transaction.
     */
    public Result acquire(String requestId, Budgets.Scope key, Budgets.Scope team, long cost, long tokens) {
        while (true) {
            long now = System.currentTimeMillis();
            Lease k = key == null ? null : current(key, now);
            Lease t = team == null ? null : current(team, now);
            boolean kTaken = k == null || k.take(cost, tokens, now, now - staleMs);
            boolean tTaken = t == null || t.take(cost, tokens, now, now - staleMs);
            if (kTaken && tTaken) return new Result(new Hold(k, t, cost, tokens), null);
            Result r = refill(requestId, k, kTaken, t, tTaken, cost, tokens);
            if (r != null) return r;
        }
    }

    /** A settled request: what it did not use of its maximum goes back to its leases. */
    public void release(Hold h, long usedCost, long usedTokens) {
        if (h == null) return;
        long now = System.currentTimeMillis();
        if (h.key() != null) h.key().give(h.cost(), h.tokens(), usedCost, usedTokens, now);
        if (h.team() != null) h.team().give(h.cost(), h.tokens(), usedCost, usedTokens, now);
    }

    /** The lease requests of this scope take from, a new one if there is none (or it is closed). */
    private Lease current(Budgets.Scope s, long now) {
        String slot = s.scope() + "@" + s.periodStart();
        Lease l = bySlot.get(slot);
        if (l != null && l.scope.equals(s) && !l.isClosed()) return l;
        Lease[] replaced = new Lease[1];
        Lease lease = bySlot.compute(slot, (key, old) -> {
            if (old != null && old.scope.equals(s) && !old.isClosed()) return old;
            replaced[0] = old;
            Lease fresh = new Lease(Budgets.LEASE_PREFIX + instance + ":" + sequence.incrementAndGet(), s, slot, now);
            all.add(fresh);
            return fresh;
        });
        if (replaced[0] != null && !replaced[0].scope.equals(s)) retire(replaced[0]); // the limits changed
        return lease;
    }

    /**
     * The slow path: one store transaction for the scopes whose leases could not cover the request
     * (locked in scope order: key, then team). Null when a lease went away meanwhile (returned,
     * retired or released as stale): the caller starts again.
     */
    private Result refill(String requestId, Lease k, boolean kTaken, Lease t, boolean tTaken, long cost, long tokens) {
        List<Lease> wanting = new ArrayList<>(2), taken = new ArrayList<>(2);
        if (!kTaken) wanting.add(k);
        else if (k != null) taken.add(k);
        if (!tTaken) wanting.add(t);
        else if (t != null) taken.add(t);
        for (Lease l : wanting) l.refill.lock();
        boolean admitted = false;
        try {
            long now = System.currentTimeMillis();
            List<Lease> still = new ArrayList<>(2);
            for (Lease l : wanting) {
                if (l.isClosed()) return null;
                if (l.take(cost, tokens, now, now - staleMs)) taken.add(l); // another request grew it while this one waited
                else still.add(l);
            }
            if (still.isEmpty()) {
                admitted = true;
                return new Result(new Hold(k, t, cost, tokens), null);
            }
            List<Budgets.LeaseAsk> asks = new ArrayList<>(2);
            long[][] unused = new long[still.size()][];
            for (int i = 0; i < still.size(); i++) {
                Lease l = still.get(i);
                unused[i] = l.drain();
                asks.add(new Budgets.LeaseAsk(l.scope, l.id, l.isStored(), unused[i][0], unused[i][1], l.cost(cost), l.tokens(tokens),
                        l.nextChunk(now)));
            }
            Budgets.LeaseResult res;
            try {
                storeCalls.incrementAndGet();
                res = budgets.lease(requestId, asks, cost, tokens);
            } catch (RuntimeException e) {
                for (int i = 0; i < still.size(); i++) still.get(i).refund(unused[i][0], unused[i][1]);
                throw e;
            }
            if (res.grants() == null) {
                for (int i = 0; i < still.size(); i++) still.get(i).refund(unused[i][0], unused[i][1]);
                if (res.goneLease() == null) return new Result(null, res.refusal());
                for (Lease l : still) if (l.id.equals(res.goneLease())) forget(l);
                return null;
            }
            Lease holdKey = k, holdTeam = t;
            for (int i = 0; i < still.size(); i++) {
                Lease l = still.get(i);
                Budgets.LeaseGrant g = res.grants().get(i);
                if (g.exact()) { // the request reserved on its own row; what the lease gave back is gone from it
                    l.refund(unused[i][0] - g.cost(), unused[i][1] - g.tokens());
                    l.refreshed(now);
                    if (l == k) holdKey = null;
                    else holdTeam = null;
                } else {
                    l.granted(unused[i][0] + g.cost() - l.cost(cost), unused[i][1] + g.tokens() - l.tokens(tokens), now);
                    l.grewBy(asks.get(i).chunk(), now);
                }
            }
            admitted = true;
            return new Result(new Hold(holdKey, holdTeam, cost, tokens), null);
        } finally {
            if (!admitted) for (Lease l : taken) l.give(cost, tokens, 0, 0, System.currentTimeMillis());
            for (int i = wanting.size() - 1; i >= 0; i--) wanting.get(i).refill.unlock();
        }
    }

    /** A lease whose limits changed: it takes no more requests, and its unused part goes back now. */
    private void retire(Lease l) {
        l.refill.lock();
        try {
            if (l.isClosed()) return;
            l.close();
            long[] unused = l.drain();
            long c = Math.max(0, unused[0]), t = Math.max(0, unused[1]);
            if (l.isStored() && (c > 0 || t > 0)) {
                storeCalls.incrementAndGet();
                if (!budgets.shrinkLease(l.id, l.scope, c, t)) forget(l);
            }
        } catch (RuntimeException e) { // it is closed: maintenance returns it whole once its requests are done
            LOG.log(System.Logger.Level.WARNING, "giving back the unused part of budget lease " + l.id + " failed: " + e.getMessage());
        } finally {
            l.refill.unlock();
        }
    }

    /** A lease whose row is gone (the stale sweep released it): nothing to return. */
    private void forget(Lease l) {
        l.forget();
        bySlot.remove(l.slot, l);
        all.remove(l);
    }

    /**
     * Returns leases that are idle or retired and hold no request, and refreshes the rows of the
     * others. Run it every {@link #maintenanceIntervalMs}.
     */
    public void maintain() {
        long now = System.currentTimeMillis();
        List<Lease> done = new ArrayList<>();
        for (Lease l : all) {
            if (!l.refill.tryLock()) continue; // a transaction on it is under way: in use
            try {
                if (l.closeIfIdle(now - idleMs)) done.add(l);
            } finally {
                l.refill.unlock();
            }
        }
        returnAll(done);
        for (Lease l : all) {
            if (!l.needsRefresh(now - refreshMs)) continue;
            try {
                storeCalls.incrementAndGet();
                if (budgets.touchLease(l.id, now)) {
                    l.refreshed(now);
                } else {
                    LOG.log(System.Logger.Level.WARNING, "budget lease " + l.id + " was released by the stale-reservation sweep");
                    l.refill.lock();
                    try {
                        forget(l);
                    } finally {
                        l.refill.unlock();
                    }
                }
            } catch (RuntimeException e) { // not refreshed for half the TTL, it takes no requests
                LOG.log(System.Logger.Level.WARNING, "refreshing budget lease " + l.id + " failed: " + e.getMessage());
            }
        }
    }

    /** Returns closed leases to the store once the bookings of their requests are written. */
    private void returnAll(List<Lease> closed) {
        if (closed.isEmpty()) return;
        for (Lease l : closed) bySlot.remove(l.slot, l);
        if (!ledger.flush(FLUSH_MS)) // a booking written later finds no row and releases nothing: still consistent
            LOG.log(System.Logger.Level.WARNING, "returning budget leases before the ledger caught up");
        for (Lease l : closed) {
            try {
                if (l.isStored()) {
                    storeCalls.incrementAndGet();
                    budgets.returnLease(l.id);
                }
                l.forget();
                all.remove(l);
            } catch (RuntimeException e) { // stays closed in all: tried again at the next maintenance
                LOG.log(System.Logger.Level.WARNING, "returning budget lease " + l.id + " failed: " + e.getMessage());
            }
        }
    }

    /** Returns every lease (call after the ledger writer is flushed or closed). */
    @Override
    public void close() {
        List<Lease> leases = new ArrayList<>(all);
        for (Lease l : leases) {
            l.refill.lock();
            try {
                l.close();
            } finally {
                l.refill.unlock();
            }
        }
        returnAll(leases);
    }
}
