package dev.genset.engine.batch;

import dev.genset.engine.sampling.SamplerConfig;
import dev.genset.engine.sampling.TokenConstraint;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * One sequence to generate: a tokenized prompt and how to continue it.
 *
 * @param prompt          the prompt's token ids (not empty)
 * @param maxTokens       at most this many new tokens; {@code 0} only evaluates the prompt (for prompt
 *                        log-probabilities); {@code < 0} means until the context is full
 * @param sampling        the sampler's parameters
 * @param stop            strings that end generation; the text is cut before the first one found
 * @param ignoreEos       keep going past end-of-generation tokens
 * @param topLogprobs     {@code < 0}: no log-probabilities; otherwise report each generated token's
 *                        log-probability and this many most likely alternatives
 * @param promptLogprobs  also report the log-probability of every prompt token after the first
 *                        (needs logits at every prompt position, so the prompt cache is not reused)
 * @param logitBias       added to the logits of these token ids before sampling
 * @param constraint      makes a fresh constraint on the tokens that may be sampled, or null
 * @param timeout         the sequence is cancelled when it has run (queued or active) this long; null: never
 * @param cacheScope      whose computed prompts this one may reuse and leave for reuse: only those of
 *                        requests with the same scope (a team, an API key), so one tenant's prompts are
 *                        never found in another's cached tokens; null: the scope of every request without one
 */
public record GenerationRequest(int[] prompt, int maxTokens, SamplerConfig sampling, List<String> stop, boolean ignoreEos,
                                int topLogprobs, boolean promptLogprobs, Map<Integer, Float> logitBias,
                                Supplier<? extends TokenConstraint> constraint, Duration timeout, String cacheScope) {
    public GenerationRequest {
        if (prompt == null || prompt.length == 0) throw new IllegalArgumentException("the prompt is empty");
        prompt = prompt.clone();
        if (sampling == null) sampling = SamplerConfig.defaults();
        stop = stop == null ? List.of() : stop.stream().filter(s -> !s.isEmpty()).toList();
        logitBias = logitBias == null ? Map.of() : Map.copyOf(logitBias);
    }

    /** A request in the shared cache scope. */
    public GenerationRequest(int[] prompt, int maxTokens, SamplerConfig sampling, List<String> stop, boolean ignoreEos, int topLogprobs,
                             boolean promptLogprobs, Map<Integer, Float> logitBias, Supplier<? extends TokenConstraint> constraint, Duration timeout) {
        this(prompt, maxTokens, sampling, stop, ignoreEos, topLogprobs, promptLogprobs, logitBias, constraint, timeout, null);
    }

    /** Greedy decoding of at most {@code maxTokens} tokens, nothing else. */
    public static GenerationRequest greedy(int[] prompt, int maxTokens) {
        return new GenerationRequest(prompt, maxTokens, SamplerConfig.greedy(), List.of(), false, -1, false, null, null, null);
    }

    public GenerationRequest withTopLogprobs(int n) {
        return new GenerationRequest(prompt, maxTokens, sampling, stop, ignoreEos, n, promptLogprobs, logitBias, constraint, timeout, cacheScope);
    }

    public GenerationRequest withPromptLogprobs(boolean v) {
        return new GenerationRequest(prompt, maxTokens, sampling, stop, ignoreEos, topLogprobs, v, logitBias, constraint, timeout, cacheScope);
    }

    public GenerationRequest withIgnoreEos(boolean v) {
        return new GenerationRequest(prompt, maxTokens, sampling, stop, v, topLogprobs, promptLogprobs, logitBias, constraint, timeout, cacheScope);
    }

    public GenerationRequest withStop(List<String> v) {
        return new GenerationRequest(prompt, maxTokens, sampling, v, ignoreEos, topLogprobs, promptLogprobs, logitBias, constraint, timeout, cacheScope);
    }

    public GenerationRequest withConstraint(Supplier<? extends TokenConstraint> v) {
        return new GenerationRequest(prompt, maxTokens, sampling, stop, ignoreEos, topLogprobs, promptLogprobs, logitBias, v, timeout, cacheScope);
    }

    public GenerationRequest withTimeout(Duration v) {
        return new GenerationRequest(prompt, maxTokens, sampling, stop, ignoreEos, topLogprobs, promptLogprobs, logitBias, constraint, v, cacheScope);
    }

    public GenerationRequest withCacheScope(String v) {
        return new GenerationRequest(prompt, maxTokens, sampling, stop, ignoreEos, topLogprobs, promptLogprobs, logitBias, constraint, timeout, v);
    }

    public boolean wantsLogprobs() {
        return topLogprobs >= 0;
    }
}
