package dev.genset.store;

import java.math.BigDecimal;
import java.util.Arrays;
import java.util.List;

/**
 * What a key or a team may do. Null fields are unlimited.
 *
 * @param models     allowed public model names, or null for all
 * @param rpm        requests per minute
 * @param tpm        tokens (prompt + completion) per minute
 * @param budget     spend limit per period, in dollars
 * @param tokenQuota tokens per period
 * @param period     the budget and quota period
 */
public record Limits(List<String> models, Long rpm, Long tpm, BigDecimal budget, Long tokenQuota, BudgetPeriod period) {
    public Limits {
        if (models != null) models = List.copyOf(models);
        if (period == null) period = BudgetPeriod.MONTHLY;
        budget = Money.normalize(budget);
        if (rpm != null && rpm < 1) throw new IllegalArgumentException("rpm must be at least 1");
        if (tpm != null && tpm < 1) throw new IllegalArgumentException("tpm must be at least 1");
        if (tokenQuota != null && tokenQuota < 0) throw new IllegalArgumentException("the token quota must be >= 0");
        if (budget != null && budget.signum() < 0) throw new IllegalArgumentException("the budget must be >= 0");
    }

    public static final Limits NONE = new Limits(null, null, null, null, null, BudgetPeriod.MONTHLY);

    public boolean allowsModel(String model) {
        return models == null || models.contains(model);
    }

    static String joinModels(List<String> models) {
        return models == null ? null : String.join(",", models);
    }

    static List<String> splitModels(String s) {
        if (s == null) return null;
        if (s.isEmpty()) return List.of();
        return Arrays.stream(s.split(",")).map(String::trim).filter(x -> !x.isEmpty()).toList();
    }

    public Limits withModels(List<String> m) {
        return new Limits(m, rpm, tpm, budget, tokenQuota, period);
    }

    public Limits withRpm(Long v) {
        return new Limits(models, v, tpm, budget, tokenQuota, period);
    }

    public Limits withTpm(Long v) {
        return new Limits(models, rpm, v, budget, tokenQuota, period);
    }

    public Limits withBudget(BigDecimal v, BudgetPeriod p) {
        return new Limits(models, rpm, tpm, v, tokenQuota, p == null ? period : p);
    }

    public Limits withTokenQuota(Long v) {
        return new Limits(models, rpm, tpm, budget, v, period);
    }
}
