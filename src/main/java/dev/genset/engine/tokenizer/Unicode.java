package dev.genset.engine.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * Codepoint classes as llama.cpp's pre-tokenizers see them, and GPT-2's byte-to-unicode table.
 *
 * <p>Categories come from the JDK's Unicode tables (one category per codepoint, like UnicodeData);
 * whitespace is the explicit set llama.cpp uses, which differs from both Java's and Python's
 * {@code \s} (it has U+0085 and U+00A0, but not U+001C..U+001F).
 */
final class Unicode {
    private Unicode() {}

    static final int NUMBER = 1, LETTER = 2, MARK = 4, PUNCTUATION = 8, SYMBOL = 16, SEPARATOR = 32, CONTROL = 64, UNDEFINED = 128;
    static final int WHITESPACE = 256;

    private static final int[] WHITESPACE_CODEPOINTS = {
            0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680,
            0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
            0x2028, 0x2029, 0x202F, 0x205F, 0x3000};

    /** Flags of the Basic Multilingual Plane, precomputed; the rest is computed on demand. */
    private static final short[] BMP_FLAGS = new short[0x10000];

    static {
        for (int cp = 0; cp < 0x10000; cp++) BMP_FLAGS[cp] = (short) computeFlags(cp);
    }

    static int flags(int cp) {
        return cp >= 0 && cp < 0x10000 ? BMP_FLAGS[cp] : computeFlags(cp);
    }

    private static int computeFlags(int cp) {
        if (cp < 0 || cp > Character.MAX_CODE_POINT) return UNDEFINED;
        int f = switch (Character.getType(cp)) {
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> NUMBER;
            case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
                 Character.MODIFIER_LETTER, Character.OTHER_LETTER -> LETTER;
            case Character.NON_SPACING_MARK, Character.ENCLOSING_MARK, Character.COMBINING_SPACING_MARK -> MARK;
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                 Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                 Character.OTHER_PUNCTUATION -> PUNCTUATION;
            case Character.MATH_SYMBOL, Character.CURRENCY_SYMBOL, Character.MODIFIER_SYMBOL, Character.OTHER_SYMBOL -> SYMBOL;
            case Character.SPACE_SEPARATOR, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR -> SEPARATOR;
            case Character.CONTROL, Character.FORMAT, Character.PRIVATE_USE, Character.SURROGATE -> CONTROL;
            default -> UNDEFINED;
        };
        for (int w : WHITESPACE_CODEPOINTS) if (w == cp) f |= WHITESPACE;
        return f;
    }

    static boolean isLetter(int cp) { return (flags(cp) & LETTER) != 0; }
    static boolean isNumber(int cp) { return (flags(cp) & NUMBER) != 0; }
    static boolean isWhitespace(int cp) { return (flags(cp) & WHITESPACE) != 0; }
    static boolean isMark(int cp) { return (flags(cp) & MARK) != 0; }

    /** C's isspace in the "C" locale, which llama.cpp uses to strip around special tokens. */
    static boolean isAsciiSpace(char c) {
        return c == ' ' || (c >= '\t' && c <= '\r');
    }

    // ---- GPT-2 byte-level encoding --------------------------------------------------------------

    /** Byte value to the printable character GPT-2 writes for it. */
    static final char[] BYTE_TO_CHAR = new char[256];
    /** Inverse of {@link #BYTE_TO_CHAR}; -1 for characters that stand for no byte. */
    private static final short[] CHAR_TO_BYTE = new short[512];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, (short) -1);
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) next++;
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = (short) b;
        }
    }

    /** The byte a GPT-2 symbol character stands for, or -1. */
    static int charToByte(int cp) {
        return cp >= 0 && cp < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[cp] : -1;
    }

    /** Maps a string's UTF-8 bytes to GPT-2 symbol characters (one char per byte). */
    static String byteEncode(String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        char[] out = new char[utf8.length];
        for (int i = 0; i < utf8.length; i++) out[i] = BYTE_TO_CHAR[utf8[i] & 0xFF];
        return new String(out);
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
