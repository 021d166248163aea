package dev.genset.gateway;

import dev.genset.store.Database;
import dev.genset.store.Keys;
import dev.genset.store.Store;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * API keys (with their teams) kept in memory, checked against the store's key version on every
 * request: one primary-key read of one row instead of looking the key and its team up. Every
 * change to keys or teams bumps the version once it has committed ({@link #bump}), in whichever
 * process makes it, so a revoked key is refused from the next request on.
 *
 * <p>The version is read on a connection of its own, with its statement prepared once, on the
 * calling thread (the read takes microseconds). If it cannot be read, the key is looked up in the
 * store as before.
 */
public final class KeyCache implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(KeyCache.class.getName());
    private static final String VERSION_SQL = "SELECT version FROM gateway_versions WHERE name = 'keys'";
    private static final int MAX_ENTRIES = 100_000;

    private final Store store;
    private final Keys keys;
    /** A key as read after the version was {@code version}: valid while the version stays the same. */
    private record Entry(Keys.Resolved resolved, long version) {}

    private final Map<String, Entry> byHash = new ConcurrentHashMap<>();
    private final ReentrantLock lock = new ReentrantLock();
    private Connection connection; // under lock
    private PreparedStatement versionQuery; // under lock
    private volatile boolean closed;
    private volatile boolean anySeen;
    private volatile long noKeysAt = Long.MIN_VALUE; // the version at which no key existed

    KeyCache(Store store, Keys keys) {
        this.store = store;
        this.keys = keys;
    }

    /** Marks keys and teams as changed; call after every committed change to them. */
    public static void bump(Store store) {
        store.call(c -> Store.update(c, "UPDATE gateway_versions SET version = version + 1 WHERE name = 'keys'"));
    }

    /** The key with this hash and its team as the store holds them now, or null for no such key. */
    Keys.Resolved lookup(String hash) {
        long v = currentVersion();
        if (v == Long.MIN_VALUE) return keys.lookup(hash); // the version is unknown: no caching
        Entry e = byHash.get(hash);
        if (e != null && e.version() == v) return e.resolved();
        Keys.Resolved r = keys.lookup(hash); // read after the version: at least as new as it
        if (r != null) {
            if (byHash.size() >= MAX_ENTRIES) byHash.clear();
            byHash.put(hash, new Entry(r, v));
        }
        return r;
    }

    /**
     * Whether any key exists (revoked ones count). Once one does, always true; while none does, the
     * store is asked again only after the key version changed (creating a key bumps it).
     */
    boolean anyKeys() {
        if (anySeen) return true;
        long v = currentVersion();
        if (v != Long.MIN_VALUE && v == noKeysAt) return false;
        boolean any = keys.anyExist();
        if (any) anySeen = true;
        else if (v != Long.MIN_VALUE) noKeysAt = v;
        return any;
    }

    /** Entries held (for tests). */
    int size() {
        return byHash.size();
    }

    private long currentVersion() {
        lock.lock();
        try {
            if (closed) return Long.MIN_VALUE;
            for (int attempt = 0; attempt < 2; attempt++) {
                try {
                    if (versionQuery == null) open();
                    try (ResultSet rs = versionQuery.executeQuery()) {
                        return rs.next() ? rs.getLong(1) : Long.MIN_VALUE;
                    }
                } catch (SQLException | RuntimeException e) {
                    closeConnection();
                    if (attempt == 1) LOG.log(System.Logger.Level.WARNING, "reading the key version failed: " + e.getMessage());
                }
            }
            return Long.MIN_VALUE;
        } finally {
            lock.unlock();
        }
    }

    private void open() throws SQLException {
        Database db = store.database();
        Properties p = new Properties();
        if (db.user() != null) p.setProperty("user", db.user());
        if (db.password() != null) p.setProperty("password", db.password());
        if (db.kind() == Database.Kind.SQLITE) p.setProperty("busy_timeout", "30000");
        connection = DriverManager.getConnection(db.jdbcUrl(), p);
        connection.setAutoCommit(true);
        versionQuery = connection.prepareStatement(VERSION_SQL);
    }

    private void closeConnection() {
        try {
            if (connection != null) connection.close();
        } catch (SQLException ignored) {
            // gone already
        }
        connection = null;
        versionQuery = null;
    }

    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            closeConnection();
        } finally {
            lock.unlock();
        }
    }
}
