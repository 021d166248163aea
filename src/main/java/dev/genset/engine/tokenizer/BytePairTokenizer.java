package dev.genset.engine.tokenizer;

import dev.genset.engine.gguf.GgufFile;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Byte-level BPE tokenizer ({@code tokenizer.ggml.model = "gpt2"}), as llama.cpp's
 * llm_tokenizer_bpe: the pre-tokenizer cuts text into words, each word's UTF-8 bytes become GPT-2's
 * byte symbols, and adjacent symbols are merged by merge rank (lowest first, leftmost on ties).
 */
final class BytePairTokenizer extends Tokenizer {
    private static final System.Logger LOG = System.getLogger(BytePairTokenizer.class.getName());

    private final PreTokenizer pre;
    private final MergeTable merges;

    BytePairTokenizer(GgufFile gguf) {
        String preName = gguf.getString("tokenizer.ggml.pre", null);
        if (preName == null)
            LOG.log(System.Logger.Level.WARNING, "vocabulary has no tokenizer.ggml.pre; using the 'default' pre-tokenizer (generation quality may suffer)");
        PreTokenizer pre = PreTokenizer.forName(preName);
        String[] mergeList = gguf.getStringArray("tokenizer.ggml.merges");
        if (mergeList == null) throw new TokenizerException("cannot find tokenizer merges (tokenizer.ggml.merges) in model file");
        super(gguf, "gpt2", new Defaults(pre.noBos() ? NONE : 11, 11, NONE, pre.defaultAddBos(), false, pre.cleanSpaces()));
        this.pre = pre;
        this.merges = new MergeTable(mergeList, index);
    }

    @Override
    public String preTokenizer() {
        return pre.name();
    }

