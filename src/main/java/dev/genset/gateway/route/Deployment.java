package dev.genset.gateway.route;

import java.time.Duration;

/**
 * One place a public model name is served: the local engine, or an OpenAI-compatible upstream.
 *
 * @param name          unique name, used in prices and the usage ledger
 * @param model         the public model name clients ask for
 * @param provider      {@code local} or {@code openai}
 * @param baseUrl       the upstream's base URL including its version path (e.g. {@code https://host/v1}); null for local
 * @param apiKey        the upstream's key, or null
 * @param upstreamModel the model name the upstream knows, or null for {@code model}
 * @param priority      lower is tried first (priority strategy)
 * @param weight        share of requests (weighted strategy), at least 1
 * @param timeout       how long to wait for the upstream's response headers (and between stream chunks)
 */
public record Deployment(String name, String model, String provider, String baseUrl, String apiKey, String upstreamModel,
                         int priority, int weight, Duration timeout) {
    public static final String LOCAL = "local";
    public static final String OPENAI = "openai";

    public Deployment {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("a deployment needs a name");
        if (model == null || model.isBlank()) throw new IllegalArgumentException("a deployment needs a model");
        if (provider == null) provider = baseUrl == null ? LOCAL : OPENAI;
        if (!provider.equals(LOCAL) && !provider.equals(OPENAI)) throw new IllegalArgumentException("unknown provider " + provider + " (local or openai)");
        if (provider.equals(OPENAI) && (baseUrl == null || baseUrl.isBlank())) throw new IllegalArgumentException("an upstream needs a base URL");
        if (baseUrl != null && baseUrl.endsWith("/")) baseUrl = baseUrl.substring(0, baseUrl.length() - 1);
        if (weight < 1) weight = 1;
        if (timeout == null) timeout = Duration.ofSeconds(60);
    }

    public static Deployment local(String name, String model) {
        return new Deployment(name, model, LOCAL, null, null, null, 0, 1, null);
    }

    public static Deployment upstream(String name, String model, String baseUrl, String apiKey) {
        return new Deployment(name, model, OPENAI, baseUrl, apiKey, null, 0, 1, null);
    }

    public Deployment withPriority(int p) {
        return new Deployment(name, model, provider, baseUrl, apiKey, upstreamModel, p, weight, timeout);
    }

    public Deployment withWeight(int w) {
        return new Deployment(name, model, provider, baseUrl, apiKey, upstreamModel, priority, w, timeout);
    }

    public Deployment withTimeout(Duration t) {
        return new Deployment(name, model, provider, baseUrl, apiKey, upstreamModel, priority, weight, t);
    }

    public Deployment withUpstreamModel(String m) {
        return new Deployment(name, model, provider, baseUrl, apiKey, m, priority, weight, timeout);
    }

    public boolean isLocal() {
        return provider.equals(LOCAL);
    }

    public String targetModel() {
        return upstreamModel == null ? model : upstreamModel;
    }

    @Override
    public String toString() { // the upstream key stays out of logs
        return "Deployment[" + name + " " + model + " " + provider + (baseUrl == null ? "" : " " + baseUrl) + "]";
    }
}
