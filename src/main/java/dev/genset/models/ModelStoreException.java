package dev.genset.models;

import java.io.IOException;

/** A model store operation failed for a reason the message states in one line. */
public class ModelStoreException extends IOException {
    public ModelStoreException(String message) {
        super(message);
    }

    public ModelStoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
