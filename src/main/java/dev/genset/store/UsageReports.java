package dev.genset.store;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Reports over the usage ledger. */
public final class UsageReports {
    public enum GroupBy { NONE, MODEL, KEY, TEAM, DAY, DEPLOYMENT;
        public static GroupBy parse(String s) {
            if (s == null || s.isBlank()) return NONE;
            return switch (s.trim().toLowerCase(Locale.ROOT)) {
                case "model" -> MODEL;
                case "key" -> KEY;
                case "team" -> TEAM;
                case "day" -> DAY;
                case "deployment" -> DEPLOYMENT;
                case "none", "total" -> NONE;
                default -> throw new IllegalArgumentException("unknown grouping " + s + " (model, key, team, day or deployment)");
            };
        }
    }

    /** Which rows to count; null fields do not filter. {@code until} is exclusive. */
    public record Filter(String keyId, String teamId, String model, Long since, Long until) {
        public static final Filter ALL = new Filter(null, null, null, null, null);
    }

    /**
     * Totals of one group ({@code group} is null without grouping; a day is yyyy-mm-dd in UTC).
     */
    public record Totals(String group, long requests, long errors, long promptTokens, long completionTokens, long cachedTokens,
                         BigDecimal cost, long latencyMsTotal) {
        public long totalTokens() {
            return promptTokens + completionTokens;
        }
    }

    private final Store store;

    public UsageReports(Store store) {
        this.store = store;
    }

    public List<Totals> totals(Filter f, GroupBy by) {
        String groupExpr = switch (by) {
            case NONE -> null;
            case MODEL -> "model";
            case KEY -> "key_id";
            case TEAM -> "team_id";
            case DEPLOYMENT -> "deployment";
            case DAY -> "(ts / 86400000)";
        };
        StringBuilder sql = new StringBuilder("SELECT ");
        if (groupExpr != null) sql.append(groupExpr).append(" AS g, ");
        sql.append("COUNT(*) AS n, SUM(CASE WHEN status = 'ok' THEN 0 ELSE 1 END) AS errs, COALESCE(SUM(prompt_tokens), 0) AS p, "
                + "COALESCE(SUM(completion_tokens), 0) AS comp, COALESCE(SUM(cached_tokens), 0) AS cached, "
                + "COALESCE(SUM(cost_nanos), 0) AS cost, COALESCE(SUM(latency_ms), 0) AS lat FROM usage_ledger WHERE 1 = 1");
        List<Object> args = new ArrayList<>();
        if (f.keyId() != null) { sql.append(" AND key_id = ?"); args.add(f.keyId()); }
        if (f.teamId() != null) { sql.append(" AND team_id = ?"); args.add(f.teamId()); }
        if (f.model() != null) { sql.append(" AND model = ?"); args.add(f.model()); }
        if (f.since() != null) { sql.append(" AND ts >= ?"); args.add(f.since()); }
        if (f.until() != null) { sql.append(" AND ts < ?"); args.add(f.until()); }
        if (groupExpr != null) sql.append(" GROUP BY ").append(groupExpr).append(" ORDER BY ").append(groupExpr);
        return store.call(c -> Store.query(c, sql.toString(), rs -> {
            String g = null;
            if (groupExpr != null) {
                if (by == GroupBy.DAY) g = java.time.LocalDate.ofEpochDay(rs.getLong("g")).toString();
                else g = rs.getString("g");
            }
            long n = rs.getLong("n");
            return new Totals(g, n, rs.getLong("errs"), rs.getLong("p"), rs.getLong("comp"), rs.getLong("cached"),
                    Money.fromNanos(rs.getLong("cost")), rs.getLong("lat"));
        }, args.toArray()));
    }

    /** The ledger row of one request, or null. */
    public UsageRow row(String requestId) {
        return store.call(c -> Store.queryOne(c, "SELECT * FROM usage_ledger WHERE request_id = ?", rs -> new UsageRow(
                rs.getString("request_id"), rs.getLong("ts"), rs.getString("key_id"), rs.getString("team_id"), rs.getString("model"),
                rs.getString("provider"), rs.getString("deployment"), rs.getLong("prompt_tokens"), rs.getLong("completion_tokens"),
                rs.getLong("cached_tokens"), Money.fromNanos(rs.getLong("cost_nanos")), rs.getLong("latency_ms"), rs.getString("status")), requestId));
    }

    public long count() {
        return store.call(c -> Store.queryOne(c, "SELECT COUNT(*) FROM usage_ledger", rs -> rs.getLong(1)));
    }
}
