package dev.genset.engine.model;

/** A sequence reached the end of its KV cache (the context size it was given). */
public class ContextFullException extends RuntimeException {
    public ContextFullException(int position, int capacity) {
        super("context full: position " + position + " does not fit the context size " + capacity);
    }
}
