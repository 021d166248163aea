package dev.genset.gateway.admin;

import dev.genset.gateway.ApiKeys;
import dev.genset.gateway.KeyCache;
import dev.genset.gateway.SecretBox;
import dev.genset.store.ApiKeyRecord;
import dev.genset.store.Budgets;
import dev.genset.store.BudgetPeriod;
import dev.genset.store.Keys;
import dev.genset.store.Limits;
import dev.genset.store.Money;
import dev.genset.store.Price;
import dev.genset.store.Prices;
import dev.genset.store.Store;
import dev.genset.store.Team;
import dev.genset.store.Teams;
import dev.genset.store.UsageReports;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.List;

/**
 * The administration operations, the same for the CLI and the /admin HTTP API: keys, teams,
 * prices and usage reports.
 */
public final class AdminService {
    /**
     * What a new key may do.
     *
     * @param team      team name or id, or null
     * @param expiresAt epoch ms, or null
     */
    public record KeySpec(String name, String team, Limits limits, Long expiresAt) {}

    /** A new key: {@code key} is the secret, shown this once. */
    public record CreatedKey(String key, ApiKeyRecord record) {}

    /** A key or team's spend and tokens in its current budget period. */
    public record Spend(BudgetPeriod period, long periodStart, BigDecimal spent, BigDecimal reserved, long tokensUsed,
                        long tokensReserved, BigDecimal budget, Long tokenQuota) {}

    private final Store store;
    private final SecretBox secrets; // null: no master key
    private final Keys keys;
    private final Teams teams;
    private final Prices prices;
    private final UsageReports usage;
    private final Budgets budgets;
    private final Runnable onPriceChange;

    /** With the master key from {@code GENSET_MASTER_KEY} (upstream keys stored as given when it is not set). */
    public AdminService(Store store, Runnable onPriceChange) {
        this(store, onPriceChange, SecretBox.fromEnvironment());
    }

    /**
     * @param secrets seals the upstream API keys of deployments put from now on, or null to store them as given
     */
    public AdminService(Store store, Runnable onPriceChange, SecretBox secrets) {
        this.secrets = secrets;
        this.store = store;
        this.keys = new Keys(store);
        this.teams = new Teams(store);
        this.prices = new Prices(store);
        this.usage = new UsageReports(store);
        this.budgets = new Budgets(store);
        this.onPriceChange = onPriceChange == null ? () -> {} : onPriceChange;
    }

    public AdminService(Store store) {
        this(store, null);
    }

    public Store store() {
        return store;
    }

    /** Every change to keys or teams ends here once committed: gateways (in any process) see it at their next request. */
    private <T> T changed(T result) {
        KeyCache.bump(store);
        return result;
    }

    // --- keys ---

    public CreatedKey createKey(KeySpec spec) {
        String teamId = null;
        if (spec.team() != null && !spec.team().isBlank()) teamId = teams.require(spec.team()).id();
        if (spec.expiresAt() != null && spec.expiresAt() <= System.currentTimeMillis())
            throw new IllegalArgumentException("the expiry is in the past");
        String key = ApiKeys.generate();
        ApiKeyRecord r = keys.insert(ApiKeys.hash(key), ApiKeys.prefix(key), spec.name(), teamId, spec.limits(), spec.expiresAt());
        KeyCache.bump(store);
        return new CreatedKey(key, r);
    }

    public List<ApiKeyRecord> listKeys(String team) {
        String teamId = team == null || team.isBlank() ? null : teams.require(team).id();
        return keys.list(teamId);
    }

    public ApiKeyRecord key(String ref) {
        return keys.require(ref);
    }

    public ApiKeyRecord revokeKey(String ref) {
        return changed(keys.revoke(ref));
    }

    public ApiKeyRecord setKeyCapture(String ref, boolean capture) {
        return changed(keys.setCapture(ref, capture));
    }

    public ApiKeyRecord updateKey(String ref, Limits limits, Long expiresAt) {
        return changed(keys.update(ref, limits, expiresAt));
    }

