package dev.genset.store;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;

/** API key records in the store (hashes only). */
public final class Keys {
    /** A key with its team, as one request needs them. */
    public record Resolved(ApiKeyRecord key, Team team) {}

    private final Store store;
    private volatile boolean anySeen;

    public Keys(Store store) {
        this.store = store;
    }

    public ApiKeyRecord insert(String hash, String prefix, String name, String teamId, Limits limits, Long expiresAt) {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("a key needs a name");
        Limits l = limits == null ? Limits.NONE : limits;
        String id = Ids.random("key_", 12);
        long now = System.currentTimeMillis();
        store.call(c -> Store.update(c, "INSERT INTO api_keys (id, key_hash, prefix, name, team_id, models, rpm, tpm, budget_nanos, token_quota, "
                        + "budget_period, expires_at, revoked_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                id, hash, prefix, name, teamId, Limits.joinModels(l.models()), Store.nullableLong(l.rpm()), Store.nullableLong(l.tpm()),
                Store.nullableLong(Money.toNanosOrNull(l.budget())), Store.nullableLong(l.tokenQuota()), l.period().label(),
                Store.nullableLong(expiresAt), now));
        anySeen = true;
        return new ApiKeyRecord(id, prefix, name, teamId, l, expiresAt, null, now, false);
    }

    /** Keys, newest first; of one team if teamId is not null. */
    public List<ApiKeyRecord> list(String teamId) {
        if (teamId == null)
            return store.call(c -> Store.query(c, "SELECT * FROM api_keys ORDER BY created_at DESC, id", Keys::map));
        return store.call(c -> Store.query(c, "SELECT * FROM api_keys WHERE team_id = ? ORDER BY created_at DESC, id", Keys::map, teamId));
    }

    /** By id, or by a unique name or prefix; null if none. */
    public ApiKeyRecord find(String ref) {
        return store.call(c -> {
            ApiKeyRecord byId = Store.queryOne(c, "SELECT * FROM api_keys WHERE id = ?", Keys::map, ref);
            if (byId != null) return byId;
            List<ApiKeyRecord> m = Store.query(c, "SELECT * FROM api_keys WHERE name = ? OR prefix = ?", Keys::map, ref, ref);
            if (m.size() > 1) throw new IllegalArgumentException(m.size() + " keys match " + ref + "; name one by its id");
            return m.isEmpty() ? null : m.getFirst();
        });
    }

    public ApiKeyRecord require(String ref) {
        ApiKeyRecord k = find(ref);
        if (k == null) throw new IllegalArgumentException("no key " + ref);
        return k;
    }

    /** Revokes a key; it stops working at the next request. Returns the record as revoked. */
    public ApiKeyRecord revoke(String ref) {
        ApiKeyRecord k = require(ref);
        long now = System.currentTimeMillis();
        store.call(c -> Store.update(c, "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", now, k.id()));
        return find(k.id());
    }

    public ApiKeyRecord update(String ref, Limits limits, Long expiresAt) {
        ApiKeyRecord k = require(ref);
        store.call(c -> Store.update(c, "UPDATE api_keys SET models = ?, rpm = ?, tpm = ?, budget_nanos = ?, token_quota = ?, budget_period = ?, "
                        + "expires_at = ? WHERE id = ?",
                Limits.joinModels(limits.models()), Store.nullableLong(limits.rpm()), Store.nullableLong(limits.tpm()),
                Store.nullableLong(Money.toNanosOrNull(limits.budget())), Store.nullableLong(limits.tokenQuota()), limits.period().label(),
                Store.nullableLong(expiresAt), k.id()));
        return find(k.id());
    }

    /** Turns request capture on or off for a key; it applies from the next request. */
    public ApiKeyRecord setCapture(String ref, boolean capture) {
        ApiKeyRecord k = require(ref);
        store.call(c -> Store.update(c, "UPDATE api_keys SET capture = ? WHERE id = ?", capture ? 1 : 0, k.id()));
        return find(k.id());
    }

    /** The key whose hash this is, with its team: one indexed read, so revocation shows at once. */
    public Resolved lookup(String hash) {
        return store.call(c -> Store.queryOne(c,
                "SELECT k.*, t.id AS t_id, t.name AS t_name, t.models AS t_models, t.rpm AS t_rpm, t.tpm AS t_tpm, "
                        + "t.budget_nanos AS t_budget_nanos, t.token_quota AS t_token_quota, t.budget_period AS t_budget_period, "
                        + "t.disabled AS t_disabled, t.created_at AS t_created_at "
                        + "FROM api_keys k LEFT JOIN teams t ON t.id = k.team_id WHERE k.key_hash = ?",
                rs -> {
                    ApiKeyRecord key = map(rs);
                    Team team = null;
                    if (rs.getString("t_id") != null) {
                        Limits tl = new Limits(Limits.splitModels(rs.getString("t_models")), Store.getLong(rs, "t_rpm"), Store.getLong(rs, "t_tpm"),
                                Money.fromNanosOrNull(Store.getLong(rs, "t_budget_nanos")), Store.getLong(rs, "t_token_quota"),
                                BudgetPeriod.parse(rs.getString("t_budget_period")));
                        team = new Team(rs.getString("t_id"), rs.getString("t_name"), tl, rs.getInt("t_disabled") != 0, rs.getLong("t_created_at"));
                    }
                    return new Resolved(key, team);
                }, hash));
    }

    /** Whether any key was ever created (revoked keys count: once keys exist, they are required). */
    public boolean anyExist() {
        if (anySeen) return true;
        boolean any = store.call(c -> Store.queryOne(c, "SELECT 1 FROM api_keys LIMIT 1", rs -> 1) != null);
        if (any) anySeen = true;
        return any;
    }

    static ApiKeyRecord map(ResultSet rs) throws SQLException {
        return new ApiKeyRecord(rs.getString("id"), rs.getString("prefix"), rs.getString("name"), rs.getString("team_id"),
                Teams.limits(rs), Store.getLong(rs, "expires_at"), Store.getLong(rs, "revoked_at"), rs.getLong("created_at"),
                rs.getInt("capture") != 0);
    }
}
