package dev.genset.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.genset.gateway.admin.AdminService;
import dev.genset.store.ApiKeyRecord;
import dev.genset.store.BudgetPeriod;
import dev.genset.store.Database;
import dev.genset.store.Limits;
import dev.genset.store.Money;
import dev.genset.store.Store;
import dev.genset.store.Team;
import picocli.CommandLine.Option;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;

/** The store the admin commands work on, and what they share. */
final class StoreOptions {
    @Option(names = "--db", paramLabel = "URL",
            description = "Database: a JDBC URL (jdbc:postgresql://..., jdbc:sqlite:FILE), postgres://user:pass@host/db or a SQLite file "
                    + "(default: GENSET_DB_URL, else genset.db in GENSET_HOME or ~/.genset).")
    String db;

    Store open() {
        return Store.open(Database.resolve(db, System.getenv()));
    }

    /**
     * The commands' JSON output, made when first printed: made with these options (which picocli
     * makes before a command runs), it held up commands that print no JSON (a model's first token
     * too) by its classes' loading.
     */
    static final class Json {
        private Json() {}

        static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                .enable(com.fasterxml.jackson.core.JsonGenerator.Feature.WRITE_BIGDECIMAL_AS_PLAIN);
    }

    /** Limits options shared by keys and teams. */
    static final class LimitOptions {
        @Option(names = "--models", paramLabel = "A,B", description = "Allowed models, comma-separated (default: all).")
        String models;
        @Option(names = "--rpm", paramLabel = "N", description = "Requests per minute.")
        Long rpm;
        @Option(names = "--tpm", paramLabel = "N", description = "Tokens (prompt + completion) per minute.")
        Long tpm;
        @Option(names = "--budget", paramLabel = "USD", description = "Spend limit per period, in dollars (e.g. 10.00).")
        String budget;
        @Option(names = "--token-quota", paramLabel = "N", description = "Tokens per period.")
        Long tokenQuota;
        @Option(names = "--period", paramLabel = "P", description = "Budget and quota period: daily, weekly, monthly (default) or total.")
        String period;

        Limits toLimits() {
            return new Limits(AdminService.parseModels(models), rpm, tpm, AdminService.parseMoney(budget), tokenQuota, BudgetPeriod.parse(period));
        }

        /** The given limits with what these options set changed ("none" clears models, 0 clears a number). */
        Limits over(Limits l) {
            Limits r = l;
            if (models != null) r = r.withModels(models.equalsIgnoreCase("all") || models.equalsIgnoreCase("none") ? null : AdminService.parseModels(models));
            if (rpm != null) r = r.withRpm(rpm == 0 ? null : rpm);
            if (tpm != null) r = r.withTpm(tpm == 0 ? null : tpm);
            if (tokenQuota != null) r = r.withTokenQuota(tokenQuota == 0 ? null : tokenQuota);
            if (budget != null || period != null) {
                BigDecimal b = budget == null ? r.budget() : (budget.equalsIgnoreCase("none") ? null : Money.parse(budget));
                r = r.withBudget(b, period == null ? r.period() : BudgetPeriod.parse(period));
            }
            return r;
        }
    }

    /** An expiry: a date (the key works through that day, UTC), an instant, or a length like 30d or 12h from now. */
    static Long parseExpiry(String s) {
        if (s == null || s.isBlank() || s.equalsIgnoreCase("never")) return null;
        String t = s.trim();
        if (t.matches("\\d+[smhdw]")) return 2 * System.currentTimeMillis() - AdminService.parseTime(t, false);
        if (t.matches("\\d{4}-\\d{2}-\\d{2}")) return LocalDate.parse(t).plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
        return AdminService.parseTime(t, false);
    }

    static String time(Long ms) {
        return ms == null ? "-" : Instant.ofEpochMilli(ms).toString();
    }

    static String limitsText(Limits l) {
        StringBuilder sb = new StringBuilder();
        if (l.models() != null) sb.append("models=").append(String.join(",", l.models())).append(' ');
        if (l.rpm() != null) sb.append("rpm=").append(l.rpm()).append(' ');
        if (l.tpm() != null) sb.append("tpm=").append(l.tpm()).append(' ');
        if (l.budget() != null) sb.append("budget=$").append(Money.format(l.budget())).append('/').append(l.period().label()).append(' ');
        if (l.tokenQuota() != null) sb.append("tokens=").append(l.tokenQuota()).append('/').append(l.period().label()).append(' ');
        return sb.isEmpty() ? "unlimited" : sb.toString().trim();
    }

    static ObjectNode limitsJson(Limits l) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        if (l.models() == null) n.putNull("models");
        else l.models().forEach(n.putArray("models")::add);
        n.put("rpm", l.rpm());
        n.put("tpm", l.tpm());
        n.put("budget", l.budget() == null ? null : l.budget().toPlainString());
        n.put("token_quota", l.tokenQuota());
        n.put("period", l.period().label());
        return n;
    }

    /** Prints a JSON document on stdout. */
    static void printJson(JsonNode n) throws JsonProcessingException {
        System.out.println(Json.MAPPER.writeValueAsString(n));
    }

    /**
     * The list commands' output: with {@code json} a JSON array of one object per row, otherwise a
     * table, the header and then one line per row in {@code format}.
     */
    static <T> void printList(java.util.List<T> rows, boolean json, java.util.function.Function<T, ObjectNode> toJson,
                              String format, Object[] header, java.util.function.Function<T, Object[]> cells) throws JsonProcessingException {
        if (json) {
            ArrayNode a = Json.MAPPER.createArrayNode();
            for (T r : rows) a.add(toJson.apply(r));
            printJson(a);
            return;
        }
        System.out.printf(format, header);
        for (T r : rows) System.out.printf(format, cells.apply(r));
    }

    static ObjectNode keyJson(ApiKeyRecord k, String teamName) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("id", k.id());
        n.put("name", k.name());
        n.put("prefix", k.prefix());
        n.put("team", teamName);
        n.set("limits", limitsJson(k.limits()));
        n.put("created_at", time(k.createdAt()));
        n.put("expires_at", k.expiresAt() == null ? null : time(k.expiresAt()));
        n.put("revoked_at", k.revokedAt() == null ? null : time(k.revokedAt()));
        return n;
    }

    static ObjectNode teamJson(Team t) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("id", t.id());
        n.put("name", t.name());
        n.set("limits", limitsJson(t.limits()));
        n.put("disabled", t.disabled());
        n.put("created_at", time(t.createdAt()));
        return n;
    }

    static ObjectNode spendJson(AdminService.Spend s) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("period", s.period().label());
        n.put("period_start", time(s.periodStart()));
        n.put("spent", s.spent().toPlainString());
        n.put("reserved", s.reserved().toPlainString());
        n.put("tokens_used", s.tokensUsed());
        n.put("tokens_reserved", s.tokensReserved());
        n.put("budget", s.budget() == null ? null : s.budget().toPlainString());
        n.put("token_quota", s.tokenQuota());
        return n;
    }
}
