package dev.genset.engine.grammar;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where a text stands in a {@link Grammar}, one code point at a time: a {@link State} is the set
 * of every parse the text so far allows, each a stack of positions in the rules (the top at a
 * character class, the rest where to go on when a rule ends). A character keeps the parses whose
 * class holds it, advanced and expanded again to their next classes; none left means the text
 * can no longer belong to the language.
 *
 * <p>Stack frames and states are interned, so equal ones are one object; a state remembers
 * where each character takes it. A sequence's text keeps coming back to the same few states (a
 * string's body, a list's separator), so masking a vocabulary is mostly looking transitions up.
 * Not thread-safe: one matcher per sequence.
 */
public final class GrammarMatcher {
    /**
     * Most parses one state may hold: an ambiguous grammar could otherwise multiply them without end.
     * Past it (and past {@link #MAX_FRAMES} or {@link #MAX_STATES}) matching fails with a
     * {@link GrammarException}: the request's grammar is at fault, not the server.
     */
    static final int MAX_PARSES = 4096;
    /** Most stack frames a matcher may intern over its life (memory for one sequence). */
    static final int MAX_FRAMES = 1 << 18;
    /** Most states a matcher may intern over its life: each keeps its transitions, so states bound its memory too. */
    static final int MAX_STATES = 1 << 16;

    /** A position in an alternative of a rule, and what follows once that rule ends ({@code next}, null at the root). */
    static final class Frame {
        final int rule, alt, pos, id;
        final Frame next;

        Frame(int rule, int alt, int pos, Frame next, int id) {
            this.rule = rule;
            this.alt = alt;
            this.pos = pos;
            this.next = next;
            this.id = id;
        }
    }

    private record FrameKey(int rule, int alt, int pos, int next) {}

    /** The parses a text allows: frames at character classes, and whether the text is a whole sentence of the grammar. */
    public static final class State {
        final Frame[] tops;
        final boolean complete;
        private State[] ascii; // transitions by ASCII character, made on the first step from here
        private Map<Integer, State> others;

        State(Frame[] tops, boolean complete) {
            this.tops = tops;
            this.complete = complete;
        }

        /** Whether the text so far is a sentence of the grammar (generation may end here). */
        public boolean isComplete() {
            return complete;
        }
    }

    private record StateKey(int[] frames, boolean complete) {
        @Override
        public boolean equals(Object o) {
            return o instanceof StateKey k && k.complete == complete && Arrays.equals(k.frames, frames);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(frames) * 2 + (complete ? 1 : 0);
        }
    }

    /** Where a character that no parse accepts leads. */
    private static final State DEAD = new State(new Frame[0], false);

    private final Grammar grammar;
    private final Map<FrameKey, Frame> frames = new HashMap<>();
    private final Map<StateKey, State> states = new HashMap<>();
    private final State start;

    public GrammarMatcher(Grammar grammar) {
        this.grammar = grammar;
        List<Frame> seeds = new ArrayList<>();
        for (int a = 0; a < grammar.rules[grammar.root].length; a++) seeds.add(frame(grammar.root, a, 0, null));
        this.start = close(seeds);
    }

    /** The state of the empty text. */
    public State start() {
        return start;
    }

    /** The state after {@code s} and then the code point {@code c}, or null if the grammar allows no such text. */
    public State step(State s, int c) {
        State t;
        if (c < 128) {
            if (s.ascii == null) s.ascii = new State[128];
            t = s.ascii[c];
            if (t == null) s.ascii[c] = t = advance(s, c);
        } else {
            if (s.others == null) s.others = new HashMap<>();
            t = s.others.get(c);
            if (t == null) {
                t = advance(s, c);
                s.others.put(c, t);
            }
        }
        return t == DEAD ? null : t;
    }

    /**
     * The state after {@code s} and one more byte of text, {@code read} being what {@link Utf8#read}
     * made of that byte: a whole character steps, a partial one stays while some character the
     * grammar allows there can begin with its bytes. Null if the text can no longer belong to the
     * language. The reading goes on from {@code Utf8.isCharacter(read) ? Utf8.NONE : read}.
     */
    public State afterByte(State s, int read) {
        if (read == Utf8.INVALID) return null;
        if (Utf8.isCharacter(read)) return step(s, Utf8.codePoint(read));
        return allowsSomeOf(s, Utf8.lowest(read), Utf8.highest(read)) ? s : null;
    }

    /** Whether some character with a code point in lo..hi may follow {@code s} (a character of which only the first bytes are known). */
    public boolean allowsSomeOf(State s, int lo, int hi) {
        for (Frame f : s.tops) if (grammar.classes[grammar.rules[f.rule][f.alt][f.pos]].intersects(lo, hi)) return true;
        return false;
    }

    private State advance(State s, int c) {
        List<Frame> seeds = new ArrayList<>();
        for (Frame f : s.tops) {
            if (grammar.classes[grammar.rules[f.rule][f.alt][f.pos]].contains(c)) seeds.add(frame(f.rule, f.alt, f.pos + 1, f.next));
        }
        return seeds.isEmpty() ? DEAD : close(seeds);
    }

    /** Expands frames into the parses they allow: each rule reference into its alternatives, each ended rule into what follows it. */
    private State close(List<Frame> seeds) {
        Set<Frame> seen = new HashSet<>();
        List<Frame> tops = new ArrayList<>();
        boolean complete = false;
        ArrayDeque<Frame> work = new ArrayDeque<>(seeds);
        while (!work.isEmpty()) {
            Frame f = work.pop();
            if (!seen.add(f)) continue;
            int[] items = grammar.rules[f.rule][f.alt];
            if (f.pos == items.length) {
                if (f.next == null) complete = true;
                else work.push(f.next);
            } else if (items[f.pos] >= 0) {
                tops.add(f);
                if (tops.size() > MAX_PARSES)
                    throw new GrammarException("the grammar is too ambiguous: the text so far has over " + MAX_PARSES + " parses");
            } else {
                int rule = ~items[f.pos];
                // a reference that ends its alternative returns straight to what follows the alternative, so
                // a repetition (R ::= S R) does not deepen the stack with every round
                Frame after = f.pos + 1 == items.length ? f.next : frame(f.rule, f.alt, f.pos + 1, f.next);
                for (int a = grammar.rules[rule].length - 1; a >= 0; a--) work.push(frame(rule, a, 0, after));
            }
        }
        Frame[] t = tops.toArray(Frame[]::new);
        Arrays.sort(t, (x, y) -> Integer.compare(x.id, y.id));
        int[] ids = new int[t.length];
        for (int i = 0; i < t.length; i++) ids[i] = t[i].id;
        final boolean done = complete;
        StateKey key = new StateKey(ids, done);
        State known = states.get(key);
        if (known != null) return known;
        if (states.size() >= MAX_STATES) throw new GrammarException("the grammar's parses took more than " + MAX_STATES + " distinct states");
        State state = new State(t, done);
        states.put(key, state);
        return state;
    }

    private Frame frame(int rule, int alt, int pos, Frame next) {
        FrameKey key = new FrameKey(rule, alt, pos, next == null ? -1 : next.id);
        Frame f = frames.get(key);
        if (f == null) {
            if (frames.size() >= MAX_FRAMES)
                throw new GrammarException("the grammar's parses grew past " + MAX_FRAMES + " stack frames");
            f = new Frame(rule, alt, pos, next, frames.size());
            frames.put(key, f);
        }
        return f;
    }
}
