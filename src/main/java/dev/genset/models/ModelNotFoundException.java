package dev.genset.models;

/** A name that is neither an existing file nor a model in the store. */
public final class ModelNotFoundException extends ModelStoreException {
    private final String name;

    public ModelNotFoundException(String name, String message) {
        super(message);
        this.name = name;
    }

    public String name() {
        return name;
    }
}
