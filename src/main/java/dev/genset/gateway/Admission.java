package dev.genset.gateway;

import dev.genset.gateway.ratelimit.RateLimiter;
import dev.genset.store.ApiKeyRecord;
import dev.genset.store.BudgetLeases;
import dev.genset.store.Budgets;
import dev.genset.store.Team;

import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An admitted request: what it reserved (rate-limit tokens, budget), and the headers to send
 * with its response. Hand it back to {@link Gateway#settle} exactly once, whatever happens to
 * the request (settling twice has no effect).
 */
public final class Admission {
    private final String requestId;
    private final ApiKeyRecord key;
    private final Team team;
    private final String model;
    private final long promptTokens;
    private final long maxCompletionTokens;
    private final BigDecimal reservedCost;
    private final Budgets.Scope keyScope, teamScope;
    private final BudgetLeases.Hold hold;
    private final List<RateLimiter.Take> tokenTakes;
    private final Map<String, String> headers;
    private final long admittedAtMs;
    private final long startNanos;
    final AtomicBoolean settled = new AtomicBoolean();

    Admission(String requestId, ApiKeyRecord key, Team team, String model, long promptTokens, long maxCompletionTokens,
              BigDecimal reservedCost, Budgets.Scope keyScope, Budgets.Scope teamScope, BudgetLeases.Hold hold, List<RateLimiter.Take> tokenTakes,
              Map<String, String> headers, long admittedAtMs) {
        this.requestId = requestId;
        this.key = key;
        this.team = team;
        this.model = model;
        this.promptTokens = promptTokens;
        this.maxCompletionTokens = maxCompletionTokens;
        this.reservedCost = reservedCost;
        this.keyScope = keyScope;
        this.teamScope = teamScope;
        this.hold = hold;
        this.tokenTakes = tokenTakes;
        this.headers = Map.copyOf(headers);
        this.admittedAtMs = admittedAtMs;
        this.startNanos = System.nanoTime();
    }

    /** The id of the request in the usage ledger. */
    public String requestId() {
        return requestId;
    }

    /** The caller's key, or null under open access. */
    public ApiKeyRecord key() {
        return key;
    }

    public Team team() {
        return team;
    }

    public String model() {
        return model;
    }

    public long promptTokens() {
        return promptTokens;
    }

    public long maxCompletionTokens() {
        return maxCompletionTokens;
    }

    /** The most this request may cost, held against the budgets until settlement. */
    public BigDecimal reservedCost() {
        return reservedCost;
    }

    /** x-ratelimit-* headers for the response (empty when no limit applies). */
    public Map<String, String> headers() {
        return headers;
    }

    public long admittedAtMs() {
        return admittedAtMs;
    }

    public boolean isSettled() {
        return settled.get();
    }

    Budgets.Scope keyScope() {
        return keyScope;
    }

    Budgets.Scope teamScope() {
        return teamScope;
    }

    /** Where its budget is held (null: no budget applies). */
    BudgetLeases.Hold hold() {
        return hold;
    }

    List<RateLimiter.Take> tokenTakes() {
        return tokenTakes;
    }

    long startNanos() {
        return startNanos;
    }
}
