package dev.genset.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.flywaydb.core.Flyway;

import javax.sql.DataSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The relational store: a pooled connection to SQLite or PostgreSQL with the schema migrated by
 * Flyway. One schema and one set of SQL statements serve both databases: money is stored as whole
 * nano-dollars and times as epoch milliseconds, both {@code BIGINT}, so sums are exact everywhere.
 *
 * <p>The SQLite driver runs native code that pins a virtual thread to its carrier; {@link #call}
 * and {@link #tx} therefore run SQLite work from virtual threads on a small pool of platform
 * threads, and the caller's virtual thread waits without pinning.
 */
public final class Store implements AutoCloseable {
    @FunctionalInterface
    public interface SqlWork<T> {
        T apply(Connection c) throws SQLException;
    }

    @FunctionalInterface
    public interface RowMapper<T> {
        T map(ResultSet rs) throws SQLException;
    }

    static {
        // Library start-up chatter would land on the CLI's stderr.
        for (String name : List.of("org.flywaydb", "com.zaxxer.hikari", "io.lettuce", "io.netty", "reactor"))
            Logger.getLogger(name).setLevel(Level.WARNING);
    }

    private final Database database;
    private final HikariDataSource dataSource;
    private final ExecutorService platform; // null for PostgreSQL

    private Store(Database database, HikariDataSource dataSource) {
        this.database = database;
        this.dataSource = dataSource;
        if (database.kind() == Database.Kind.SQLITE) {
            AtomicInteger n = new AtomicInteger();
            this.platform = Executors.newFixedThreadPool(dataSource.getMaximumPoolSize(), r -> {
                Thread t = new Thread(r, "genset-sqlite-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
        } else {
            this.platform = null;
        }
    }

    /** Opens (creating a SQLite file and its directory if needed) and migrates the store. */
    public static Store open(Database database) {
        HikariConfig hc = new HikariConfig();
        hc.setJdbcUrl(database.jdbcUrl());
        hc.setPoolName("genset-store");
        if (database.user() != null) hc.setUsername(database.user());
        if (database.password() != null) hc.setPassword(database.password());
        if (database.kind() == Database.Kind.SQLITE) {
            Path file = Path.of(database.jdbcUrl().substring("jdbc:sqlite:".length()).replaceFirst("\\?.*$", ""));
            try {
                Path dir = file.toAbsolutePath().getParent();
                if (dir != null) Files.createDirectories(dir);
            } catch (java.io.IOException e) {
                throw new StoreException("cannot create the data directory for " + file + ": " + e.getMessage(), e);
            }
            hc.addDataSourceProperty("journal_mode", "WAL");
            hc.addDataSourceProperty("synchronous", "NORMAL");
            hc.addDataSourceProperty("busy_timeout", "30000");
            hc.addDataSourceProperty("foreign_keys", "true");
            // writers take the lock when they begin: no deadlock upgrading a read lock
            hc.addDataSourceProperty("transaction_mode", "IMMEDIATE");
            // nothing here asks for generated keys, and the driver otherwise runs a second query after every insert or update
            hc.addDataSourceProperty("jdbc.get_generated_keys", "false");
            hc.setMaximumPoolSize(4);
        } else {
            hc.setMaximumPoolSize(10);
        }
        hc.setMinimumIdle(1);
        hc.setConnectionTimeout(30_000);
        HikariDataSource ds;
        try {
            ds = new HikariDataSource(hc);
        } catch (RuntimeException e) {
            throw new StoreException("cannot open the database " + database.describe() + ": " + rootMessage(e), e);
        }
        try {
            if (!upToDate(ds)) Flyway.configure().dataSource(ds).locations("classpath:db/migration").load().migrate();
        } catch (RuntimeException e) {
            ds.close();
            throw new StoreException("cannot migrate the database " + database.describe() + ": " + rootMessage(e), e);
        }
        return new Store(database, ds);
    }

    /** The newest migration in {@code db/migration} (a test holds the two together). */
    static final int SCHEMA_VERSION = 4;

    /**
     * Whether Flyway has applied exactly this build's migrations and nothing failed: then opening
     * skips Flyway, whose classes and scan of the migrations were most of a CLI command's start-up.
     * Any other state (new, older, newer, failed) goes through Flyway, which migrates or explains.
     */
    private static boolean upToDate(DataSource ds) {
        try (Connection c = ds.getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT version, success FROM flyway_schema_history WHERE version IS NOT NULL")) {
            int newest = -1;
            while (rs.next()) {
                if (!rs.getBoolean(2)) return false;
                newest = Math.max(newest, Integer.parseInt(rs.getString(1)));
            }
            return newest == SCHEMA_VERSION;
        } catch (SQLException | RuntimeException e) {
            return false; // no history table yet, or one this code does not understand: Flyway decides
        }
    }

    public Database database() {
        return database;
    }

    public Database.Kind kind() {
        return database.kind();
    }

    public DataSource dataSource() {
        return dataSource;
    }

    /** Runs work on one pooled connection in auto-commit mode. */
    public <T> T call(SqlWork<T> work) {
        return run(() -> {
            try (Connection c = dataSource.getConnection()) {
                return work.apply(c);
            }
        });
    }

    /** Runs work in one transaction: committed if it returns, rolled back if it throws. */
    public <T> T tx(SqlWork<T> work) {
        return run(() -> {
            try (Connection c = dataSource.getConnection()) {
                c.setAutoCommit(false);
                try {
                    T result = work.apply(c);
                    c.commit();
                    return result;
                } catch (Throwable t) {
                    try {
                        c.rollback();
                    } catch (SQLException suppressed) {
                        t.addSuppressed(suppressed);
                    }
                    throw t;
                } finally {
                    c.setAutoCommit(true);
                }
            }
        });
    }

    private interface Body<T> {
        T run() throws SQLException;
    }

    private <T> T run(Body<T> body) {
        if (platform != null && Thread.currentThread().isVirtual()) {
            Future<T> f = platform.submit(body::run);
            try {
                return f.get();
            } catch (InterruptedException e) {
                f.cancel(false);
                Thread.currentThread().interrupt();
                throw new StoreException("interrupted", e);
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof SQLException se) throw new StoreException(se.getMessage(), se);
                if (cause instanceof RuntimeException re) throw re;
                if (cause instanceof Error err) throw err;
                throw new StoreException(String.valueOf(cause), cause);
            }
        }
        try {
            return body.run();
        } catch (SQLException e) {
            throw new StoreException(e.getMessage(), e);
        }
    }

    // --- small JDBC helpers ---

    public static PreparedStatement prepare(Connection c, String sql, Object... args) throws SQLException {
        PreparedStatement ps = c.prepareStatement(sql);
        try {
            bind(ps, args);
        } catch (SQLException | RuntimeException e) {
            ps.close();
            throw e;
        }
        return ps;
    }

    public static void bind(PreparedStatement ps, Object... args) throws SQLException {
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            switch (a) {
                case null -> ps.setNull(i + 1, Types.NULL);
                case String s -> ps.setString(i + 1, s);
                case Integer n -> ps.setLong(i + 1, n);
                case Long n -> ps.setLong(i + 1, n);
                case Boolean b -> ps.setInt(i + 1, b ? 1 : 0);
                case NullLong nl -> ps.setNull(i + 1, Types.BIGINT);
                default -> throw new IllegalArgumentException("unsupported SQL argument " + a.getClass());
            }
        }
    }

    /** A typed null for a BIGINT parameter (PostgreSQL wants to know the type of a null in some positions). */
    public enum NullLong { INSTANCE }

    public static Object nullableLong(Long v) {
        return v == null ? NullLong.INSTANCE : v;
    }

    public static int update(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = prepare(c, sql, args)) {
            return ps.executeUpdate();
        }
    }

    public static <T> List<T> query(Connection c, String sql, RowMapper<T> mapper, Object... args) throws SQLException {
        try (PreparedStatement ps = prepare(c, sql, args); ResultSet rs = ps.executeQuery()) {
            List<T> out = new ArrayList<>();
            while (rs.next()) out.add(mapper.map(rs));
            return out;
        }
    }

    public static <T> T queryOne(Connection c, String sql, RowMapper<T> mapper, Object... args) throws SQLException {
        List<T> rows = query(c, sql, mapper, args);
        return rows.isEmpty() ? null : rows.getFirst();
    }

    /** A BIGINT column that may be NULL. */
    public static Long getLong(ResultSet rs, String column) throws SQLException {
        long v = rs.getLong(column);
        return rs.wasNull() ? null : v;
    }

    private static String rootMessage(Throwable t) {
        Throwable r = t;
        while (r.getCause() != null && r.getCause() != r) r = r.getCause();
        String m = r.getMessage();
        return m == null ? r.getClass().getSimpleName() : m;
    }

    @Override
    public void close() {
        if (platform != null) platform.shutdown();
        dataSource.close();
    }
}
