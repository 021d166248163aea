package dev.genset.engine.grammar;

/**
 * UTF-8 read one byte at a time, for matching text by code point when it comes in tokens that may
 * end inside a character. The state between bytes is one int: {@link #NONE} between characters,
 * else the first bytes' bits, how many bytes are still to come and the character's length.
 * {@link #read} gives the next state, a whole character ({@link #isCharacter}), or {@link #INVALID}
 * for bytes that are no UTF-8 (a stray continuation byte, an overlong form, past Unicode).
 */
public final class Utf8 {
    private Utf8() {}

    public static final int NONE = 0, INVALID = -1;
    private static final int CHARACTER = 1 << 30, BITS = (1 << 21) - 1;
    /** The least code point a character of each length encodes (shorter forms are overlong). */
    private static final int[] MIN = {0, 0, 0x80, 0x800, 0x10000};

    /** The state after {@code state} and byte {@code b}: a partial character, a whole one, or {@link #INVALID}. */
    public static int read(int state, int b) {
        int left = state >>> 21 & 7;
        if (left == 0) {
            if (b < 0x80) return CHARACTER | b;
            int length, bits;
            if ((b & 0xE0) == 0xC0) { bits = b & 0x1F; length = 2; }
            else if ((b & 0xF0) == 0xE0) { bits = b & 0x0F; length = 3; }
            else if ((b & 0xF8) == 0xF0) { bits = b & 0x07; length = 4; }
            else return INVALID;
            return partial(bits, length - 1, length);
        }
        if ((b & 0xC0) != 0x80) return INVALID;
        int bits = (state & BITS) << 6 | b & 0x3F, length = state >>> 24 & 7;
        if (--left > 0) return partial(bits, left, length);
        return bits < MIN[length] || bits > Character.MAX_CODE_POINT ? INVALID : CHARACTER | bits;
    }

    private static int partial(int bits, int left, int length) {
        int state = bits | left << 21 | length << 24;
        return lowest(state) <= highest(state) ? state : INVALID;
    }

    /** Whether {@link #read} gave a whole character (the state after it is {@link #NONE}). */
    public static boolean isCharacter(int r) {
        return r != INVALID && (r & CHARACTER) != 0;
    }

    /** The code point of a whole character {@link #read} gave. */
    public static int codePoint(int r) {
        return r & BITS;
    }

    /** The least code point a partial character can still become. */
    public static int lowest(int state) {
        int left = state >>> 21 & 7;
        return Math.max((state & BITS) << 6 * left, MIN[state >>> 24 & 7]);
    }

    /** The greatest code point a partial character can still become. */
    public static int highest(int state) {
        int left = state >>> 21 & 7;
        return Math.min((state & BITS) << 6 * left | (1 << 6 * left) - 1, Character.MAX_CODE_POINT);
    }
}