    // --- teams ---

    public Team createTeam(String name, Limits limits) {
        return changed(teams.create(name, limits));
    }

    public List<Team> listTeams() {
        return teams.list();
    }

    public Team team(String ref) {
        return teams.require(ref);
    }

    public Team updateTeam(String ref, Limits limits) {
        return changed(teams.update(ref, limits));
    }

    public Team setTeamDisabled(String ref, boolean disabled) {
        return changed(teams.setDisabled(ref, disabled));
    }

    /** A team's name by id, or the id if it is gone. */
    public String teamName(String teamId) {
        if (teamId == null) return null;
        Team t = teams.find(teamId);
        return t == null ? teamId : t.name();
    }

    // --- spend ---

    public Spend keySpend(ApiKeyRecord k) {
        return spend(Budgets.Scope.key(k.id(), forceScope(k.limits()), System.currentTimeMillis()), k.limits());
    }

    public Spend teamSpend(Team t) {
        return spend(Budgets.Scope.team(t.id(), forceScope(t.limits()), System.currentTimeMillis()), t.limits());
    }

    private static Limits forceScope(Limits l) { // a scope even without limits, to read what the ledger holds
        return l.budget() != null || l.tokenQuota() != null ? l : l.withTokenQuota(Long.MAX_VALUE);
    }

    private Spend spend(Budgets.Scope s, Limits l) {
        Budgets.Counter c = budgets.counter(s);
        BigDecimal spent = Money.fromNanos(c.spentNanos());
        long tokens = c.tokensUsed();
        if (c.spentNanos() == 0 && c.tokensUsed() == 0 && c.reservedNanos() == 0) { // no counter yet: from the ledger
            UsageReports.Filter f = s.ownerColumn().equals("key_id")
                    ? new UsageReports.Filter(s.ownerId(), null, null, s.periodStart(), null)
                    : new UsageReports.Filter(null, s.ownerId(), null, s.periodStart(), null);
            UsageReports.Totals t = usage.totals(f, UsageReports.GroupBy.NONE).getFirst();
            spent = t.cost();
            tokens = t.totalTokens();
        }
        return new Spend(l.period(), s.periodStart(), spent, Money.fromNanos(c.reservedNanos()), tokens, c.tokensReserved(),
                l.budget(), l.tokenQuota());
    }

    // --- prices ---

    public Price setPrice(Price p) {
        Price r = prices.set(p);
        onPriceChange.run();
        return r;
    }

    public List<Price> listPrices() {
        return prices.list();
    }

    public int deletePrice(String model, String deployment, Long minPromptTokens) {
        int n = prices.delete(model, deployment, minPromptTokens);
        onPriceChange.run();
        return n;
    }

    // --- deployments ---

    /** Adds or replaces a deployment; its upstream API key is sealed when a master key is configured. */
    public void putDeployment(dev.genset.store.Deployments.Row row) {
        new dev.genset.gateway.route.Deployment(row.name(), row.model(), row.provider(), row.baseUrl(), row.apiKey(), row.upstreamModel(),
                row.priority(), row.weight(), null); // validates
        dev.genset.store.Deployments.Row stored = row;
        if (secrets != null && row.apiKey() != null && !SecretBox.isSealed(row.apiKey()))
            stored = new dev.genset.store.Deployments.Row(row.name(), row.model(), row.provider(), row.baseUrl(),
                    secrets.seal(row.apiKey(), deploymentContext(row.name())), row.upstreamModel(), row.priority(), row.weight(), row.timeoutMs());
        new dev.genset.store.Deployments(store).put(stored);
    }

    /** What a deployment's sealed key is bound to: it opens only in that deployment's row. */
    public static String deploymentContext(String deployment) {
        return "deployment " + deployment;
    }

