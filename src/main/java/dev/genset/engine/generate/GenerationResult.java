package dev.genset.engine.generate;

/**
 * The outcome of one generation.
 *
 * @param tokens          the generated token ids (up to and excluding an end-of-generation token)
 * @param text            the generated text, cut before a stop string
 * @param promptTokens    tokens in the prompt
 * @param cachedTokens    prompt tokens whose keys and values were reused from the previous call
 * @param promptNanos     time spent evaluating the (uncached part of the) prompt
 * @param generationNanos time spent generating
 */
public record GenerationResult(int[] tokens, String text, FinishReason finishReason,
                               int promptTokens, int cachedTokens, long promptNanos, long generationNanos) {

    public double promptTokensPerSecond() {
        int evaluated = promptTokens - cachedTokens;
        return promptNanos == 0 ? 0 : evaluated * 1e9 / promptNanos;
    }

    public double generationTokensPerSecond() {
        return generationNanos == 0 ? 0 : tokens.length * 1e9 / generationNanos;
    }
}
