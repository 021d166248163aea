package dev.genset.engine.batch;

import dev.genset.engine.grammar.GrammarMatcher;
import dev.genset.engine.grammar.Utf8;
import dev.genset.engine.sampling.KeptMasks;
import dev.genset.engine.sampling.TokenConstraint;
import dev.genset.engine.tokenizer.Tokenizer;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.function.Supplier;

/**
 * Keeps a sequence's output a JSON object, or JSON that follows a {@link JsonSchema}: before each
 * sample, every token whose bytes would break the grammar is masked, and once the value is
 * complete only end-of-generation tokens remain.
 * The check runs each token's bytes through a byte-level pushdown automaton (RFC 8259, with
 * whitespace limited as llama.cpp's JSON grammar limits it: one space, or a newline and at most
 * {@value #MAX_WHITESPACE} spaces or tabs; nesting at most {@value #MAX_DEPTH} levels and numbers
 * at most {@value #MAX_NUMBER} characters, so that generation cannot wander forever). Where a value
 * may follow one of several alternatives ({@code anyOf}), the automaton branches into one per
 * alternative; a token is allowed if any live branch accepts it, and branches that come to the same
 * state (once the value that set them apart is complete) are merged again. A fixed prefix (such as
 * {@code <tool_call>\n}) may be required before the JSON.
 */
public final class JsonConstraint implements TokenConstraint {
    static final int MAX_WHITESPACE = 20, MAX_DEPTH = 64, MAX_NUMBER = 32;
    /** Branches alive at once: past this the schema's alternatives are too ambiguous to follow. */
    static final int MAX_BRANCHES = 64;

    private static final Map<Tokenizer, Vocab> VOCABS = new WeakHashMap<>();

    /** Token bytes and end-of-generation flags of one vocabulary, computed once. */
    private record Vocab(byte[][] pieces, boolean[] eog) {}

    private final Vocab vocab;
    private final List<Automaton> live = new ArrayList<>(); // the branches still accepting the text
    private final List<Automaton> probes = new ArrayList<>(); // scratch automata for trying tokens, one per branching level
    private final byte[] prefix;
    private int prefixAt; // bytes of the prefix written so far

    private JsonConstraint(Vocab vocab, JsonSchema schema, byte[] prefix) {
        this.vocab = vocab;
        this.prefix = prefix;
        live.add(new Automaton(schema));
        branch();
    }

    /** Any JSON object (response_format json_object). */
    public static Supplier<TokenConstraint> factory(Tokenizer tokenizer) {
        return factory(tokenizer, JsonSchema.anyObject());
    }

    /** JSON that follows {@code schema} as far as {@link JsonSchema} enforces it. */
    public static Supplier<TokenConstraint> factory(Tokenizer tokenizer, JsonSchema schema) {
        return factory(tokenizer, schema, "");
    }

    /** {@code prefix} exactly, then JSON that follows {@code schema}. */
    public static Supplier<TokenConstraint> factory(Tokenizer tokenizer, JsonSchema schema, String prefix) {
        byte[] p = prefix.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Vocab vocab = vocab(tokenizer);
        return () -> new JsonConstraint(vocab, schema, p);
    }

    /**
     * Free text until the output contains {@code trigger} (such as {@code <tool_call>\n}); from there JSON
     * that follows {@code schema}, after which the text is free again until the next trigger. A token
     * that completes the trigger with bytes the JSON cannot start with ends the constraint instead.
     */
    public static Supplier<TokenConstraint> lazyFactory(Tokenizer tokenizer, JsonSchema schema, String trigger) {
        return lazyFactory(tokenizer, schema, trigger, false);
    }

    /**
     * As {@link #lazyFactory(Tokenizer, JsonSchema, String)}; with {@code opening} the trigger counts only
     * where it opens the output (after whitespace) and is itself the start of the JSON (such as
     * <code>{"name"</code>), and the constraint applies once at most.
     */
    public static Supplier<TokenConstraint> lazyFactory(Tokenizer tokenizer, JsonSchema schema, String trigger, boolean opening) {
        byte[] t = trigger.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (t.length == 0) throw new IllegalArgumentException("empty trigger");
        Vocab vocab = vocab(tokenizer);
        return () -> new Lazy(vocab, schema, t, opening);
    }

    private static Vocab vocab(Tokenizer tokenizer) {
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
        return v;
    }

