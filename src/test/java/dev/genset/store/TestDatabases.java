package dev.genset.store;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Real databases for tests: SQLite files in temporary directories, and one embedded PostgreSQL
 * server per test JVM (started on first use, stopped at exit) with a fresh database per call.
 */
public final class TestDatabases {
    private TestDatabases() {}

    private static EmbeddedPostgres postgres;
    private static final AtomicInteger COUNTER = new AtomicInteger();

    public static synchronized EmbeddedPostgres postgres() {
        if (postgres == null) {
            java.util.logging.Logger.getLogger("io.zonky").setLevel(java.util.logging.Level.WARNING);
            try {
                postgres = EmbeddedPostgres.builder().start();
            } catch (IOException e) {
                throw new IllegalStateException("cannot start the embedded PostgreSQL server", e);
            }
            EmbeddedPostgres pg = postgres;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    pg.close();
                } catch (IOException ignored) {
                    // exiting anyway
                }
            }));
        }
        return postgres;
    }

    /** A new, empty PostgreSQL database on the shared server. */
    public static Database freshPostgres() {
        EmbeddedPostgres pg = postgres();
        String name = "gs_" + ProcessHandle.current().pid() + "_" + COUNTER.incrementAndGet();
        try (Connection c = pg.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
        return Database.url(pg.getJdbcUrl("postgres", name));
    }

    /** A new SQLite file in a new temporary directory. */
    public static Database freshSqlite() {
        try {
            Path dir = Files.createTempDirectory("genset-store-");
            dir.toFile().deleteOnExit();
            return Database.sqlite(dir.resolve("genset.db"));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Database fresh(Database.Kind kind) {
        return kind == Database.Kind.SQLITE ? freshSqlite() : freshPostgres();
    }
}
