package dev.genset.engine.grammar;

import dev.genset.engine.sampling.KeptMasks;
import dev.genset.engine.sampling.TokenConstraint;
import dev.genset.engine.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.function.Supplier;

/**
 * Keeps a sequence's output a sentence of a {@link Grammar}, as llama.cpp's {@code grammar} does:
 * a token may come next if the text with its bytes is still the beginning of some sentence, and an
 * end-of-generation token only once the text is a whole sentence. Text is matched by code point; a
 * token may end inside a UTF-8 character (byte tokens), and is allowed if some character the
 * grammar accepts there starts with those bytes. Tokens with no text (control tokens) are never
 * allowed.
 *
 * <p>Masking walks a trie of the vocabulary's token bytes from the current state, so tokens that
 * share a beginning share its matching, and a branch the grammar refuses is left at its first byte.
 */
public final class GrammarConstraint implements TokenConstraint {
    private static final Map<Tokenizer, Vocab> VOCABS = new WeakHashMap<>();

    private final Vocab vocab;
    private final GrammarMatcher matcher;
    private GrammarMatcher.State state;
    private int utf8 = Utf8.NONE; // a character begun and not finished (Utf8's state)

    private GrammarConstraint(Vocab vocab, Grammar grammar) {
        this.vocab = vocab;
        this.matcher = new GrammarMatcher(grammar);
        this.state = matcher.start();
    }

    /** A fresh constraint per sequence, sharing the grammar and the vocabulary's trie. */
    public static Supplier<TokenConstraint> factory(Tokenizer tokenizer, Grammar grammar) {
        Vocab v = vocab(tokenizer);
        return () -> new GrammarConstraint(v, grammar);
    }

    /** Whether the text so far is a whole sentence of the grammar. */
    public boolean isComplete() {
        return state.isComplete() && utf8 == Utf8.NONE;
    }

    @Override
    public void mask(float[] logits, int vocabSize) {
        long[] bits = masks.get(new Place(state, utf8), this::allowedTokens);
        if (KeptMasks.apply(bits, vocab.eog.length, logits, vocabSize) == 0) throw new GrammarException("no token of the vocabulary can continue the text under the grammar");
    }

    /** The tokens that may come next, as bits by token id: the trie walk's, and end-of-generation once the text is whole. */
    private long[] allowedTokens() {
        long[] bits = new long[(vocab.eog.length + 63) >>> 6];
        walk(0, state, utf8, bits);
        if (isComplete()) for (int id = 0; id < vocab.eog.length; id++) if (vocab.eog[id]) bits[id >>> 6] |= 1L << id;
        return bits;
    }

    /** Where the text stands: the state and a character begun (the masks' key). */
    private record Place(GrammarMatcher.State state, int utf8) {}

    private final KeptMasks<Place> masks = new KeptMasks<>();

    /** Sets the bits of the tokens below trie node {@code node} that the grammar allows from the given state and UTF-8 reading. */
    private void walk(int node, GrammarMatcher.State s, int reading, long[] bits) {
        Trie t = vocab.trie;
        for (int c = t.firstChild[node], end = c + t.childCount[node]; c < end; c++) {
            int read = Utf8.read(reading, t.label[c] & 0xFF);
            GrammarMatcher.State next = matcher.afterByte(s, read);
            if (next == null) continue; // the whole branch is refused at its first byte
            for (int k = t.tokenStart[c], e = k + t.tokenCount[c]; k < e; k++) bits[t.tokens[k] >>> 6] |= 1L << t.tokens[k];
            if (t.childCount[c] > 0) walk(c, next, Utf8.isCharacter(read) ? Utf8.NONE : read, bits);
        }
    }

    @Override
    public void accept(int token) {
        if (token < 0 || token >= vocab.eog.length || vocab.eog[token]) return;
        byte[] piece = vocab.pieces[token];
        if (piece.length == 0 || piece[0] == 0 || !feed(piece)) throw new IllegalStateException("token " + token + " breaks the grammar");
    }

    /** Advances past text; false (and no change) if the grammar does not allow it. */
    boolean feed(byte[] bytes) {
        return advance(bytes, true);
    }

