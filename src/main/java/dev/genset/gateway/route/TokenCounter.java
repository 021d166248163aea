package dev.genset.gateway.route;

/**
 * Counts tokens where an upstream reports none (a stream without a usage chunk). The server plugs
 * in the engine's tokenizer; the default estimates four characters a token.
 */
@FunctionalInterface
public interface TokenCounter {
    int count(String model, String text);

    TokenCounter ESTIMATE = (model, text) -> text == null || text.isEmpty() ? 0 : Math.max(1, (text.length() + 3) / 4);
}
