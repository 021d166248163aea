package dev.genset.engine.batch;

/** A prompt that does not fit a slot's context with room for one new token. */
public final class PromptTooLongException extends IllegalArgumentException {
    private final int promptTokens, contextSize;

    public PromptTooLongException(int promptTokens, int contextSize) {
        super("the prompt has " + promptTokens + " tokens but the context size is " + contextSize
                + ": shorten it by at least " + (promptTokens - contextSize + 1) + " tokens (one position is needed for the reply)");
        this.promptTokens = promptTokens;
        this.contextSize = contextSize;
    }

    public int promptTokens() {
        return promptTokens;
    }

    public int contextSize() {
        return contextSize;
    }
}