    /** GPT-2 symbols back to bytes; a character that stands for no byte is written out as llama.cpp does. */
    @Override
    byte[] normalPiece(String text) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(text.length());
        text.codePoints().forEach(cp -> {
            int b = Unicode.charToByte(cp);
            if (b >= 0) {
                out.write(b);
            } else {
                StringBuilder unk = new StringBuilder("[UNK_BYTE_0x");
                for (byte u : Unicode.utf8(Character.toString(cp))) unk.append(String.format("%02x", u & 0xFF));
                out.writeBytes(Unicode.utf8(unk.append(text).append(']').toString()));
            }
        });
        return out.toByteArray();
    }

    @Override
    void encodeFragments(String text, List<Fragment> fragments, IntList out) {
        for (Fragment f : fragments) {
            if (!f.isText()) {
                out.add(f.token());
                continue;
            }
            for (String word : pre.split(text.substring(f.start(), f.end()))) encodeWord(Unicode.utf8(word), out);
        }
    }

    /** A possible merge of two adjacent symbols, valid while both still hold the symbols recorded here. */
    private record Candidate(int rank, int left, int right, int leftSymbol, int rightSymbol) {}

    private static final java.util.Comparator<Candidate> BY_RANK =
            (a, b) -> a.rank != b.rank ? Integer.compare(a.rank, b.rank) : Integer.compare(a.left, b.left);

    private void encodeWord(byte[] word, IntList out) {
        if (pre.ignoreMerges()) {
            int whole = tokenId(bytesToSymbols(word, 0, word.length));
            if (whole != NONE) {
                out.add(whole);
                return;
            }
        }
        int n = word.length;
        int[] symbol = new int[n], length = new int[n], prev = new int[n], next = new int[n];
        for (int i = 0; i < n; i++) {
            symbol[i] = merges.byteSymbol[word[i] & 0xFF];
            length[i] = 1;
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<Candidate> queue = new PriorityQueue<>(Math.max(1, n), BY_RANK);
        for (int i = 1; i < n; i++) addCandidate(queue, symbol, i - 1, i);
        while (!queue.isEmpty()) {
            Candidate c = queue.poll();
            int l = c.left, r = c.right;
            if (length[l] == 0 || length[r] == 0 || symbol[l] != c.leftSymbol || symbol[r] != c.rightSymbol) continue;
            symbol[l] = merges.result[c.rank];
            length[l] += length[r];
            length[r] = 0;
            next[l] = next[r];
            if (next[r] >= 0) prev[next[r]] = l;
            if (prev[l] >= 0) addCandidate(queue, symbol, prev[l], l);
            if (next[l] >= 0) addCandidate(queue, symbol, l, next[l]);
        }
        for (int i = 0; i >= 0 && n > 0; i = next[i]) {
            int token = symbol[i] >= 0 ? merges.token[symbol[i]] : tokenId(bytesToSymbols(word, i, i + length[i]));
            if (token != NONE) {
                out.add(token);
                continue;
            }
            // No token for the symbol: llama.cpp looks up each byte of its text alone, which only ASCII symbols can match.
            for (int k = i; k < i + length[i]; k++) {
                char c = Unicode.BYTE_TO_CHAR[word[k] & 0xFF];
                int single = c < 0x80 ? tokenId(String.valueOf(c)) : NONE;
                if (single != NONE) out.add(single);
            }
        }
    }

    private void addCandidate(PriorityQueue<Candidate> queue, int[] symbol, int left, int right) {
        int rank = merges.rank(symbol[left], symbol[right]);
        if (rank >= 0) queue.add(new Candidate(rank, left, right, symbol[left], symbol[right]));
    }

    private static String bytesToSymbols(byte[] word, int from, int to) {
        char[] c = new char[to - from];
        for (int i = from; i < to; i++) c[i - from] = Unicode.BYTE_TO_CHAR[word[i] & 0xFF];
        return new String(c);
    }

    /**
     * The merges, built once per vocabulary: every string that occurs in a merge gets a symbol
     * number, and pairs of symbol numbers map to the merge's rank (its position in the list; the
     * first occurrence wins) and the symbol it produces.
     */
    private static final class MergeTable {
        final int[] byteSymbol = new int[256];
        final int[] result;
        final int[] token;
        private final long[] keys;
        private final int[] ranks;
        private final int mask;

        MergeTable(String[] mergeList, TokenIndex index) {
            Map<String, Integer> symbols = new HashMap<>();
            java.util.List<String> symbolTexts = new java.util.ArrayList<>();
            java.util.function.Function<String, Integer> intern = s -> symbols.computeIfAbsent(s, k -> {
                symbolTexts.add(k);
                return symbolTexts.size() - 1;
            });
            int capacity = Integer.highestOneBit(Math.max(4, mergeList.length * 2)) * 2;
            keys = new long[capacity];
            Arrays.fill(keys, -1L);
            ranks = new int[capacity];
            mask = capacity - 1;
            result = new int[mergeList.length];
            Arrays.fill(result, -1);
            for (int rank = 0; rank < mergeList.length; rank++) {
                String m = mergeList[rank];
                int space = m.indexOf(' ', 1);
                if (space < 0) continue;
                String left = m.substring(0, space), right = m.substring(space + 1);
                int l = intern.apply(left), r = intern.apply(right);
                long key = pairKey(l, r);
                int slot = slot(key);
                if (keys[slot] == key) continue; // a repeated pair keeps its first rank
                keys[slot] = key;
                ranks[slot] = rank;
                result[rank] = intern.apply(left + right);
            }
            token = new int[symbolTexts.size()];
            for (int i = 0; i < token.length; i++) token[i] = index.get(symbolTexts.get(i));
            for (int b = 0; b < 256; b++) byteSymbol[b] = symbols.getOrDefault(String.valueOf(Unicode.BYTE_TO_CHAR[b]), -1);
        }

        private static long pairKey(int left, int right) {
            return ((long) left << 32) | (right & 0xFFFFFFFFL);
        }

        /** The slot holding {@code key}, or the empty slot where it belongs (linear probing). */
        private int slot(long key) {
            int h = (int) (key ^ (key >>> 29) ^ (key >>> 47)) * 0x9E3779B1;
            int i = (h ^ (h >>> 16)) & mask;
            while (keys[i] != -1L && keys[i] != key) i = (i + 1) & mask;
            return i;
        }

        /** Rank of merging the two symbols, or -1. */
        int rank(int left, int right) {
            if (left < 0 || right < 0) return -1;
            long key = pairKey(left, right);
            int slot = slot(key);
            return keys[slot] == key ? ranks[slot] : -1;
        }
    }
}
