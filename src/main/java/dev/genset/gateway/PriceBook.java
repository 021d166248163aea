package dev.genset.gateway;

import dev.genset.store.Price;
import dev.genset.store.Prices;

import java.math.BigDecimal;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Prices as requests need them: per model, per deployment (falling back to the model's general
 * price), and per prompt-length tier. Read from the store and kept for a few seconds; changes made
 * through this process show at once.
 */
public final class PriceBook {
    private record Cached(List<Price> prices, long at) {}

    private final Prices prices;
    private final long ttlMs;
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();

    public PriceBook(Prices prices, long ttlMs) {
        this.prices = prices;
        this.ttlMs = ttlMs;
    }

    public void invalidate() {
        cache.clear();
    }

    private List<Price> of(String model) {
        long now = System.currentTimeMillis();
        Cached c = cache.get(model);
        if (c == null || now - c.at() > ttlMs) {
            c = new Cached(prices.forModel(model), now);
            cache.put(model, c);
        }
        return c.prices();
    }

    /** The price that applies to a request, or null if the model has none (it is then free). */
    public Price price(String model, String deployment, long promptTokens) {
        List<Price> all = of(model);
        Price best = pick(all, deployment == null ? "" : deployment, promptTokens);
        return best != null ? best : pick(all, "", promptTokens);
    }

    private static Price pick(List<Price> all, String deployment, long promptTokens) {
        Price best = null;
        for (Price p : all)
            if (p.deployment().equals(deployment) && p.minPromptTokens() <= promptTokens
                    && (best == null || p.minPromptTokens() > best.minPromptTokens()))
                best = p;
        return best;
    }

    public BigDecimal cost(String model, String deployment, long promptTokens, long cachedTokens, long completionTokens) {
        Price p = price(model, deployment, promptTokens);
        return p == null ? BigDecimal.ZERO : p.cost(promptTokens, cachedTokens, completionTokens);
    }

    /** The most a request can cost on any of the given deployments (and at the model's general price). */
    public BigDecimal maxCost(String model, Collection<String> deployments, long promptTokens, long maxCompletionTokens) {
        BigDecimal max = cost(model, null, promptTokens, 0, maxCompletionTokens);
        for (String d : deployments) {
            BigDecimal c = cost(model, d, promptTokens, 0, maxCompletionTokens);
            if (c.compareTo(max) > 0) max = c;
        }
        // and any deployment-specific price of the model, since routing may pick any of them
        for (Price p : of(model)) {
            if (p.deployment().isEmpty()) continue;
            BigDecimal c = cost(model, p.deployment(), promptTokens, 0, maxCompletionTokens);
            if (c.compareTo(max) > 0) max = c;
        }
        return max;
    }
}
