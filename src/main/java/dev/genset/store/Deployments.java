package dev.genset.store;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;

/** Deployments (where public models are served) and each model's routing strategy, in the store. */
public final class Deployments {
    /** A stored deployment; {@code apiKey} is the upstream's key (kept to call it), never printed. */
    public record Row(String name, String model, String provider, String baseUrl, String apiKey, String upstreamModel,
                      int priority, int weight, Long timeoutMs) {
        @Override
        public String toString() {
            return "Deployment[" + name + " " + model + " " + provider + (baseUrl == null ? "" : " " + baseUrl) + "]";
        }
    }

    private final Store store;

    public Deployments(Store store) {
        this.store = store;
    }

    /** Adds or replaces a deployment by name. */
    public void put(Row r) {
        store.tx(c -> {
            Store.update(c, "DELETE FROM deployments WHERE name = ?", r.name());
            Store.update(c, "INSERT INTO deployments (name, model, provider, base_url, api_key, upstream_model, priority, weight, timeout_ms, created_at) "
                            + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    r.name(), r.model(), r.provider(), r.baseUrl(), r.apiKey(), r.upstreamModel(), r.priority(), r.weight(),
                    Store.nullableLong(r.timeoutMs()), System.currentTimeMillis());
            return null;
        });
    }

    public int remove(String name) {
        return store.call(c -> Store.update(c, "DELETE FROM deployments WHERE name = ?", name));
    }

    public List<Row> list() {
        return store.call(c -> Store.query(c, "SELECT * FROM deployments ORDER BY model, priority, name", Deployments::map));
    }

    public void setStrategy(String model, String strategy) {
        store.call(c -> Store.update(c, "INSERT INTO model_routes (model, strategy) VALUES (?, ?) "
                + "ON CONFLICT (model) DO UPDATE SET strategy = excluded.strategy", model, strategy));
    }

    /** The strategy set for a model, or null. */
    public String strategy(String model) {
        return store.call(c -> Store.queryOne(c, "SELECT strategy FROM model_routes WHERE model = ?", rs -> rs.getString(1), model));
    }

    static Row map(ResultSet rs) throws SQLException {
        return new Row(rs.getString("name"), rs.getString("model"), rs.getString("provider"), rs.getString("base_url"), rs.getString("api_key"),
                rs.getString("upstream_model"), rs.getInt("priority"), rs.getInt("weight"), Store.getLong(rs, "timeout_ms"));
    }
}
