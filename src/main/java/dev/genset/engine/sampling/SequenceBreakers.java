package dev.genset.engine.sampling;

import dev.genset.engine.tokenizer.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * DRY's sequence breakers resolved against one vocabulary. A token whose text contains a breaker
 * breaks on its own; a token whose text ends with the beginning of a breaker breaks when the tokens
 * of the breaker's rest follow it. So each head token maps to the tails that must follow it (an
 * empty tail: the token alone).
 */
public final class SequenceBreakers {
    static final int MAX_BREAKER_BYTES = 40, MAX_TAIL = 20; // as llama.cpp bounds them, keeping the scan linear
    public static final SequenceBreakers NONE = new SequenceBreakers(Map.of());
    private static final Map<Tokenizer, Map<List<String>, SequenceBreakers>> CACHE = new WeakHashMap<>();

    private final Map<Integer, List<int[]>> tails;

    private SequenceBreakers(Map<Integer, List<int[]>> tails) {
        this.tails = tails;
    }

    /** The breakers as {@code tokenizer}'s tokens, computed once per vocabulary and list. */
    public static SequenceBreakers of(Tokenizer tokenizer, List<String> breakers) {
        if (tokenizer == null || breakers.isEmpty()) return NONE;
        synchronized (CACHE) {
            Map<List<String>, SequenceBreakers> byList = CACHE.computeIfAbsent(tokenizer, t -> new LinkedHashMap<>(16, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<List<String>, SequenceBreakers> eldest) {
                    return size() > 16;
                }
            });
            SequenceBreakers b = byList.get(breakers);
            if (b == null) byList.put(List.copyOf(breakers), b = resolve(tokenizer, breakers));
            return b;
        }
    }

    private static SequenceBreakers resolve(Tokenizer tokenizer, List<String> breakers) {
        Map<Integer, List<int[]>> tails = new HashMap<>();
        int n = tokenizer.vocabSize();
        byte[][] words = new byte[n][];
        for (int id = 0; id < n; id++) words[id] = tokenizer.tokenBytes(id, true);
        for (String breaker : breakers) {
            byte[] b = breaker.getBytes(StandardCharsets.UTF_8);
            if (b.length > MAX_BREAKER_BYTES) b = Arrays.copyOf(b, MAX_BREAKER_BYTES);
            if (b.length == 0) continue;
            for (int id = 0; id < n; id++) {
                byte[] w = words[id];
                if (indexOf(w, b) >= 0) {
                    add(tails, id, new int[0]);
                    continue;
                }
                for (int at = Math.max(0, w.length - b.length + 1); at < w.length; at++) { // the word ends with b's first w.length - at bytes
                    int overlap = w.length - at;
                    if (!Arrays.equals(w, at, w.length, b, 0, overlap)) continue;
                    String rest = new String(b, overlap, b.length - overlap, StandardCharsets.UTF_8);
                    int[] tail = tokenizer.encode(rest, false, false);
                    add(tails, id, tail.length > MAX_TAIL ? Arrays.copyOf(tail, MAX_TAIL) : tail);
                }
            }
        }
        return new SequenceBreakers(tails);
    }

    private static void add(Map<Integer, List<int[]>> tails, int head, int[] tail) {
        List<int[]> list = tails.computeIfAbsent(head, h -> new ArrayList<>());
        for (int[] t : list) if (Arrays.equals(t, tail)) return;
        list.add(tail);
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }

    /** Breakers built from token sequences directly: each array is a head token followed by its tail (for tests). */
    static SequenceBreakers ofTokens(int[]... sequences) {
        Map<Integer, List<int[]>> tails = new HashMap<>();
        for (int[] s : sequences) add(tails, s[0], Arrays.copyOfRange(s, 1, s.length));
        return new SequenceBreakers(tails);
    }

    /** The tails that complete a breaker after {@code head} (none if it begins none). */
    List<int[]> tails(int head) {
        return tails.getOrDefault(head, List.of());
    }

    /** Whether {@code token} is a breaker by itself. */
    boolean breaksAlone(int token) {
        for (int[] t : tails(token)) if (t.length == 0) return true;
        return false;
    }

    /** How many head tokens there are (for tests). */
    int heads() {
        return tails.size();
    }
}