    /** Whether the grammar allows text to follow, without advancing (tests: the trie walk must agree). */
    boolean allows(byte[] bytes) {
        return advance(bytes, false);
    }

    private boolean advance(byte[] bytes, boolean commit) {
        GrammarMatcher.State s = state;
        int reading = utf8;
        for (byte x : bytes) {
            int read = Utf8.read(reading, x & 0xFF);
            s = matcher.afterByte(s, read);
            if (s == null) return false;
            reading = Utf8.isCharacter(read) ? Utf8.NONE : read;
        }
        if (commit) {
            state = s;
            utf8 = reading; // NONE between characters: a place in the text is then its state alone (the masks' key)
        }
        return true;
    }

    /** Test entry: a constraint with no vocabulary, fed text directly. */
    static GrammarConstraint of(Grammar grammar) {
        return new GrammarConstraint(new Vocab(new byte[0][], new boolean[0], Trie.of(new byte[0][])), grammar);
    }

    private record Vocab(byte[][] pieces, boolean[] eog, Trie trie) {}

    private static Vocab vocab(Tokenizer tokenizer) {
        synchronized (VOCABS) {
            return VOCABS.computeIfAbsent(tokenizer, t -> {
                int n = t.vocabSize();
                byte[][] pieces = new byte[n][];
                boolean[] eog = new boolean[n];
                byte[][] inTrie = new byte[n][];
                for (int i = 0; i < n; i++) {
                    pieces[i] = t.tokenBytes(i);
                    eog[i] = t.isEndOfGeneration(i);
                    // no text (control tokens), or a NUL first, never matches (as in llama.cpp)
                    inTrie[i] = eog[i] || pieces[i].length == 0 || pieces[i][0] == 0 ? null : pieces[i];
                }
                return new Vocab(pieces, eog, Trie.of(inTrie));
            });
        }
    }

    /**
     * The vocabulary as a trie of bytes, in flat arrays: node 0 is the root; node c's children are
     * nodes firstChild[c] .. + childCount[c] (by byte), label[c] the byte that leads to c, and
     * tokens[tokenStart[c] .. + tokenCount[c]] the tokens whose bytes end at c.
     */
    record Trie(byte[] label, int[] firstChild, int[] childCount, int[] tokenStart, int[] tokenCount, int[] tokens) {
        /** Builds the trie of the non-null pieces (index = token id). */
        static Trie of(byte[][] pieces) {
            List<Integer> ids = new ArrayList<>();
            for (int i = 0; i < pieces.length; i++) if (pieces[i] != null) ids.add(i);
            ids.sort((a, b) -> Arrays.compareUnsigned(pieces[a], pieces[b]));
            // node-by-node breadth-first layout, built from the sorted pieces: a node is a range of ids sharing a prefix
            int total = 1;
            for (int id : ids) total += pieces[id].length; // an upper bound on nodes
            byte[] label = new byte[total];
            int[] first = new int[total], count = new int[total], tStart = new int[total], tCount = new int[total];
            int[] tokens = new int[ids.size()];
            int[] lo = new int[total], hi = new int[total], depth = new int[total];
            int nodes = 1, tokenAt = 0;
            lo[0] = 0;
            hi[0] = ids.size();
            for (int node = 0; node < nodes; node++) {
                int d = depth[node], i = lo[node], end = hi[node];
                tStart[node] = tokenAt;
                while (i < end && pieces[ids.get(i)].length == d) tokens[tokenAt++] = ids.get(i++); // the pieces that end here sort first
                tCount[node] = tokenAt - tStart[node];
                first[node] = nodes;
                while (i < end) {
                    byte b = pieces[ids.get(i)][d];
                    int j = i;
                    while (j < end && pieces[ids.get(j)][d] == b) j++;
                    label[nodes] = b;
                    lo[nodes] = i;
                    hi[nodes] = j;
                    depth[nodes] = d + 1;
                    nodes++;
                    i = j;
                }
                count[node] = nodes - first[node];
            }
            return new Trie(Arrays.copyOf(label, nodes), Arrays.copyOf(first, nodes), Arrays.copyOf(count, nodes),
                    Arrays.copyOf(tStart, nodes), Arrays.copyOf(tCount, nodes), tokens);
        }
    }
}
