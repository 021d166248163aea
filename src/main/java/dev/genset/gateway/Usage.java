package dev.genset.gateway;

/**
 * What a request actually used, reported at settlement.
 *
 * @param promptTokens     prompt tokens, including the cached ones
 * @param completionTokens generated tokens
 * @param cachedTokens     prompt tokens served from a cache
 * @param provider         "local" or the upstream's kind, or null
 * @param deployment       the deployment that served the request, or null
 */
public record Usage(long promptTokens, long completionTokens, long cachedTokens, String provider, String deployment) {
    public Usage {
        if (promptTokens < 0 || completionTokens < 0 || cachedTokens < 0) throw new IllegalArgumentException("negative token count");
    }

    public static Usage of(long promptTokens, long completionTokens) {
        return new Usage(promptTokens, completionTokens, 0, null, null);
    }

    public static final Usage NONE = new Usage(0, 0, 0, null, null);

    public Usage withDeployment(String provider, String deployment) {
        return new Usage(promptTokens, completionTokens, cachedTokens, provider, deployment);
    }

    public long totalTokens() {
        return promptTokens + completionTokens;
    }
}
