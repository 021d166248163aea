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
 * @param reservationTtl             budget reservations older than this are released (their process died); a
 *                                   process refreshes its budget leases every quarter of it and returns them after
 *                                   a tenth of it idle (10 s at most)
 * @param priceCacheMs               how long prices read from the store are kept
 * @param masterKey                  seals upstream API keys in the store ({@link SecretBox}), or null to keep them as given; never logged
 */
public record GatewayConfig(Database database, String redisUrl, String adminKey, long defaultMaxCompletionTokens,
                            Duration reservationTtl, long priceCacheMs, String masterKey) {
    public GatewayConfig {
        if (database == null) throw new IllegalArgumentException("no database");
        if (redisUrl != null && redisUrl.isBlank()) redisUrl = null;
        if (adminKey != null && adminKey.isBlank()) adminKey = null;
        if (masterKey != null && masterKey.isBlank()) masterKey = null;
        if (defaultMaxCompletionTokens < 1) throw new IllegalArgumentException("the default completion limit must be at least 1");
        if (reservationTtl == null) reservationTtl = Duration.ofMinutes(30);
    }

    public static GatewayConfig of(Database database) {
        return new GatewayConfig(database, null, null, 4096, Duration.ofMinutes(30), 5_000, null);
    }

    /**
     * From flags (each may be null) and the environment: GENSET_DB_URL (else the SQLite file in
     * GENSET_HOME), GENSET_REDIS_URL, GENSET_ADMIN_KEY, GENSET_MASTER_KEY.
     */
    public static GatewayConfig resolve(String dbUrl, String redisUrl, String adminKey, Map<String, String> env) {
        Database db = Database.resolve(dbUrl, env);
        String redis = redisUrl != null ? redisUrl : env.get("GENSET_REDIS_URL");
        String admin = adminKey != null ? adminKey : env.get("GENSET_ADMIN_KEY");
        return new GatewayConfig(db, redis, admin, 4096, Duration.ofMinutes(30), 5_000, env.get(SecretBox.ENV));
    }

    public GatewayConfig withRedis(String url) {
        return new GatewayConfig(database, url, adminKey, defaultMaxCompletionTokens, reservationTtl, priceCacheMs, masterKey);
    }

    public GatewayConfig withAdminKey(String key) {
        return new GatewayConfig(database, redisUrl, key, defaultMaxCompletionTokens, reservationTtl, priceCacheMs, masterKey);
    }

    public GatewayConfig withReservationTtl(Duration ttl) {
        return new GatewayConfig(database, redisUrl, adminKey, defaultMaxCompletionTokens, ttl, priceCacheMs, masterKey);
    }

    public GatewayConfig withMasterKey(String key) {
        return new GatewayConfig(database, redisUrl, adminKey, defaultMaxCompletionTokens, reservationTtl, priceCacheMs, key);
    }

    @Override
    public String toString() { // the admin key stays out of logs
        return "GatewayConfig[database=" + database.describe() + ", redis=" + (redisUrl == null ? "none" : "configured")
                + ", adminKey=" + (adminKey == null ? "none" : "set") + ", masterKey=" + (masterKey == null ? "none" : "set") + "]";
    }
}
