package dev.genset.gateway;

import dev.genset.store.Database;

import java.time.Duration;
import java.util.Map;

/**
 * How the gateway runs.
 *
 * @param database                   the store
 * @param redisUrl                   shared rate-limit counters, or null for in-process counters
 * @param adminKey                   the key of the /admin API, or null (the admin API then refuses everyone); never logged
 * @param defaultMaxCompletionTokens reserved for a request that sets no limit of its own
 * @param reservationTtl             budget reservations older than this are released (their process died)
 * @param priceCacheMs               how long prices read from the store are kept
 */
public record GatewayConfig(Database database, String redisUrl, String adminKey, long defaultMaxCompletionTokens,
                            Duration reservationTtl, long priceCacheMs) {
    public GatewayConfig {
        if (database == null) throw new IllegalArgumentException("no database");
        if (redisUrl != null && redisUrl.isBlank()) redisUrl = null;
        if (adminKey != null && adminKey.isBlank()) adminKey = null;
        if (defaultMaxCompletionTokens < 1) throw new IllegalArgumentException("the default completion limit must be at least 1");
        if (reservationTtl == null) reservationTtl = Duration.ofMinutes(30);
    }

    public static GatewayConfig of(Database database) {
        return new GatewayConfig(database, null, null, 4096, Duration.ofMinutes(30), 5_000);
    }

    /**
     * From flags (each may be null) and the environment: GENSET_DB_URL (else the SQLite file in
     * GENSET_HOME), GENSET_REDIS_URL, GENSET_ADMIN_KEY.
     */
    public static GatewayConfig resolve(String dbUrl, String redisUrl, String adminKey, Map<String, String> env) {
        Database db = Database.resolve(dbUrl, env);
        String redis = redisUrl != null ? redisUrl : env.get("GENSET_REDIS_URL");
        String admin = adminKey != null ? adminKey : env.get("GENSET_ADMIN_KEY");
        return new GatewayConfig(db, redis, admin, 4096, Duration.ofMinutes(30), 5_000);
    }

    public GatewayConfig withRedis(String url) {
        return new GatewayConfig(database, url, adminKey, defaultMaxCompletionTokens, reservationTtl, priceCacheMs);
    }

    public GatewayConfig withAdminKey(String key) {
        return new GatewayConfig(database, redisUrl, key, defaultMaxCompletionTokens, reservationTtl, priceCacheMs);
    }

    @Override
    public String toString() { // the admin key stays out of logs
        return "GatewayConfig[database=" + database.describe() + ", redis=" + (redisUrl == null ? "none" : "configured")
                + ", adminKey=" + (adminKey == null ? "none" : "set") + "]";
    }
}
