package dev.genset.engine.sampling;

/**
 * Restricts which tokens a sequence may sample next (e.g. to keep its output valid JSON). One
 * instance per sequence, used only by the scheduler thread.
 */
public interface TokenConstraint {
    /** Sets the logits of tokens that may not come next to negative infinity. */
    void mask(float[] logits, int vocabSize);

    /** Advances past a sampled token (one that {@link #mask} allowed). */
    void accept(int token);
}