    /**
     * Seals the upstream API keys still stored in plaintext (put before a master key was
     * configured). Does nothing without a master key. Returns how many it sealed.
     */
    public int sealDeploymentKeys() {
        if (secrets == null) return 0;
        int n = 0;
        for (dev.genset.store.Deployments.Row r : listDeployments()) {
            if (r.apiKey() == null || SecretBox.isSealed(r.apiKey())) continue;
            String sealed = secrets.seal(r.apiKey(), deploymentContext(r.name()));
            n += store.call(c -> Store.update(c, "UPDATE deployments SET api_key = ? WHERE name = ? AND api_key = ?", sealed, r.name(), r.apiKey()));
        }
        return n;
    }

    public List<dev.genset.store.Deployments.Row> listDeployments() {
        return new dev.genset.store.Deployments(store).list();
    }

    public int removeDeployment(String name) {
        return new dev.genset.store.Deployments(store).remove(name);
    }

    public void setRouteStrategy(String model, String strategy) {
        new dev.genset.store.Deployments(store).setStrategy(model, dev.genset.gateway.route.Router.Strategy.parse(strategy).name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'));
    }

    // --- usage ---

    /**
     * Usage totals.
     *
     * @param key  key id, name or prefix, or null
     * @param team team id or name, or null
     */
    public List<UsageReports.Totals> usage(String key, String team, String model, Long since, Long until, UsageReports.GroupBy by) {
        String keyId = key == null || key.isBlank() ? null : keys.require(key).id();
        String teamId = team == null || team.isBlank() ? null : teams.require(team).id();
        return usage.totals(new UsageReports.Filter(keyId, teamId, model, since, until), by);
    }

    // --- parsing shared by the CLI and HTTP layers ---

    /**
     * A point in time: an ISO instant ({@code 2025-01-31T12:00:00Z}), an ISO date (midnight UTC;
     * with {@code endOfDay} the midnight after it), or a relative age ({@code 7d}, {@code 24h}, {@code 30m}).
     */
    public static long parseTime(String s, boolean endOfDay) {
        String t = s.trim();
        try {
            if (t.matches("\\d+[smhdw]")) {
                long n = Long.parseLong(t.substring(0, t.length() - 1));
                long unit = switch (t.charAt(t.length() - 1)) {
                    case 's' -> 1_000L;
                    case 'm' -> 60_000L;
                    case 'h' -> 3_600_000L;
                    case 'd' -> 86_400_000L;
                    default -> 7 * 86_400_000L;
                };
                return System.currentTimeMillis() - n * unit;
            }
            if (t.matches("\\d{4}-\\d{2}-\\d{2}")) {
                LocalDate d = LocalDate.parse(t);
                if (endOfDay) d = d.plusDays(1);
                return d.atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
            }
            if (t.endsWith("Z")) return Instant.parse(t).toEpochMilli();
            return OffsetDateTime.parse(t).toInstant().toEpochMilli();
        } catch (DateTimeParseException | NumberFormatException e) {
            throw new IllegalArgumentException("not a time: " + s + " (use 2025-01-31, 2025-01-31T12:00:00Z or an age like 7d)");
        }
    }

    /** An expiry: a date (the key works through that day, UTC), an instant, or a length such as 30d or 12h from now; null or "never" for none. */
    public static Long parseExpiry(String s) {
        if (s == null || s.isBlank() || s.equalsIgnoreCase("never")) return null;
        String t = s.trim();
        if (t.matches("\\d+[smhdw]")) return 2 * System.currentTimeMillis() - parseTime(t, false);
        if (t.matches("\\d{4}-\\d{2}-\\d{2}")) return LocalDate.parse(t).plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
        return parseTime(t, false);
    }

    /** Comma-separated model names to a list; null or blank is null (all models). */
    public static List<String> parseModels(String s) {
        if (s == null || s.isBlank()) return null;
        return java.util.Arrays.stream(s.split(",")).map(String::trim).filter(x -> !x.isEmpty()).toList();
    }

    public static BigDecimal parseMoney(String s) {
        return s == null ? null : Money.parse(s);
    }
}
