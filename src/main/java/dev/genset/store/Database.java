package dev.genset.store;

import java.net.URI;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * Where the store lives: a SQLite file (the default, {@code genset.db} in the data directory) or a
 * PostgreSQL server named by a JDBC URL.
 *
 * @param jdbcUrl  {@code jdbc:sqlite:/path/genset.db} or {@code jdbc:postgresql://host/db?...}
 * @param user     optional user for PostgreSQL (may also be in the URL)
 * @param password optional password (may also be in the URL); never printed
 */
public record Database(String jdbcUrl, String user, String password) {
    public enum Kind { SQLITE, POSTGRES }

    public Database {
        if (jdbcUrl == null || jdbcUrl.isBlank()) throw new IllegalArgumentException("empty database URL");
        kindOf(jdbcUrl);
    }

    public static Database sqlite(Path file) {
        return new Database("jdbc:sqlite:" + file.toAbsolutePath(), null, null);
    }

    public static Database url(String jdbcUrl) {
        return new Database(jdbcUrl, null, null);
    }

    public Kind kind() {
        return kindOf(jdbcUrl);
    }

    /** The data directory: GENSET_HOME, else ~/.genset. */
    public static Path home(Map<String, String> env) {
        String h = env.get("GENSET_HOME");
        if (h != null && !h.isBlank()) return Path.of(h);
        return Path.of(System.getProperty("user.home"), ".genset");
    }

    /**
     * The database to use: the explicit URL (a {@code --db} flag) if given, else GENSET_DB_URL, else
     * the SQLite file {@code genset.db} in the data directory. A URL may be a JDBC URL, a
     * {@code postgresql://} or {@code postgres://} URL, or a path to a SQLite file.
     */
    public static Database resolve(String explicitUrl, Map<String, String> env) {
        String url = explicitUrl;
        if (url == null || url.isBlank()) url = env.get("GENSET_DB_URL");
        if (url == null || url.isBlank()) return sqlite(home(env).resolve("genset.db"));
        return parse(url.trim());
    }

    static Database parse(String url) {
        if (url.startsWith("jdbc:")) return url(url);
        if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
            URI u = URI.create(url);
            String user = null, password = null;
            if (u.getRawUserInfo() != null) {
                String[] up = u.getUserInfo().split(":", 2);
                user = up[0];
                password = up.length > 1 ? up[1] : null;
            }
            String hostPort = u.getHost() + (u.getPort() > 0 ? ":" + u.getPort() : "");
            String jdbc = "jdbc:postgresql://" + hostPort + (u.getRawPath() == null ? "/" : u.getRawPath())
                    + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery());
            return new Database(jdbc, user, password);
        }
        if (url.startsWith("sqlite:")) return sqlite(Path.of(url.substring("sqlite:".length())));
        return sqlite(Path.of(url));
    }

    private static Kind kindOf(String url) {
        String u = url.toLowerCase(Locale.ROOT);
        if (u.startsWith("jdbc:sqlite:")) return Kind.SQLITE;
        if (u.startsWith("jdbc:postgresql:")) return Kind.POSTGRES;
        throw new IllegalArgumentException("unsupported database URL (expected jdbc:sqlite:... or jdbc:postgresql://...)");
    }

    /** The URL without credentials, for messages. */
    public String describe() {
        return jdbcUrl.replaceAll("(?i)(password=)[^&]*", "$1***");
    }

    @Override
    public String toString() {
        return describe();
    }
}
