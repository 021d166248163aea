package dev.genset.engine.generate;

/** Why generation ended, with the names OpenAI's API uses. */
public enum FinishReason {
    /** An end-of-generation token or a stop string. */
    STOP,
    /** The token limit or the end of the context. */
    LENGTH,
    /** The caller asked to stop (a client went away, a timeout). */
    CANCELLED;

    public String apiName() {
        return name().toLowerCase();
    }
}
