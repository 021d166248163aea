package dev.genset.engine.tokenizer;

/** A vocabulary that cannot be loaded (unsupported model or pre-tokenizer, missing keys) or used as asked. */
public final class TokenizerException extends RuntimeException {
    public TokenizerException(String message) {
        super(message);
    }
}
