package dev.genset.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The one thread that writes the usage ledger: request threads hand it settled requests and go
 * on; it commits them in small batches (each row with its budget booking, in one transaction), so a
 * committed row is never lost and never counted twice (the request id is the primary key). Closing
 * flushes everything handed over.
 *
 * <p>Under load it commits at most once per {@link #LINGER_NANOS}: every commit appends each page it
 * touched to SQLite's write-ahead log (a ledger row touches the table and its indexes), so rows
 * that arrive within a few milliseconds cost far less committed together. At 1000 requests a second
 * one commit per row took about as much CPU as serving the requests. An idle writer commits a
 * lone row at once.
 */
public final class LedgerWriter implements AutoCloseable {
    /**
     * A settled request, the budget scopes it was admitted under (either may be null), and per
     * scope the lease it was admitted through (null: it reserved on its own row, if at all).
     */
    public record Entry(UsageRow row, Budgets.Scope keyScope, Budgets.Scope teamScope, String keyLease, String teamLease) {
        public Entry(UsageRow row, Budgets.Scope keyScope, Budgets.Scope teamScope) {
            this(row, keyScope, teamScope, null, null);
        }
    }

    private static final System.Logger LOG = System.getLogger(LedgerWriter.class.getName());
    private static final int MAX_BATCH = 256;
    static final long LINGER_NANOS = 5_000_000;
    private static final String INSERT = "INSERT INTO usage_ledger (request_id, ts, key_id, team_id, model, provider, deployment, "
            + "prompt_tokens, completion_tokens, cached_tokens, cost_nanos, latency_ms, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            + "ON CONFLICT (request_id) DO NOTHING";
    private static final Entry STOP = new Entry(null, null, null);

    private final Store store;
    private final BlockingQueue<Entry> queue = new LinkedBlockingQueue<>();
    private final AtomicLong submitted = new AtomicLong();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition progress = lock.newCondition();
    private long done; // entries committed or dropped, under lock
    private final Thread thread;
    private volatile boolean closed;

    public LedgerWriter(Store store) {
        this.store = store;
        this.thread = Thread.ofPlatform().name("genset-ledger").daemon(true).start(this::loop);
    }

    /** Hands a settled request to the writer; it is committed shortly after. */
    public void submit(Entry e) {
        if (e == null || e.row() == null) throw new IllegalArgumentException("no usage row");
        if (closed) throw new IllegalStateException("the ledger writer is closed");
        submitted.incrementAndGet();
        queue.add(e);
    }

    /** Waits until everything submitted before this call is committed (or timeout); true if it is. */
    public boolean flush(long timeoutMs) {
        long target = submitted.get();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        lock.lock();
        try {
            while (done < target) {
                long left = deadline - System.nanoTime();
                if (left <= 0) return false;
                progress.awaitNanos(left);
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            lock.unlock();
        }
    }

    public void flush() {
        flush(60_000);
    }

    /** Entries handed over and not yet committed. */
    public long pending() {
        lock.lock();
        try {
            return submitted.get() - done;
        } finally {
            lock.unlock();
        }
    }

    private void loop() {
        List<Entry> batch = new ArrayList<>();
        boolean stopping = false;
        long lastCommit = System.nanoTime() - LINGER_NANOS;
        while (!stopping || !queue.isEmpty()) {
            try {
                Entry first = stopping ? queue.poll() : queue.poll(1, TimeUnit.SECONDS);
                if (first == null) continue;
                if (first == STOP) {
                    stopping = true;
                    continue;
                }
                batch.add(first);
                // sleeping (not waiting on the queue) lets submitters add rows without waking this thread
                long wait = lastCommit + LINGER_NANOS - System.nanoTime();
                if (!stopping && wait > 0) {
                    try {
                        TimeUnit.NANOSECONDS.sleep(wait);
                    } catch (InterruptedException e) {
                        stopping = true; // the batch is written all the same
                    }
                }
                queue.drainTo(batch, MAX_BATCH - 1);
                if (batch.remove(STOP)) stopping = true;
                write(batch);
                lastCommit = System.nanoTime();
            } catch (InterruptedException e) {
                stopping = true;
            } finally {
                if (!batch.isEmpty()) {
                    lock.lock();
                    try {
                        done += batch.size();
                        progress.signalAll();
                    } finally {
                        lock.unlock();
                    }
                    batch.clear();
                }
            }
        }
    }

    /** Writes a batch in one transaction; if that fails, row by row, retrying what may succeed later. */
    private void write(List<Entry> batch) {
        try {
            store.tx(c -> {
                lockCounters(c, batch);
                try (PreparedStatement insert = c.prepareStatement(INSERT)) {
                    for (Entry e : batch) writeOne(c, insert, e);
                }
                return null;
            });
            return;
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "usage ledger batch failed, writing row by row: " + e.getMessage());
        }
        for (Entry e : batch) {
            long backoff = 100;
            for (int attempt = 1; ; attempt++) {
                try {
                    store.tx(c -> {
                        lockCounters(c, List.of(e));
                        try (PreparedStatement insert = c.prepareStatement(INSERT)) {
                            writeOne(c, insert, e);
                        }
                        return null;
                    });
                    break;
                } catch (RuntimeException ex) {
                    boolean transientFailure = isTransient(ex);
                    if (!transientFailure && attempt >= 3) {
                        LOG.log(System.Logger.Level.ERROR, "usage ledger row " + e.row().requestId() + " dropped: " + ex.getMessage());
                        break;
                    }
                    try {
                        Thread.sleep(backoff);
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                    }
                    backoff = Math.min(backoff * 2, 5_000);
                }
            }
        }
    }

    static boolean isTransient(Throwable t) {
        for (Throwable x = t; x != null; x = x.getCause()) {
            if (x instanceof java.sql.SQLTransientException || x instanceof java.sql.SQLRecoverableException) return true;
            if (x instanceof SQLException se) {
                String state = se.getSQLState();
                if (state != null && (state.startsWith("08") || state.equals("40001") || state.equals("40P01") || state.equals("57P01")))
                    return true;
                String m = String.valueOf(se.getMessage());
                if (m.contains("SQLITE_BUSY") || m.contains("SQLITE_LOCKED")) return true;
            }
        }
        return false;
    }

    /** The budget counters a batch books to, locked before any row (see {@link Budgets}). */
    private static void lockCounters(Connection c, List<Entry> entries) throws SQLException {
        List<Budgets.Scope> scopes = new ArrayList<>();
        for (Entry e : entries) {
            scopes.add(e.keyScope());
            scopes.add(e.teamScope());
        }
        Budgets.lockCounters(c, scopes);
    }

    /** One row through the batch's prepared insert (prepared once per batch: SQLite compiles each statement it is given). */
    private static void writeOne(Connection c, PreparedStatement insert, Entry e) throws SQLException {
        UsageRow r = e.row();
        long cost = Money.toNanos(r.cost());
        Store.bind(insert, r.requestId(), r.ts(), r.keyId(), r.teamId(), r.model(), r.provider(), r.deployment(), r.promptTokens(),
                r.completionTokens(), r.cachedTokens(), cost, r.latencyMs(), r.status());
        int inserted = insert.executeUpdate();
        // only an admission with a budget scope reserved anything: other rows have nothing to book
        if (inserted == 1 && (e.keyScope() != null || e.teamScope() != null))
            Budgets.book(c, r.requestId(), cost, r.totalTokens(), e.keyScope(), e.teamScope(), e.keyLease(), e.teamLease());
    }

    /** Commits everything handed over, then stops the thread. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        queue.add(STOP);
        try {
            thread.join(120_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
