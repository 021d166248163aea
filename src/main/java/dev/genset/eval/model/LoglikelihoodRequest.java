package dev.genset.eval.model;

import java.util.Objects;

/**
 * How likely is {@code continuation} after {@code context}? The continuation is scored token by
 * token given everything before it; the context itself is not scored.
 */
public record LoglikelihoodRequest(String context, String continuation) {
    public LoglikelihoodRequest {
        Objects.requireNonNull(context, "context");
        Objects.requireNonNull(continuation, "continuation");
    }
}
