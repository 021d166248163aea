package dev.genset.eval.model;

import java.util.List;
import java.util.Objects;

/**
 * Greedy generation after {@code prompt} until one of {@code until} appears (cut before it) or
 * {@code maxTokens} tokens have been generated.
 */
public record GenerationRequest(String prompt, List<String> until, int maxTokens) {
    public GenerationRequest {
        Objects.requireNonNull(prompt, "prompt");
        until = until == null ? List.of() : List.copyOf(until);
        if (maxTokens < 1) throw new IllegalArgumentException("maxTokens must be at least 1");
    }
}
