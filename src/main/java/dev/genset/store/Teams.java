package dev.genset.store;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;

/** Teams in the store. */
public final class Teams {
    private final Store store;

    public Teams(Store store) {
        this.store = store;
    }

    public Team create(String name, Limits limits) {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("a team needs a name");
        Limits l = limits == null ? Limits.NONE : limits;
        String id = Ids.random("team_", 12);
        long now = System.currentTimeMillis();
        return store.tx(c -> {
            if (Store.queryOne(c, "SELECT id FROM teams WHERE name = ?", rs -> rs.getString(1), name) != null)
                throw new IllegalArgumentException("team " + name + " already exists");
            Store.update(c, "INSERT INTO teams (id, name, models, rpm, tpm, budget_nanos, token_quota, budget_period, disabled, created_at) "
                            + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
                    id, name, Limits.joinModels(l.models()), Store.nullableLong(l.rpm()), Store.nullableLong(l.tpm()),
                    Store.nullableLong(Money.toNanosOrNull(l.budget())), Store.nullableLong(l.tokenQuota()), l.period().label(), now);
            return new Team(id, name, l, false, now);
        });
    }

    public List<Team> list() {
        return store.call(c -> Store.query(c, "SELECT * FROM teams ORDER BY name", Teams::map));
    }

    /** By id or name; null if none. */
    public Team find(String idOrName) {
        return store.call(c -> Store.queryOne(c, "SELECT * FROM teams WHERE id = ? OR name = ?", Teams::map, idOrName, idOrName));
    }

    public Team require(String idOrName) {
        Team t = find(idOrName);
        if (t == null) throw new IllegalArgumentException("no team " + idOrName);
        return t;
    }

    public Team update(String idOrName, Limits limits) {
        Team t = require(idOrName);
        store.call(c -> Store.update(c, "UPDATE teams SET models = ?, rpm = ?, tpm = ?, budget_nanos = ?, token_quota = ?, budget_period = ? WHERE id = ?",
                Limits.joinModels(limits.models()), Store.nullableLong(limits.rpm()), Store.nullableLong(limits.tpm()),
                Store.nullableLong(Money.toNanosOrNull(limits.budget())), Store.nullableLong(limits.tokenQuota()), limits.period().label(), t.id()));
        return new Team(t.id(), t.name(), limits, t.disabled(), t.createdAt());
    }

    public Team setDisabled(String idOrName, boolean disabled) {
        Team t = require(idOrName);
        store.call(c -> Store.update(c, "UPDATE teams SET disabled = ? WHERE id = ?", disabled, t.id()));
        return new Team(t.id(), t.name(), t.limits(), disabled, t.createdAt());
    }

    static Team map(ResultSet rs) throws SQLException {
        return new Team(rs.getString("id"), rs.getString("name"), limits(rs), rs.getInt("disabled") != 0, rs.getLong("created_at"));
    }

    static Limits limits(ResultSet rs) throws SQLException {
        return new Limits(Limits.splitModels(rs.getString("models")), Store.getLong(rs, "rpm"), Store.getLong(rs, "tpm"),
                Money.fromNanosOrNull(Store.getLong(rs, "budget_nanos")), Store.getLong(rs, "token_quota"),
                BudgetPeriod.parse(rs.getString("budget_period")));
    }
}
