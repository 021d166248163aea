package dev.genset.store;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;

/** Model prices in the store. */
public final class Prices {
    private final Store store;

    public Prices(Store store) {
        this.store = store;
    }

    /** Sets (inserts or replaces) one price row. */
    public Price set(Price p) {
        long now = System.currentTimeMillis();
        store.call(c -> Store.update(c, "INSERT INTO prices (model, deployment, min_prompt_tokens, input_nanos, output_nanos, cached_input_nanos, updated_at) "
                        + "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (model, deployment, min_prompt_tokens) DO UPDATE SET "
                        + "input_nanos = excluded.input_nanos, output_nanos = excluded.output_nanos, "
                        + "cached_input_nanos = excluded.cached_input_nanos, updated_at = excluded.updated_at",
                p.model(), p.deployment(), p.minPromptTokens(), Money.toNanos(p.input()), Money.toNanos(p.output()),
                Store.nullableLong(Money.toNanosOrNull(p.cachedInput())), now));
        return new Price(p.model(), p.deployment(), p.minPromptTokens(), p.input(), p.output(), p.cachedInput(), now);
    }

    /** Deletes a model's prices: one deployment's and tier's if given, else all of the model's. Returns rows deleted. */
    public int delete(String model, String deployment, Long minPromptTokens) {
        if (deployment == null && minPromptTokens == null)
            return store.call(c -> Store.update(c, "DELETE FROM prices WHERE model = ?", model));
        return store.call(c -> Store.update(c, "DELETE FROM prices WHERE model = ? AND deployment = ? AND min_prompt_tokens = ?",
                model, deployment == null ? "" : deployment, minPromptTokens == null ? 0L : minPromptTokens));
    }

    public List<Price> list() {
        return store.call(c -> Store.query(c, "SELECT * FROM prices ORDER BY model, deployment, min_prompt_tokens", Prices::map));
    }

    public List<Price> forModel(String model) {
        return store.call(c -> Store.query(c, "SELECT * FROM prices WHERE model = ? ORDER BY deployment, min_prompt_tokens", Prices::map, model));
    }

    static Price map(ResultSet rs) throws SQLException {
        return new Price(rs.getString("model"), rs.getString("deployment"), rs.getLong("min_prompt_tokens"),
                Money.fromNanos(rs.getLong("input_nanos")), Money.fromNanos(rs.getLong("output_nanos")),
                Money.fromNanosOrNull(Store.getLong(rs, "cached_input_nanos")), rs.getLong("updated_at"));
    }
}
