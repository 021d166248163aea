package dev.genset.engine.tokenizer;

import dev.genset.engine.gguf.GgufFile;

import java.util.List;

/**
 * SentencePiece-style tokenizer ({@code tokenizer.ggml.model = "llama"}), as llama.cpp's
 * llm_tokenizer_spm: spaces become ▁ (with one put before the text), the text starts as one
 * symbol per codepoint, and adjacent symbols whose concatenation is a token are merged, highest
 * token score first; symbols that are no token fall back to their bytes' {@code <0xNN>} tokens.
 */
final class SentencePieceTokenizer extends Tokenizer {
    private static final char SPACE_MARK = '\u2581';

    /** Token of each byte value ({@code <0xNN>}, or the one-character token), or NONE. */
    private final int[] byteTokens = new int[256];

    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    SentencePieceTokenizer(GgufFile gguf) {
        super(gguf, "llama", new Defaults(1, 2, 0, true, true, false));
        for (int b = 0; b < 256; b++) {
            int id = tokenId(new String(new char[] {'<', '0', 'x', HEX[b >> 4], HEX[b & 15], '>'}));
            byteTokens[b] = id != NONE || b >= 0x80 ? id : tokenId(String.valueOf((char) b));
        }
    }

    @Override
    public String preTokenizer() {
        return "default";
    }

    @Override
    byte[] normalPiece(String text) {
        return Unicode.utf8(text.replace(SPACE_MARK, ' '));
    }

    @Override
    void encodeFragments(String text, List<Fragment> fragments, IntList out) {
        boolean afterSpecial = true; // the text start counts as following a special token
        for (Fragment f : fragments) {
            if (f.isText()) {
                String piece = text.substring(f.start(), f.end());
                if (addSpacePrefix() && afterSpecial) piece = " " + piece;
                new Session(piece.replace(' ', SPACE_MARK), out).run();
                afterSpecial = false;
            } else {
                out.add(f.token());
                afterSpecial = true;
            }
        }
    }

    /**
     * Heap key of a candidate merge: highest token score first, then leftmost. Float bits are made
     * to order like the floats, then inverted so that a min-heap pops the highest score.
     */
    private static long bigramKey(float score, int left) {
        int bits = Float.floatToIntBits(score + 0.0f); // -0.0 ties with 0.0, as in a float comparison
        bits ^= (bits >> 31) & 0x7FFFFFFF;
        return ((long) ~bits << 32) | left;
    }

    /** One text's merge state: symbols as a linked list over the text, merged in place. */
    private final class Session {
        private final String text;
        private final IntList out;
        private final int[] start, length, prev, next;
        /** Candidate merges: key from {@link #bigramKey}, value = right symbol and merged length (stale once either symbol changed). */
        private final LongHeap queue = new LongHeap();

        Session(String text, IntList out) {
            this.text = text;
            this.out = out;
            int count = text.codePointCount(0, text.length());
            start = new int[count];
            length = new int[count];
            prev = new int[count];
            next = new int[count];
            for (int i = 0, pos = 0; i < count; i++) {
                start[i] = pos;
                length[i] = Character.charCount(text.codePointAt(pos));
                pos += length[i];
                prev[i] = i - 1;
                next[i] = i + 1 < count ? i + 1 : -1;
            }
        }

        void run() {
            if (start.length == 0) return;
            for (int i = 1; i < start.length; i++) tryAddBigram(i - 1, i);
            while (!queue.isEmpty()) {
                int left = (int) queue.minKey();
                int right = (int) (queue.minValue() >>> 32);
                int mergedLength = (int) queue.minValue();
                queue.removeMin();
                if (length[left] == 0 || length[right] == 0 || length[left] + length[right] != mergedLength) continue;
                length[left] += length[right];
                length[right] = 0;
                next[left] = next[right];
                if (next[right] >= 0) prev[next[right]] = left;
                tryAddBigram(prev[left], left);
                tryAddBigram(left, next[left]);
            }
            for (int i = 0; i != -1; i = next[i]) resegment(i);
        }

        private void tryAddBigram(int left, int right) {
            if (left < 0 || right < 0) return;
            int mergedLength = length[left] + length[right];
            int id = index.get(text, start[left], start[left] + mergedLength);
            if (id == NONE) return;
            queue.add(bigramKey(scores[id], left), ((long) right << 32) | mergedLength);
        }

        /** Emits a symbol's token; only unmerged codepoints can lack one (merges always form tokens). */
        private void resegment(int symbol) {
            int id = index.get(text, start[symbol], start[symbol] + length[symbol]);
            if (id != NONE) {
                out.add(id);
                return;
            }
            for (byte b : Unicode.utf8(text.substring(start[symbol], start[symbol] + length[symbol]))) {
                int byteToken = byteTokens[b & 0xFF];
                if (byteToken == NONE) {
                    if (unknown() == NONE) throw new TokenizerException(String.format("the vocabulary has no token for byte 0x%02X", b & 0xFF));
                    byteToken = unknown();
                }
                out.add(byteToken);
            }
        }
    }
}
