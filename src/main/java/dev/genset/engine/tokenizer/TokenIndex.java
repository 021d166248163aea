package dev.genset.engine.tokenizer;

/**
 * Token texts to ids, looked up by a range of a string without copying it out (the SentencePiece
 * merge loop asks for every candidate pair). Open addressing; a repeated text maps to its last id.
 */
final class TokenIndex {
    private final String[] keys;
    private final int[] ids;
    private final int mask;
    /** Length of the longest text, in chars: longer ranges are no token without looking. */
    private final int maxLength;

    TokenIndex(String[] texts) {
        int capacity = Integer.highestOneBit(Math.max(4, texts.length * 2)) * 2;
        keys = new String[capacity];
        ids = new int[capacity];
        mask = capacity - 1;
        int longest = 0;
        for (int id = 0; id < texts.length; id++) {
            String t = texts[id];
            longest = Math.max(longest, t.length());
            int slot = slot(t, 0, t.length());
            keys[slot] = t;
            ids[slot] = id;
        }
        maxLength = longest;
    }

    /** The id of the token spelled by {@code s[from, to)}, or {@link Tokenizer#NONE}. */
    int get(String s, int from, int to) {
        if (to - from > maxLength) return Tokenizer.NONE;
        int slot = slot(s, from, to);
        return keys[slot] == null ? Tokenizer.NONE : ids[slot];
    }

    int get(String s) {
        return get(s, 0, s.length());
    }

    private int slot(String s, int from, int to) {
        int h = 0;
        for (int i = from; i < to; i++) h = 31 * h + s.charAt(i);
        h *= 0x9E3779B1;
        int i = (h ^ (h >>> 15)) & mask;
        int len = to - from;
        while (keys[i] != null && !(keys[i].length() == len && keys[i].regionMatches(0, s, from, len))) i = (i + 1) & mask;
        return i;
    }
}
