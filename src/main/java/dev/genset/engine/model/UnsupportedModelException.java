package dev.genset.engine.model;

/** A well-formed model file that uses something the engine does not implement (named in the message). */
public class UnsupportedModelException extends RuntimeException {
    public UnsupportedModelException(String message) {
        super(message);
    }
}