    /** A constraint with no vocabulary, to be {@link #feed fed} text directly (for tests). */
    static JsonConstraint of(JsonSchema schema) {
        return of(schema, "");
    }

    static JsonConstraint of(JsonSchema schema, String prefix) {
        return new JsonConstraint(null, schema, prefix.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** How many ways of reading the text so far are being followed (for tests). */
    int branchCount() {
        return live.size();
    }

    /** Whether the text so far is one complete JSON value of the schema. */
    public boolean isComplete() {
        if (prefixAt < prefix.length) return false;
        for (Automaton a : live) if (a.isComplete()) return true;
        return false;
    }

    @Override
    public void mask(float[] logits, int vocabSize) {
        long[] bits = masks.get(place(), this::allowedTokens);
        if (KeptMasks.apply(bits, vocab.pieces.length, logits, vocabSize) == 0) throw new IllegalStateException("no token can continue the JSON text");
    }

    /** The tokens that may come next, as bits by token id: each token's bytes tried from the current state. */
    private long[] allowedTokens() {
        boolean done = isComplete();
        int n = vocab.pieces.length;
        long[] bits = new long[(n + 63) >>> 6];
        for (int id = 0; id < n; id++) {
            boolean ok;
            if (vocab.eog[id]) ok = done;
            else if (done || vocab.pieces[id].length == 0) ok = false;
            else ok = accepts(vocab.pieces[id]);
            if (ok) bits[id >>> 6] |= 1L << id;
        }
        return bits;
    }

    /**
     * Where the text stands, as a value: the prefix written, and each live branch's state. The
     * body of a string and other long runs come back to one place token after token, so masks are
     * kept by it ({@link KeptMasks}): trying every token's bytes anew is most of a
     * step's cost with a large vocabulary.
     */
    private List<Object> place() {
        List<Object> p = new ArrayList<>();
        p.add(prefixAt);
        for (Automaton a : live) p.add(a.place());
        return p;
    }

    private final KeptMasks<List<Object>> masks = new KeptMasks<>();

    private boolean accepts(byte[] bytes) {
        int from = 0;
        for (int p = prefixAt; p < prefix.length && from < bytes.length; p++, from++) if (bytes[from] != prefix[p]) return false;
        if (from == bytes.length) return true;
        for (Automaton a : live) if (accepts(a, null, bytes, from, 0)) return true;
        return false;
    }

    /**
     * Whether {@code bytes} from {@code from} can follow {@code state} (which takes the alternative
     * {@code choice} first, if not null): a token may reach a branching point and go on into any of its alternatives.
     */
    private boolean accepts(Automaton state, JsonSchema choice, byte[] bytes, int from, int level) {
        if (probes.size() == level) probes.add(new Automaton(state));
        Automaton probe = probes.get(level);
        probe.copyFrom(state);
        if (choice != null) probe.expect = choice;
        for (int k = from; k < bytes.length; k++) {
            if (!probe.step(bytes[k] & 0xFF)) return false;
            if (k + 1 < bytes.length && probe.branches()) {
                for (JsonSchema c : probe.expect.alternatives()) if (accepts(probe, c, bytes, k + 1, level + 1)) return true;
                return false;
            }
        }
        return true;
    }

    /** Merges branches in the same state, then splits each that has reached a value with alternatives into one per alternative. */
    private void branch() {
        if (live.size() > 1) { // a value that set branches apart may have ended: merge those now alike
            java.util.Set<List<Object>> seen = new java.util.HashSet<>();
            live.removeIf(a -> !seen.add(a.place()));
        }
        for (int i = 0; i < live.size(); i++) {
            Automaton a = live.get(i);
            if (!a.branches()) continue;
            List<JsonSchema> choices = a.expect.alternatives(); // flattened: none of these branches again
            for (int j = 1; j < choices.size(); j++) {
                Automaton b = new Automaton(a);
                b.expect = choices.get(j);
                live.add(b);
            }
            a.expect = choices.getFirst();
        }
        if (live.size() > MAX_BRANCHES)
            throw new IllegalArgumentException("the JSON schema is too ambiguous: its alternatives leave over " + MAX_BRANCHES + " ways to read the text so far");
    }

    @Override
    public void accept(int token) {
        if (token < 0 || token >= vocab.pieces.length || vocab.eog[token]) return;
        if (!feed(vocab.pieces[token])) throw new IllegalStateException("token " + token + " breaks the JSON text");
    }

    /** Feeds text: returns whether every byte was accepted (by at least one branch; those that did not are dropped). */
    boolean feed(byte[] bytes) {
        int from = 0;
        for (; prefixAt < prefix.length && from < bytes.length; prefixAt++, from++) if (bytes[from] != prefix[prefixAt]) return false;
        for (int k = from; k < bytes.length; k++) {
            int c = bytes[k] & 0xFF;
            live.removeIf(a -> !a.step(c));
            if (live.isEmpty()) return false;
            branch();
        }
        return true;
    }

    /** See {@link #lazyFactory}. */
    static final class Lazy implements TokenConstraint {
        private final Vocab vocab;
        private final JsonSchema schema;
        private final byte[] trigger;
        private final int[] fallback; // KMP failure function of the trigger
        private int matched;          // bytes of the trigger that end the text so far
        private JsonConstraint json;  // non-null from a trigger until its JSON is complete
        private boolean broken;       // gave up: a token broke the JSON
        private boolean finished;     // an opening trigger missed, or its JSON ended: free from here on
        private final boolean opening;

        Lazy(Vocab vocab, JsonSchema schema, byte[] trigger, boolean opening) {
            this.vocab = vocab;
            this.schema = schema;
            this.trigger = trigger;
            this.opening = opening;
            this.fallback = new int[trigger.length + 1];
            for (int i = 1, k = 0; i < trigger.length; i++) {
                while (k > 0 && trigger[i] != trigger[k]) k = fallback[k];
                if (trigger[i] == trigger[k]) k++;
                fallback[i + 1] = k;
            }
        }

        /** Whether the JSON after a trigger is being written. */
        boolean active() {
            return json != null && !broken && !finished;
        }

        @Override
        public void mask(float[] logits, int vocabSize) {
            if (!active()) return;
            if (json.isComplete()) { // free again
                json = null;
                matched = 0;
                return;
            }
            json.mask(logits, vocabSize);
        }

        @Override
        public void accept(int token) {
            if (token < 0 || token >= vocab.pieces.length || vocab.eog[token]) return;
            feed(vocab.pieces[token]);
        }

        /** Advances past text; false once the constraint has given up. */
        boolean feed(byte[] bytes) {
            for (byte b : bytes) {
                if (broken || finished) break;
                if (json != null && json.isComplete()) {
                    if (opening) { // once only: the rest is free
                        finished = true;
                        break;
                    }
                    json = null;
                    matched = 0;
                }
                if (json != null) {
                    if (!json.feed(new byte[] {b})) broken = true;
                    continue;
                }
                if (opening) {
                    if (matched == 0 && (b == ' ' || b == '\n' || b == '\t' || b == '\r')) continue;
                    if (trigger[matched] != b) { // the output does not open with the trigger: free from here on
                        finished = true;
                        break;
                    }
                    matched++;
                } else {
                    while (matched > 0 && trigger[matched] != b) matched = fallback[matched];
                    if (trigger[matched] == b) matched++;
                }
                if (matched == trigger.length) {
                    json = new JsonConstraint(vocab, schema, new byte[0]);
                    if (opening && !json.feed(trigger)) broken = true;
                }
            }
            return !broken;
        }
    }

    /** The grammar's state: a mode, the stack of open containers with their schemas, and counters. */
    static final class Automaton {
        static final int VALUE = 0, OBJ_FIRST = 1, OBJ_KEY = 2, COLON = 3, AFTER_VALUE = 4, ARR_FIRST = 5,
                STRING = 6, ESCAPE = 7, UNICODE = 8, NUM_MINUS = 9, NUM_ZERO = 10, NUM_INT = 11, NUM_DOT = 12,
                NUM_FRAC = 13, NUM_E = 14, NUM_E_SIGN = 15, NUM_EXP = 16, LITERAL = 17, DONE = 18;
        private static final String[] WORDS = {"true", "false", "null"};
        /** WORDS[i] where bit i of the index is set, else null. */
        private static final String[][] WORD_SETS = new String[8][];

        static {
            for (int m = 0; m < 8; m++) {
                WORD_SETS[m] = new String[3];
                for (int i = 0; i < 3; i++) WORD_SETS[m][i] = (m & (1 << i)) != 0 ? WORDS[i] : null;
            }
        }

        int mode = VALUE;
        JsonSchema expect;                                   // the schema of the value about to start (VALUE, ARR_FIRST)
        final byte[] kinds = new byte[MAX_DEPTH];             // 'O' object, 'A' array
        final JsonSchema[] schemas = new JsonSchema[MAX_DEPTH];
        final long[] used = new long[MAX_DEPTH];              // properties already written, per open object
        final int[] counts = new int[MAX_DEPTH];              // items written, per open array
        final JsonSchema[] pending = new JsonSchema[MAX_DEPTH]; // schema of the value after the current key
        int depth;
        boolean key;         // the string or literal being read is an object key
        boolean intOnly;     // the number being read must be an integer
        int hex;             // hex digits read of a \\u escape
        String[] literals;   // LITERAL: the texts the value may be
        long alive;          // LITERAL: bit i: literals[i] still matches
        int literalPos;
        int whitespace;      // 0: none yet; 1: a space was written (no more); 2 + k: a newline and k indent bytes
        int numberLength;
        int stringLength, minLength, maxLength; // STRING (a value): characters so far, and the bounds of its schema
        GrammarMatcher patterns;                 // STRING (a value with a pattern): the pattern's matcher, else null
        GrammarMatcher.State pattern;            // where the string's characters so far stand in the pattern
        int utf8, hexValue;                      // a UTF-8 character begun (Utf8's state); a \\u escape's value so far
        long numberValue, minimum = Long.MIN_VALUE, maximum = Long.MAX_VALUE; // an integer's digits so far, and its schema's bounds
        boolean negative;
        JsonSchema bounded;                      // a number (not only integers) with bounds: its schema, else null
        long fraction;                           // ... and the digits after its point so far, as a number
        int fractionDigits;

        Automaton(JsonSchema root) {
            this.expect = root.resolve();
        }

        /** A copy of {@code o}, to follow another alternative from the same place. */
        Automaton(Automaton o) {
            copyFrom(o);
        }

        /** Whether a value is about to start whose schema has alternatives (the constraint then branches). */
        boolean branches() {
            return (mode == VALUE || mode == ARR_FIRST) && expect != null && expect.hasAlternatives();
        }

        boolean isComplete() {
            if (mode == DONE) return true;
            if (depth > 0) return false;
            // A top-level number (or a literal that a longer one extends, like enum 1 beside 12) ends only with the text.
            if (mode == LITERAL && !key) {
                for (long a = alive; a != 0; a &= a - 1) if (literals[Long.numberOfTrailingZeros(a)].length() == literalPos) return true;
            }
            return (mode == NUM_ZERO || mode == NUM_INT || mode == NUM_FRAC) && inRange() || mode == NUM_EXP;
        }

        /** Everything {@link #copyFrom} copies, as a value: automata with equal places accept the same texts from here on. */
        List<Object> place() {
            List<Object> p = new ArrayList<>(12 + 5 * depth);
            Collections.addAll(p, mode, expect, depth, key, intOnly, hex, literals, alive, literalPos, whitespace, numberLength,
                    stringLength, minLength, maxLength, pattern, utf8, hexValue, numberValue, minimum, maximum,
                    negative, bounded, fraction, fractionDigits);
            for (int i = 0; i < depth; i++) Collections.addAll(p, kinds[i], schemas[i], used[i], counts[i], pending[i]);
            return p;
        }

        void copyFrom(Automaton o) {
            mode = o.mode;
            expect = o.expect;
            depth = o.depth;
            System.arraycopy(o.kinds, 0, kinds, 0, o.depth);
            System.arraycopy(o.schemas, 0, schemas, 0, o.depth);
            System.arraycopy(o.used, 0, used, 0, o.depth);
            System.arraycopy(o.counts, 0, counts, 0, o.depth);
            System.arraycopy(o.pending, 0, pending, 0, o.depth);
            key = o.key;
            intOnly = o.intOnly;
            hex = o.hex;
            literals = o.literals;
            alive = o.alive;
            literalPos = o.literalPos;
            whitespace = o.whitespace;
            numberLength = o.numberLength;
            stringLength = o.stringLength;
            minLength = o.minLength;
            maxLength = o.maxLength;
            patterns = o.patterns;
            pattern = o.pattern;
            numberValue = o.numberValue;
            minimum = o.minimum;
            maximum = o.maximum;
            negative = o.negative;
            utf8 = o.utf8;
            hexValue = o.hexValue;
            bounded = o.bounded;
            fraction = o.fraction;
            fractionDigits = o.fractionDigits;
        }

        /**
         * Forgets what the value just read (or key) needed: what comes next sets it anew, and
         * branches that read the same text along different alternatives are then in the same state.
         */
        private void clearValue() {
            expect = null;
            key = false;
            intOnly = false;
            hex = 0;
            literals = null;
            alive = 0;
            literalPos = 0;
            numberLength = 0;
            stringLength = 0;
            minLength = 0;
            maxLength = Integer.MAX_VALUE;
            patterns = null;
            pattern = null;
            utf8 = Utf8.NONE;
            hexValue = 0;
            numberValue = 0;
            minimum = Long.MIN_VALUE;
            maximum = Long.MAX_VALUE;
            negative = false;
            bounded = null;
            fraction = 0;
            fractionDigits = 0;
        }

        /** One byte of a string with a pattern: a character's bytes decoded from UTF-8, and the character given to the pattern. */
        private boolean patternByte(int c) {
            int read = Utf8.read(utf8, c);
            pattern = patterns.afterByte(pattern, read);
            utf8 = Utf8.isCharacter(read) ? Utf8.NONE : read;
            return pattern != null;
        }

        private boolean patternChar(int cp) {
            pattern = patterns.step(pattern, cp);
            return pattern != null;
        }

        boolean step(int c) {
            switch (mode) {
                case STRING -> {
                    if (c == '"') {
                        if (key) {
                            clearValue();
                            pending[depth - 1] = top() == null ? null : top().additional;
                            mode = COLON;
                        } else {
                            if (stringLength < minLength) return false;
                            if (pattern != null && (utf8 != Utf8.NONE || !pattern.isComplete())) return false;
                            valueDone();
                        }
                        return true;
                    }
                    if (c < 0x20) return false;
                    if ((c & 0xC0) != 0x80 && !key && ++stringLength > maxLength) return false; // a character starts (an escape is one)
                    if (c == '\\') {
                        mode = ESCAPE;
                        return true;
                    }
                    return pattern == null || patternByte(c);
                }
                case ESCAPE -> {
                    if (c == 'u') {
                        mode = UNICODE;
                        hex = 0;
                        hexValue = 0;
                        return true;
                    }
                    int i = "\"\\/bfnrt".indexOf(c);
                    if (i >= 0) {
                        mode = STRING;
                        return pattern == null || patternChar("\"\\/\b\f\n\r\t".charAt(i));
                    }
                    return false;
                }
                case UNICODE -> {
                    if (!isHex(c)) return false;
                    hexValue = hexValue * 16 + Character.digit(c, 16);
                    if (++hex == 4) {
                        mode = STRING;
                        return pattern == null || patternChar(hexValue);
                    }
                    return true;
                }
                case VALUE -> {
                    return value(c);
                }
                case ARR_FIRST -> {
                    if (c == ']') return counts[depth - 1] >= (top() == null ? 0 : top().minItems) && close('A');
                    if (top() != null && top().maxItems == 0 && !isWhitespace(c)) return false;
                    return value(c);
                }
                case OBJ_FIRST, OBJ_KEY -> {
                    if (isWhitespace(c)) return space(c);
                    whitespace = 0;
                    if (c == '"') return startKey();
                    return mode == OBJ_FIRST && c == '}' && closeObject();
                }
                case COLON -> {
                    if (isWhitespace(c)) return space(c);
                    whitespace = 0;
                    if (c != ':') return false;
                    mode = VALUE;
                    expect = resolved(pending[depth - 1]);
                    return true;
                }
                case AFTER_VALUE -> {
                    return afterValue(c);
                }
                case NUM_MINUS -> {
                    if (c == '0') return number(NUM_ZERO) && digit(0);
                    if (c >= '1' && c <= '9') return number(NUM_INT) && digit(c - '0');
                    return false;
                }
                case NUM_ZERO -> {
                    if (c == '.' && !intOnly) return number(NUM_DOT) && reachable();
                    if ((c == 'e' || c == 'E') && !intOnly && bounded == null) return number(NUM_E);
                    return inRange() && endValue(c);
                }
                case NUM_INT -> {
                    if (isDigit(c)) return number(NUM_INT) && digit(c - '0');
                    if (c == '.' && !intOnly) return number(NUM_DOT) && reachable();
                    if ((c == 'e' || c == 'E') && !intOnly && bounded == null) return number(NUM_E);
                    return inRange() && endValue(c);
                }
                case NUM_DOT -> {
                    return isDigit(c) && number(NUM_FRAC) && fractionDigit(c - '0');
                }
                case NUM_FRAC -> {
                    if (isDigit(c)) return number(NUM_FRAC) && fractionDigit(c - '0');
                    if ((c == 'e' || c == 'E') && bounded == null) return number(NUM_E);
                    return inRange() && endValue(c);
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
                    return endValue(c);
                }
                case LITERAL -> {
                    return literal(c);
                }
                default -> {
                    return false; // DONE: nothing may follow
                }
            }
        }

        private JsonSchema top() {
            return schemas[depth - 1];
        }

        private static JsonSchema resolved(JsonSchema s) {
            return s == null ? null : s.resolve();
        }

        private static int types(JsonSchema s) {
            return s == null ? JsonSchema.ANY : s.types;
        }

        /** The start of a value of schema {@code expect}. */
        private boolean value(int c) {
            if (isWhitespace(c)) return depth > 0 && space(c);
            whitespace = 0;
            JsonSchema s = expect;
            if (s != null && s.literals != null) return startLiteral(s.literals, false, c);
            int t = types(s);
            switch (c) {
                case '{' -> {
                    return (t & JsonSchema.OBJECT) != 0 && open('O', OBJ_FIRST, s);
                }
                case '[' -> {
                    return (t & JsonSchema.ARRAY) != 0 && open('A', ARR_FIRST, s);
                }
                case '"' -> {
                    if ((t & JsonSchema.STRING) == 0) return false;
                    mode = STRING;
                    key = false;
                    stringLength = 0;
                    minLength = s == null ? 0 : s.minLength;
                    maxLength = s == null ? Integer.MAX_VALUE : s.maxLength;
                    patterns = s == null || s.pattern == null ? null : s.patternMatcher();
                    pattern = patterns == null ? null : patterns.start();
                    utf8 = Utf8.NONE;
                    return true;
                }
                case '-' -> {
                    if ((t & (JsonSchema.NUMBER | JsonSchema.INTEGER)) == 0) return false;
                    intOnly = (t & JsonSchema.NUMBER) == 0;
                    numberLength = 0;
                    startNumber(s, true);
                    return minimum <= 0 && number(NUM_MINUS) && reachable(); // a minus leads to zero or below
                }
                case 't', 'f', 'n' -> {
                    int words = 0;
                    if ((t & JsonSchema.BOOLEAN) != 0) words |= 3;
                    if ((t & JsonSchema.NULL) != 0) words |= 4;
                    if (words == 0) return false;
                    return startLiteral(WORD_SETS[words], false, c);
                }
                default -> {
                    if (!isDigit(c) || (t & (JsonSchema.NUMBER | JsonSchema.INTEGER)) == 0) return false;
                    intOnly = (t & JsonSchema.NUMBER) == 0;
                    numberLength = 0;
                    startNumber(s, false);
                    return number(c == '0' ? NUM_ZERO : NUM_INT) && digit(c - '0');
                }
            }
        }

        /** An object key: one of the unused declared properties, or any string if none are declared. */
        private boolean startKey() {
            JsonSchema o = top();
            if (o == null || o.propertyNames == null) {
                mode = STRING;
                key = true;
                patterns = null;
                pattern = null;
                return true;
            }
            long free = (o.propertyNames.length == 64 ? -1L : (1L << o.propertyNames.length) - 1) & ~used[depth - 1];
            if (free == 0) return false;
            return startLiteral(o.quotedNames, free, true, '"');
        }

        private boolean startLiteral(String[] texts, boolean isKey, int c) {
            long candidates = 0;
            for (int i = 0; i < texts.length && i < 64; i++) if (texts[i] != null) candidates |= 1L << i;
            return startLiteral(texts, candidates, isKey, c);
        }

        private boolean startLiteral(String[] texts, long candidates, boolean isKey, int c) {
            literals = texts;
            alive = candidates;
            literalPos = 0;
            key = isKey;
            mode = LITERAL;
            return literal(c);
        }

        private boolean literal(int c) {
            long next = 0;
            boolean complete = false;
            for (long a = alive; a != 0; a &= a - 1) {
                int i = Long.numberOfTrailingZeros(a);
                String t = literals[i];
                if (literalPos < t.length() && t.charAt(literalPos) == c) next |= 1L << i;
                else if (literalPos == t.length()) complete = true;
            }
            if (next == 0) {
                // A literal that ended just before c (e.g. enum 1 when 12 was possible) ends here.
                return complete && literalDone(-1) && step(c);
            }
            alive = next;
            literalPos++;
            // Ended with no longer candidate left: done now.
            boolean longer = false, ended = false;
            for (long a = alive; a != 0; a &= a - 1) {
                int i = Long.numberOfTrailingZeros(a);
                if (literals[i].length() == literalPos) ended = true;
                else longer = true;
            }
            if (ended && !longer) return literalDone(Long.numberOfTrailingZeros(alive));
            return true;
        }

        private boolean literalDone(int index) {
            if (index < 0) { // find the candidate that is complete
                for (long a = alive; a != 0; a &= a - 1) {
                    int i = Long.numberOfTrailingZeros(a);
                    if (literals[i].length() == literalPos) index = i;
                }
            }
            if (key) {
                clearValue();
                used[depth - 1] |= 1L << index;
                pending[depth - 1] = top().propertySchemas[index];
                mode = COLON;
            } else valueDone();
            return true;
        }

        private boolean afterValue(int c) {
            if (isWhitespace(c)) return space(c);
            whitespace = 0;
            JsonSchema s = top();
            if (kinds[depth - 1] == 'O') {
                if (c == ',') {
                    if (s != null && s.propertyNames != null && Long.bitCount(used[depth - 1]) >= s.propertyNames.length) return false;
                    mode = OBJ_KEY;
                    return true;
                }
                return c == '}' && closeObject();
            }
            if (c == ',') {
                int max = s == null ? Integer.MAX_VALUE : s.maxItems;
                if (counts[depth - 1] >= max) return false;
                mode = VALUE;
                expect = item(s, counts[depth - 1]);
                return true;
            }
            return c == ']' && counts[depth - 1] >= (s == null ? 0 : s.minItems) && close('A');
        }

        private boolean open(char kind, int next, JsonSchema s) {
            if (depth == MAX_DEPTH) return false;
            kinds[depth] = (byte) kind;
            schemas[depth] = s;
            used[depth] = 0;
            counts[depth] = 0;
            pending[depth] = null;
            depth++;
            mode = next;
            if (kind == 'A') expect = item(s, 0);
            return true;
        }

        /** The schema of item {@code index} of an array of schema {@code s}. */
        private static JsonSchema item(JsonSchema s, int index) {
            if (s == null) return null;
            return resolved(s.prefixItems != null && index < s.prefixItems.length ? s.prefixItems[index] : s.items);
        }

        private boolean closeObject() {
            JsonSchema s = top();
            if (s != null && (used[depth - 1] & s.required) != s.required) return false;
            return close('O');
        }

        private boolean close(char kind) {
            if (depth == 0 || kinds[depth - 1] != kind) return false;
            depth--;
            whitespace = 0;
            valueDone();
            return true;
        }

        private void valueDone() {
            clearValue();
            if (depth == 0) {
                mode = DONE;
                return;
            }
            if (kinds[depth - 1] == 'A') counts[depth - 1]++;
            mode = AFTER_VALUE;
        }

        /** A number starts: its bounds, if it must be an integer within some. */
        private void startNumber(JsonSchema s, boolean minus) {
            negative = minus;
            numberValue = 0;
            boolean integer = intOnly && s != null;
            minimum = integer ? s.minimum : Long.MIN_VALUE;
            maximum = integer ? s.maximum : Long.MAX_VALUE;
            bounded = !intOnly && s != null && (s.low != null || s.high != null) ? s : null;
            fraction = 0;
            fractionDigits = 0;
        }

        /** One more digit of an integer: whether some integer these digits begin can still lie within the bounds. */
        private boolean digit(int d) {
            if (bounded != null) {
                numberValue = numberValue > (Long.MAX_VALUE - 9) / 10 ? Long.MAX_VALUE : numberValue * 10 + d;
                return reachable();
            }
            if (minimum == Long.MIN_VALUE && maximum == Long.MAX_VALUE) return true;
            numberValue = numberValue > (Long.MAX_VALUE - 9) / 10 ? Long.MAX_VALUE : numberValue * 10 + d;
            if (mode == NUM_ZERO) return inRange(); // nothing may follow a leading zero
            // the integers that begin with these digits: v, then v0..v9, v00..v99, ..., as long as the digits are allowed
            long low = numberValue, span = 1;
            for (int more = 0; numberLength + more <= MAX_NUMBER && low < Long.MAX_VALUE / 10; more++) {
                long lo = negative ? -(low + span - 1) : low, hi = negative ? -low : low + span - 1;
                if (lo <= maximum && minimum <= hi) return true;
                low *= 10;
                span *= 10;
            }
            return false;
        }

        /** One more digit after a bounded number's point (those past the 18th are too small to matter and not kept). */
        private boolean fractionDigit(int d) {
            if (bounded == null || fractionDigits >= 18) return true;
            fraction = fraction * 10 + d;
            fractionDigits++;
            return reachable();
        }

        /**
         * Whether some number that the text so far begins lies within a bounded number's range
         * (always, for others): the numbers an integer part {@code v} begins are those in
         * [v, v+1), [10v, 10v+10), [100v, 100v+100) and so on, with as many digits as may still come;
         * after the point, those in [v.f, v.f + 10^-digits).
         */
        private boolean reachable() {
            if (bounded == null) return true;
            if (mode == NUM_MINUS) return within(null, false, BigDecimal.ZERO, true); // anything from zero down
            BigDecimal v = BigDecimal.valueOf(numberValue);
            if (mode == NUM_ZERO) return magnitudes(BigDecimal.ZERO, BigDecimal.ONE);
            if (mode == NUM_DOT) return magnitudes(v, v.add(BigDecimal.ONE));
            if (mode == NUM_FRAC) {
                BigDecimal low = v.add(BigDecimal.valueOf(fraction, fractionDigits));
                return magnitudes(low, low.add(BigDecimal.ONE.movePointLeft(fractionDigits)));
            }
            for (int more = 0; numberLength + more <= MAX_NUMBER; more++) { // NUM_INT
                if (magnitudes(v.movePointRight(more), v.add(BigDecimal.ONE).movePointRight(more))) return true;
            }
            return false;
        }

        /** Whether some number of magnitude in [low, high), with the sign written, lies within the bounds. */
        private boolean magnitudes(BigDecimal low, BigDecimal high) {
            return negative ? within(high.negate(), false, low.negate(), true) : within(low, true, high, false);
        }

        /** Whether the interval from {@code a} to {@code b} (null: unbounded; each end included or not) meets the bounded schema's range. */
        private boolean within(BigDecimal a, boolean aIncluded, BigDecimal b, boolean bIncluded) {
            BigDecimal lo = a;
            boolean loIn = aIncluded;
            if (bounded.low != null) {
                int c = lo == null ? -1 : lo.compareTo(bounded.low);
                if (c < 0) {
                    lo = bounded.low;
                    loIn = !bounded.lowExclusive;
                } else if (c == 0) loIn &= !bounded.lowExclusive;
            }
            BigDecimal hi = b;
            boolean hiIn = bIncluded;
            if (bounded.high != null) {
                int c = hi == null ? 1 : hi.compareTo(bounded.high);
                if (c > 0) {
                    hi = bounded.high;
                    hiIn = !bounded.highExclusive;
                } else if (c == 0) hiIn &= !bounded.highExclusive;
            }
            if (lo == null || hi == null) return true;
            int c = lo.compareTo(hi);
            return c < 0 || c == 0 && loIn && hiIn;
        }

        /** Whether the integer written is within its bounds, or the bounded number written within its range (always, for other numbers). */
        private boolean inRange() {
            if (bounded != null) {
                if (mode != NUM_ZERO && mode != NUM_INT && mode != NUM_FRAC) return false;
                BigDecimal x = BigDecimal.valueOf(numberValue).add(BigDecimal.valueOf(fraction, fractionDigits));
                if (negative) x = x.negate();
                return within(x, true, x, true);
            }
            if (!intOnly || minimum == Long.MIN_VALUE && maximum == Long.MAX_VALUE) return true;
            if (numberValue == Long.MAX_VALUE) return false;
            long v = negative ? -numberValue : numberValue;
            return minimum <= v && v <= maximum;
        }

        private boolean number(int next) {
            if (++numberLength > MAX_NUMBER) return false;
            mode = next;
            return true;
        }

        /** A number ended at c, which belongs to what follows. */
        private boolean endValue(int c) {
            if (depth == 0) return false; // a bare top-level number would never end; schemas here start with a container or literal
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
