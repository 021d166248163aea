package dev.genset.engine.tokenizer;

import dev.genset.engine.gguf.GgufFile;

import java.util.List;
import java.util.PriorityQueue;

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

    SentencePieceTokenizer(GgufFile gguf) {
        super(gguf, "llama", new Defaults(1, 2, 0, true, true, false));
        for (int b = 0; b < 256; b++) {
            int id = tokenId(String.format("<0x%02X>", b));
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

    /** A candidate merge of two adjacent symbols; stale once either symbol has changed length. */
    private record Bigram(int left, int right, float score, int length) {}

    /** One text's merge state: symbols as a linked list over the text, merged in place. */
    private final class Session {
        private final String text;
        private final IntList out;
        private final int[] start, length, prev, next;
        private final PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) ->
                a.score != b.score ? Float.compare(b.score, a.score) : Integer.compare(a.left, b.left));

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
                Bigram b = queue.poll();
                if (length[b.left] == 0 || length[b.right] == 0 || length[b.left] + length[b.right] != b.length) continue;
                length[b.left] += length[b.right];
                length[b.right] = 0;
                next[b.left] = next[b.right];
                if (next[b.right] >= 0) prev[next[b.right]] = b.left;
                tryAddBigram(prev[b.left], b.left);
                tryAddBigram(b.left, next[b.left]);
            }
            for (int i = 0; i != -1; i = next[i]) resegment(i);
        }

        private void tryAddBigram(int left, int right) {
            if (left < 0 || right < 0) return;
            String merged = text.substring(start[left], start[left] + length[left] + length[right]);
            int id = tokenId(merged);
            if (id == NONE) return;
            queue.add(new Bigram(left, right, scores[id], merged.length()));
        }

        /** Emits a symbol's token; only unmerged codepoints can lack one (merges always form tokens). */
        private void resegment(int symbol) {
            String s = text.substring(start[symbol], start[symbol] + length[symbol]);
            int id = tokenId(s);
            if (id != NONE) {
                out.add(id);
                return;
            }
            for (byte b : Unicode.utf8(s)) {
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
