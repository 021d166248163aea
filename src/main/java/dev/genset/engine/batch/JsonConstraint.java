package dev.genset.engine.batch;

import dev.genset.engine.tokenizer.Tokenizer;

import java.util.Map;
import java.util.WeakHashMap;
import java.util.function.Supplier;

/**
 * Keeps a sequence's output a JSON object: before each sample, every token whose bytes would break
 * the JSON grammar is masked, and once the object is closed only end-of-generation tokens remain.
 * The check runs each token's bytes through a byte-level pushdown automaton (RFC 8259, with
 * whitespace limited as llama.cpp's JSON grammar limits it: one space, or a newline and at most
 * {@value #MAX_WHITESPACE} spaces or tabs; nesting at most {@value #MAX_DEPTH} levels and numbers
 * at most {@value #MAX_NUMBER} characters, so that generation cannot wander forever).
 */
public final class JsonConstraint implements TokenConstraint {
    static final int MAX_WHITESPACE = 20, MAX_DEPTH = 64, MAX_NUMBER = 32;

    private static final Map<Tokenizer, Vocab> VOCABS = new WeakHashMap<>();

    /** Token bytes and end-of-generation flags of one vocabulary, computed once. */
    private record Vocab(byte[][] pieces, boolean[] eog) {}

    private final Vocab vocab;
    private final Automaton state = new Automaton(), probe = new Automaton();

    private JsonConstraint(Vocab vocab) {
        this.vocab = vocab;
    }

    /** Makes a fresh constraint per sequence; the vocabulary's tables are shared. */
    public static Supplier<TokenConstraint> factory(Tokenizer tokenizer) {
        Vocab v;
        synchronized (VOCABS) {
            v = VOCABS.computeIfAbsent(tokenizer, t -> {
                int n = t.vocabSize();
                byte[][] pieces = new byte[n][];
                boolean[] eog = new boolean[n];
                for (int i = 0; i < n; i++) {
                    pieces[i] = t.tokenBytes(i);
                    eog[i] = t.isEndOfGeneration(i);
                }
                return new Vocab(pieces, eog);
            });
        }
        Vocab vocab = v;
        return () -> new JsonConstraint(vocab);
    }

    /** Whether the text so far is one complete JSON object. */
    public boolean isComplete() {
        return state.mode == Automaton.DONE;
    }

    @Override
    public void mask(float[] logits, int vocabSize) {
        boolean done = isComplete();
        int allowed = 0;
        for (int id = 0; id < vocabSize; id++) {
            boolean ok;
            if (id >= vocab.pieces.length) ok = false;
            else if (vocab.eog[id]) ok = done;
            else if (done || vocab.pieces[id].length == 0) ok = false;
            else ok = accepts(vocab.pieces[id]);
            if (ok) allowed++;
            else logits[id] = Float.NEGATIVE_INFINITY;
        }
        if (allowed == 0) throw new IllegalStateException("no token can continue the JSON text");
    }

    private boolean accepts(byte[] bytes) {
        probe.copyFrom(state);
        for (byte b : bytes) if (!probe.step(b & 0xFF)) return false;
        return true;
    }

    @Override
    public void accept(int token) {
        if (token < 0 || token >= vocab.pieces.length || vocab.eog[token]) return;
        for (byte b : vocab.pieces[token]) {
            if (!state.step(b & 0xFF)) throw new IllegalStateException("token " + token + " breaks the JSON text");
        }
    }

    /** Feeds text directly (for tests): returns whether every byte was accepted. */
    boolean feed(byte[] bytes) {
        for (byte b : bytes) if (!state.step(b & 0xFF)) return false;
        return true;
    }

    /** The grammar's state: a mode, the stack of open containers, and counters. */
    static final class Automaton {
        static final int VALUE = 0, OBJ_FIRST = 1, OBJ_KEY = 2, COLON = 3, AFTER_VALUE = 4, ARR_FIRST = 5,
                STRING = 6, ESCAPE = 7, UNICODE = 8, NUM_MINUS = 9, NUM_ZERO = 10, NUM_INT = 11, NUM_DOT = 12,
                NUM_FRAC = 13, NUM_E = 14, NUM_E_SIGN = 15, NUM_EXP = 16, LITERAL = 17, DONE = 18;
        private static final String[] LITERALS = {"true", "false", "null"};

        int mode = VALUE;
        final byte[] stack = new byte[MAX_DEPTH]; // 'O' object, 'A' array
        int depth;
        boolean key;      // the string being read is an object key
        int hex;          // hex digits read of a \\u escape
        int literal, literalPos;
        int whitespace;   // 0: none yet; 1: a space was written (no more); 2 + k: a newline and k indent bytes
        int numberLength;

        void copyFrom(Automaton o) {
            mode = o.mode;
            depth = o.depth;
            System.arraycopy(o.stack, 0, stack, 0, o.depth);
            key = o.key;
            hex = o.hex;
            literal = o.literal;
            literalPos = o.literalPos;
            whitespace = o.whitespace;
            numberLength = o.numberLength;
        }

