package dev.genset.engine.chat;

/** A chat template that could not be parsed or rendered, or that called {@code raise_exception}. */
public class ChatTemplateException extends RuntimeException {

    public enum Kind {
        /** The template source is not valid (for this interpreter's) Jinja. */
        SYNTAX,
        /** Evaluation failed: a type error, an unknown filter, a missing feature. */
        RENDER,
        /** The template itself refused the input through {@code raise_exception(message)}. */
        RAISED
    }

    private final Kind kind;

    public ChatTemplateException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
