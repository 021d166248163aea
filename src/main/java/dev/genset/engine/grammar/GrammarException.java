package dev.genset.engine.grammar;

/**
 * A grammar that cannot be used: a syntax error (with its line and column), an undefined rule, left
 * recursion; or, while matching, parses past the matcher's bounds or no token left to continue.
 */
public final class GrammarException extends IllegalArgumentException {
    public GrammarException(String message) {
        super(message);
    }
}