        boolean step(int c) {
            switch (mode) {
                case STRING -> {
                    if (c == '"') {
                        if (key) mode = COLON;
                        else valueDone();
                        return true;
                    }
                    if (c == '\\') {
                        mode = ESCAPE;
                        return true;
                    }
                    return c >= 0x20;
                }
                case ESCAPE -> {
                    if (c == 'u') {
                        mode = UNICODE;
                        hex = 0;
                        return true;
                    }
                    if ("\"\\/bfnrt".indexOf(c) >= 0) {
                        mode = STRING;
                        return true;
                    }
                    return false;
                }
                case UNICODE -> {
                    if (!isHex(c)) return false;
                    if (++hex == 4) mode = STRING;
                    return true;
                }
                case VALUE -> {
                    return value(c);
                }
                case ARR_FIRST -> {
                    if (c == ']') return close('A');
                    return value(c);
                }
                case OBJ_FIRST, OBJ_KEY -> {
                    if (isWhitespace(c)) return space(c);
                    whitespace = 0;
                    if (c == '"') {
                        mode = STRING;
                        key = true;
                        return true;
                    }
                    return mode == OBJ_FIRST && c == '}' && close('O');
                }
                case COLON -> {
                    if (isWhitespace(c)) return space(c);
                    whitespace = 0;
                    if (c != ':') return false;
                    mode = VALUE;
                    return true;
                }
                case AFTER_VALUE -> {
                    return afterValue(c);
                }
                case NUM_MINUS -> {
                    if (c == '0') return number(NUM_ZERO);
                    if (c >= '1' && c <= '9') return number(NUM_INT);
                    return false;
                }
                case NUM_ZERO -> {
                    if (c == '.') return number(NUM_DOT);
                    if (c == 'e' || c == 'E') return number(NUM_E);
                    return endNumber(c);
                }
                case NUM_INT -> {
                    if (isDigit(c)) return number(NUM_INT);
                    if (c == '.') return number(NUM_DOT);
                    if (c == 'e' || c == 'E') return number(NUM_E);
                    return endNumber(c);
                }
                case NUM_DOT -> {
                    return isDigit(c) && number(NUM_FRAC);
                }
                case NUM_FRAC -> {
                    if (isDigit(c)) return number(NUM_FRAC);
                    if (c == 'e' || c == 'E') return number(NUM_E);
                    return endNumber(c);
                }
                case NUM_E -> {
                    if (c == '+' || c == '-') return number(NUM_E_SIGN);
                    return isDigit(c) && number(NUM_EXP);
                }
                case NUM_E_SIGN -> {
                    return isDigit(c) && number(NUM_EXP);
                }
                case NUM_EXP -> {
                    if (isDigit(c)) return number(NUM_EXP);
                    return endNumber(c);
                }
                case LITERAL -> {
                    String lit = LITERALS[literal];
                    if (c != lit.charAt(literalPos)) return false;
                    if (++literalPos == lit.length()) valueDone();
                    return true;
                }
                default -> {
                    return false; // DONE: nothing may follow
                }
            }
        }

        /** The start of a value (the top level must be an object). */
        private boolean value(int c) {
            if (isWhitespace(c)) return depth > 0 && space(c);
            whitespace = 0;
            if (c == '{') return open('O', OBJ_FIRST);
            if (depth == 0) return false;
            switch (c) {
                case '[' -> {
                    return open('A', ARR_FIRST);
                }
                case '"' -> {
                    mode = STRING;
                    key = false;
                    return true;
                }
                case '-' -> {
                    numberLength = 0;
                    return number(NUM_MINUS);
                }
                case 't', 'f', 'n' -> {
                    mode = LITERAL;
                    literal = c == 't' ? 0 : c == 'f' ? 1 : 2;
                    literalPos = 1;
                    return true;
                }
                default -> {
                    if (!isDigit(c)) return false;
                    numberLength = 0;
                    return number(c == '0' ? NUM_ZERO : NUM_INT);
                }
            }
        }

        private boolean afterValue(int c) {
            if (isWhitespace(c)) return space(c);
            whitespace = 0;
            byte top = stack[depth - 1];
            if (c == ',') {
                mode = top == 'O' ? OBJ_KEY : VALUE;
                return true;
            }
            if (c == '}') return top == 'O' && close('O');
            if (c == ']') return top == 'A' && close('A');
            return false;
        }

        private boolean open(char kind, int next) {
            if (depth == MAX_DEPTH) return false;
            stack[depth++] = (byte) kind;
            mode = next;
            return true;
        }

        private boolean close(char kind) {
            if (depth == 0 || stack[depth - 1] != kind) return false;
            depth--;
            whitespace = 0;
            valueDone();
            return true;
        }

        private void valueDone() {
            mode = depth == 0 ? DONE : AFTER_VALUE;
        }

        private boolean number(int next) {
            if (++numberLength > MAX_NUMBER) return false;
            mode = next;
            return true;
        }

        private boolean endNumber(int c) {
            valueDone();
            return step(c);
        }

        /** Whitespace byte c at a place where whitespace may go. */
        private boolean space(int c) {
            if (whitespace == 0) {
                if (c == ' ') whitespace = 1;
                else if (c == '\n') whitespace = 2;
                else return false;
                return true;
            }
            if (whitespace == 1 || c == '\n' || c == '\r') return false;
            return ++whitespace - 2 <= MAX_WHITESPACE;
        }

        private static boolean isWhitespace(int c) {
            return c == ' ' || c == '\n' || c == '\t' || c == '\r';
        }

        private static boolean isDigit(int c) {
            return c >= '0' && c <= '9';
        }

        private static boolean isHex(int c) {
            return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F';
        }
    }
}
