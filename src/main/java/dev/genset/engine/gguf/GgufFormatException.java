package dev.genset.engine.gguf;

/** A GGUF file that cannot be read: the message names what is wrong and, where known, where. */
public class GgufFormatException extends RuntimeException {
    public GgufFormatException(String message) {
        super(message);
    }

    public GgufFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
