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

    /** Directories of {@link #freshSqlite} databases, removed with what is in them when the test JVM exits. */
    private static final java.util.List<Path> SQLITE_DIRS = new java.util.concurrent.CopyOnWriteArrayList<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> SQLITE_DIRS.forEach(TestDatabases::deleteTree)));
    }

    private static void deleteTree(Path dir) {
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | java.io.UncheckedIOException ignored) {
            // a temporary directory left behind is not a test failure
        }
    }

    /** A new SQLite file in a new temporary directory. */
    public static Database freshSqlite() {
        try {
            Path dir = Files.createTempDirectory("genset-store-");
            SQLITE_DIRS.add(dir);
            return Database.sqlite(dir.resolve("genset.db"));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Database fresh(Database.Kind kind) {
        return kind == Database.Kind.SQLITE ? freshSqlite() : freshPostgres();
    }
}
