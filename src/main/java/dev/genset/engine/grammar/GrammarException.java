package dev.genset.engine.grammar;

/**
 * A grammar that cannot be used: a syntax error (with its line and column), an undefined rule, left
 * recursion; or, while matching, parses past the matcher's bounds or no token left to continue.
 */
public final class GrammarException extends IllegalArgumentException {
    private final boolean leftRecursive;

    public GrammarException(String message) {
        this(message, false);
    }

    GrammarException(String message, boolean leftRecursive) {
        super(message);
        this.leftRecursive = leftRecursive;
    }

    /** Whether the grammar was refused for left recursion (a rule that can reach itself before reading a character). */
    public boolean leftRecursive() {
        return leftRecursive;
    }
}
