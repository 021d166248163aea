package dev.genset.server;

/**
 * Separates a reasoning model's thinking from its answer as it is generated: text between
 * {@code <think>} and {@code </think>} (Qwen3, DeepSeek-R1 and their kind) is reasoning, what follows
 * is the answer, as llama.cpp's server and vLLM's reasoning parsers return them
 * ({@code reasoning_content} beside {@code content}). Text that may still turn into a tag is held
 * until it is decided, so any cutting of the text into pieces gives the same split.
 */
final class ReasoningSplit {
    static final String OPEN = "<think>", CLOSE = "</think>";

    /** A piece of each kind (either may be empty). */
    record Piece(String reasoning, String content) {
        static final Piece NONE = new Piece("", "");
    }

    private enum State { BEFORE, INSIDE, AFTER_TAG, AFTER }

    private State state;
    private final StringBuilder held = new StringBuilder();

    /** @param startsInside the prompt already opened the reasoning (a template whose generation prompt ends with {@code <think>}) */
    ReasoningSplit(boolean startsInside) {
        this.state = startsInside ? State.INSIDE : State.BEFORE;
    }

    /** The split of a whole reply. */
    static Piece of(String text, boolean startsInside) {
        ReasoningSplit split = new ReasoningSplit(startsInside);
        Piece a = split.push(text), b = split.flush();
        return new Piece(a.reasoning() + b.reasoning(), a.content() + b.content());
    }

    /** Whether a chat template's text uses reasoning tags: then its model's replies are split. */
    static boolean usedBy(String templateSource) {
        return templateSource != null && templateSource.contains(CLOSE);
    }

    /** Whether a rendered prompt ends inside an opened reasoning. */
    static boolean opens(String prompt) {
        return prompt.stripTrailing().endsWith(OPEN);
    }

    /** The reasoning and answer this text completes. */
    Piece push(String text) {
        held.append(text);
        StringBuilder reasoning = new StringBuilder(), content = new StringBuilder();
        while (!held.isEmpty()) {
            switch (state) {
                case BEFORE -> {
                    // leading whitespace, then either the opening tag or the answer
                    int i = 0;
                    while (i < held.length() && Character.isWhitespace(held.charAt(i))) i++;
                    String rest = held.substring(i);
                    if (rest.startsWith(OPEN)) {
                        held.delete(0, i + OPEN.length());
                        state = State.INSIDE;
                    } else if (OPEN.startsWith(rest)) {
                        return piece(reasoning, content);  // undecided: wait for more
                    } else {
                        state = State.AFTER;
                    }
                }
                case INSIDE -> {
                    int end = held.indexOf(CLOSE);
                    if (end >= 0) {
                        reasoning.append(held, 0, end);
                        held.delete(0, end + CLOSE.length());
                        state = State.AFTER_TAG;
                    } else {
                        int keep = partialTag(held);
                        reasoning.append(held, 0, held.length() - keep);
                        held.delete(0, held.length() - keep);
                        return piece(reasoning, content);
                    }
                }
                case AFTER_TAG -> {
                    // the whitespace between the reasoning and the answer belongs to neither
                    int i = 0;
                    while (i < held.length() && Character.isWhitespace(held.charAt(i))) i++;
                    held.delete(0, i);
                    if (held.isEmpty()) return piece(reasoning, content);
                    state = State.AFTER;
                }
                case AFTER -> {
                    content.append(held);
                    held.setLength(0);
                }
            }
        }
        return piece(reasoning, content);
    }

    /** What was held at the end: an unfinished reasoning is reasoning, anything else the answer. */
    Piece flush() {
        String rest = held.toString();
        held.setLength(0);
        return switch (state) {
            case INSIDE -> new Piece(rest, "");
            case BEFORE -> new Piece("", rest);
            case AFTER_TAG, AFTER -> Piece.NONE;
        };
    }

    /** How many chars at the end of s could begin the closing tag. */
    private static int partialTag(CharSequence s) {
        for (int k = Math.min(CLOSE.length() - 1, s.length()); k > 0; k--)
            if (CLOSE.startsWith(s.subSequence(s.length() - k, s.length()).toString())) return k;
        return 0;
    }

    private static Piece piece(StringBuilder reasoning, StringBuilder content) {
        return reasoning.isEmpty() && content.isEmpty() ? Piece.NONE : new Piece(reasoning.toString(), content.toString());
    }
}
