package dev.genset.engine.generate;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Collects the bytes of generated tokens and hands back only whole UTF-8 characters, holding a
 * multi-byte character split across tokens (byte-fallback pieces, emoji) until it is complete.
 */
public final class Utf8Accumulator {
    private byte[] pending = new byte[16];
    private int length;

    /** Appends bytes and returns the text of every complete character now available. */
    public String append(byte[] bytes) {
        if (length + bytes.length > pending.length) pending = Arrays.copyOf(pending, Math.max(pending.length * 2, length + bytes.length));
        System.arraycopy(bytes, 0, pending, length, bytes.length);
        length += bytes.length;
        int complete = completePrefix(pending, length);
        String text = new String(pending, 0, complete, StandardCharsets.UTF_8);
        System.arraycopy(pending, complete, pending, 0, length - complete);
        length -= complete;
        return text;
    }

    /** Whatever is still held, decoded with replacement characters (at the end of generation). */
    public String flush() {
        String text = new String(pending, 0, length, StandardCharsets.UTF_8);
        length = 0;
        return text;
    }

    /** Length of the longest prefix that does not end inside an unfinished (but so far valid) sequence. */
    static int completePrefix(byte[] b, int len) {
        // Look back at most 3 bytes for the start of a multi-byte sequence.
        for (int back = 1; back <= Math.min(3, len); back++) {
            int c = b[len - back] & 0xFF;
            if ((c & 0xC0) == 0x80) continue; // continuation byte: keep looking for the lead byte
            int need = c >= 0xF0 && c < 0xF8 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
            return need > back ? len - back : len;
        }
        return len;
    }
}
