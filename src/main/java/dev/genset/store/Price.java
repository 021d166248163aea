package dev.genset.store;

import java.math.BigDecimal;

/**
 * A model's price in dollars per million tokens.
 *
 * @param deployment      "" for every deployment of the model, else one deployment's own price
 * @param minPromptTokens the tier: this price applies to requests whose prompt has at least this many tokens
 * @param cachedInput     the price of cached prompt tokens, or null for the input price
 */
public record Price(String model, String deployment, long minPromptTokens, BigDecimal input, BigDecimal output,
                    BigDecimal cachedInput, long updatedAt) {
    public Price {
        if (model == null || model.isBlank()) throw new IllegalArgumentException("a price needs a model");
        if (deployment == null) deployment = "";
        input = Money.normalize(input);
        output = Money.normalize(output);
        cachedInput = Money.normalize(cachedInput);
        if (minPromptTokens < 0) throw new IllegalArgumentException("the tier's prompt length must be >= 0");
        if (input == null || input.signum() < 0 || output == null || output.signum() < 0
                || (cachedInput != null && cachedInput.signum() < 0))
            throw new IllegalArgumentException("prices must be >= 0");
    }

    /** The cost of one request at this price; prompt tokens include the cached ones, as OpenAI counts them. */
    public BigDecimal cost(long promptTokens, long cachedTokens, long completionTokens) {
        long cached = Math.min(Math.max(cachedTokens, 0), promptTokens);
        BigDecimal c = Money.cost(promptTokens - cached, input)
                .add(Money.cost(cached, cachedInput == null ? input : cachedInput))
                .add(Money.cost(completionTokens, output));
        return c;
    }
}
