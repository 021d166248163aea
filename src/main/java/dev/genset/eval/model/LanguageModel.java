package dev.genset.eval.model;

import java.util.List;

/**
 * What an evaluation needs from a model: log-likelihoods of continuations, generations, and the
 * log-likelihood of whole texts. Implementations take whole lists so they can batch and reorder
 * the work; results come back in request order.
 */
public interface LanguageModel extends AutoCloseable {
    /** A name for results and the leaderboard. */
    String name();

    List<LoglikelihoodResult> loglikelihood(List<LoglikelihoodRequest> requests);

    List<String> generate(List<GenerationRequest> requests);

    /**
     * Log-likelihood of each text, every token scored exactly once, with windows of at most
     * {@code window} tokens advancing {@code stride} tokens at a time (a window scores its last
     * {@code stride} tokens given the ones before them).
     */
    List<RollingResult> loglikelihoodRolling(List<String> texts, int window, int stride);

    /** The longest sequence the model scores in one piece, in tokens; 0 if unknown (a text is then sent whole). */
    default int contextLength() {
        return 0;
    }

    @Override
    default void close() {}
}
