package dev.genset.engine.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Turns generated tokens into text as they arrive. A character split over several tokens (byte
 * tokens of an emoji, say) is held back until its last byte comes, so every returned string is
 * complete UTF-8 text. Each token's text is kept as is, leading space included, as llama.cpp
 * prints a continuation. Not thread-safe: one decoder per generation.
 */
public final class StreamingDecoder {
    private final Tokenizer tokenizer;
    private final boolean renderSpecial;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    StreamingDecoder(Tokenizer tokenizer, boolean renderSpecial) {
        this.tokenizer = tokenizer;
        this.renderSpecial = renderSpecial;
    }

    /** A decoder that also spells out control tokens (such as {@code <|im_end|>}). */
    public StreamingDecoder renderingSpecialTokens() {
        return new StreamingDecoder(tokenizer, true);
    }

    /** Adds a token; returns the text it completes (possibly empty). */
    public String accept(int id) {
        tokenizer.appendPiece(pending, id, renderSpecial);
        byte[] bytes = pending.toByteArray();
        int complete = completePrefix(bytes);
        pending.reset();
        pending.write(bytes, complete, bytes.length - complete);
        return new String(bytes, 0, complete, StandardCharsets.UTF_8);
    }

    /** Whether bytes of an unfinished character are being held back. */
    public boolean hasPending() {
        return pending.size() > 0;
    }

    /** Returns whatever is held back (an unfinished character becomes U+FFFD) and empties the decoder. */
    public String flush() {
        String rest = pending.toString(StandardCharsets.UTF_8);
        pending.reset();
        return rest;
    }

    /** Length of the longest prefix that does not end inside a character that more bytes could still complete. */
    static int completePrefix(byte[] b) {
        int n = b.length;
        // walk back over at most three continuation bytes to the lead byte of the last character
        int i = n - 1;
        while (i >= 0 && n - i <= 3 && (b[i] & 0xC0) == 0x80) i--;
        if (i < 0) return n;
        int lead = b[i] & 0xFF;
        int need = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 ? (lead <= 0xEF ? 3 : 0) : lead >= 0xC2 ? 2 : 0;
        return need > n - i ? i : n;
    }
}
