package dev.genset.engine.tokenizer;

import dev.genset.engine.gguf.GgufFile;

import java.io.ByteArrayOutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A model's tokenizer, read from its GGUF vocabulary, giving the same token ids as llama.cpp.
 *
 * <p>Two kinds: {@code tokenizer.ggml.model = "llama"} (SentencePiece with scored merges and byte
 * fallback) and {@code "gpt2"} (byte-level BPE with ranked merges and a named pre-tokenizer).
 * Instances are immutable and safe to share between threads; all tables are built once, here,
 * except each token's bytes, made on first use (see {@link #pieceOf}).
 */
public abstract sealed class Tokenizer permits SentencePieceTokenizer, BytePairTokenizer {

    /** No token (llama.cpp's LLAMA_TOKEN_NULL). */
    public static final int NONE = -1;

    // Token attributes, as llama.cpp keeps them: GGUF token types become flags, and loading adds some.
    static final int UNKNOWN = 1, UNUSED = 2, NORMAL = 4, CONTROL = 8, USER_DEFINED = 16, BYTE = 32, LSTRIP = 128, RSTRIP = 256;

    private final String model;
    final String[] texts;
    final float[] scores;
    final int[] attrs;
    final TokenIndex index;
    private final int bos, eos, eot, eom, unknown, separator, padding;
    private final boolean addBos, addEos, addSpacePrefix, cleanSpaces;
    private final BitSet endOfGeneration = new BitSet();
    /** Ids of control, user-defined and unknown tokens, longest text first: the order of special-token splitting. */
    private final int[] specialIds;
    /** Each token's bytes (as rendered when special tokens are), filled in on first use; read and written through {@link #PIECE}. */
    private final byte[][] pieces;
    private static final VarHandle PIECE = MethodHandles.arrayElementVarHandle(byte[][].class);

    Tokenizer(GgufFile gguf, String model, Defaults defaults) {
        this.model = model;
        String[] tokens = gguf.getStringArray("tokenizer.ggml.tokens");
        if (tokens == null) throw new TokenizerException("cannot find tokenizer vocab (tokenizer.ggml.tokens) in model file");
        int n = tokens.length;
        float[] sc = gguf.getFloatArray("tokenizer.ggml.scores");
        if (sc != null && sc.length < n) throw new TokenizerException("tokenizer.ggml.scores has " + sc.length + " entries for " + n + " tokens");
        int[] types = gguf.getIntArray("tokenizer.ggml.token_type");
        if (types != null && types.length < n) throw new TokenizerException("tokenizer.ggml.token_type has " + types.length + " entries for " + n + " tokens");

        texts = new String[n];
        scores = new float[n];
        attrs = new int[n];
        for (int i = 0; i < n; i++) {
            String text = tokens[i].isEmpty() ? "[EMPTY_" + i + "]" : tokens[i];
            texts[i] = text;
            scores[i] = sc == null ? 0f : sc[i];
            attrs[i] = types == null ? NORMAL : switch (types[i]) {
                case 1 -> NORMAL;
                case 2 -> UNKNOWN;
                case 3 -> CONTROL;
                case 4 -> USER_DEFINED;
                case 5 -> UNUSED;
                case 6 -> BYTE;
                default -> 0; // undefined
            };
        }
        index = new TokenIndex(texts);

        addSpacePrefix = gguf.getBoolean("tokenizer.ggml.add_space_prefix", defaults.addSpacePrefix);
        int bosId = specialId(gguf, "bos_token_id", defaults.bos, n);
        int eosId = specialId(gguf, "eos_token_id", defaults.eos, n);
        int eotId = specialId(gguf, "eot_token_id", NONE, n);
        int eomId = specialId(gguf, "eom_token_id", NONE, n);
        unknown = specialId(gguf, "unknown_token_id", defaults.unknown, n);
        separator = specialId(gguf, "seperator_token_id", NONE, n);
        padding = specialId(gguf, "padding_token_id", NONE, n);
        int fimPre = specialId(gguf, "prefix_token_id", specialId(gguf, "fim_pre_token_id", NONE, n), n);
        int fimSuf = specialId(gguf, "suffix_token_id", specialId(gguf, "fim_suf_token_id", NONE, n), n);
        int fimMid = specialId(gguf, "middle_token_id", specialId(gguf, "fim_mid_token_id", NONE, n), n);
        int fimPad = specialId(gguf, "fim_pad_token_id", NONE, n);
        int fimRep = specialId(gguf, "fim_rep_token_id", NONE, n);
        int fimSep = specialId(gguf, "fim_sep_token_id", NONE, n);
        addBos = gguf.getBoolean("tokenizer.ggml.add_bos_token", defaults.addBos);
        addEos = gguf.getBoolean("tokenizer.ggml.add_eos_token", false);
        cleanSpaces = defaults.cleanSpaces;

        // Special tokens that older converters did not mark are found by their text; they become control tokens.
        // Only a few dozen texts matter below; one set lookup per token finds them (checking every
        // token against every list took a cold JVM tens of milliseconds on a 32,000-token vocabulary).
        IntList named = new IntList(16);
        for (int id = 0; id < n; id++) if (NAMED_TEXTS.contains(texts[id])) named.add(id);
        for (int i = 0; i < named.size(); i++) {
            int id = named.get(i);
            String t = texts[id];
            if (eotId == NONE && EOT_TEXTS.contains(t)) eotId = markControl(id);
            if (eomId == NONE && t.equals("<|eom_id|>")) eomId = markControl(id);
            if (fimPre == NONE && FIM_PRE_TEXTS.contains(t)) fimPre = markControl(id);
            if (fimSuf == NONE && FIM_SUF_TEXTS.contains(t)) fimSuf = markControl(id);
            if (fimMid == NONE && FIM_MID_TEXTS.contains(t)) fimMid = markControl(id);
            if (fimPad == NONE && FIM_PAD_TEXTS.contains(t)) fimPad = markControl(id);
            if (fimRep == NONE && FIM_REP_TEXTS.contains(t)) fimRep = markControl(id);
            if (fimSep == NONE && t.equals("<|file_sep|>")) fimSep = markControl(id);
        }
        for (int id = 0; id < n; id++)
            if ((attrs[id] & CONTROL) != 0 && texts[id].contains("unused")) attrs[id] |= UNUSED;

        for (int id : new int[]{fimPad, fimRep, fimSep}) if (id != NONE) endOfGeneration.set(id);
        for (int i = 0; i < named.size(); i++) {
            int id = named.get(i);
            if (EOG_TEXTS.contains(texts[id])) {
                endOfGeneration.set(id);
                attrs[id] |= CONTROL;
            }
        }
        for (int i = 0; i < named.size(); i++) {
            int id = named.get(i);
            if (GPT_OSS_RENDERED.contains(texts[id])) attrs[id] = USER_DEFINED;
        }
        for (int id : new int[]{eosId, eotId, eomId}) if (id != NONE) endOfGeneration.set(id);
        // Harmony-style vocabularies end a turn with <|end|> but keep generating after it.
        boolean hasReturn = false, hasCall = false, hasFlush = false, hasToolResponse = false;
        int endId = NONE, closeId = NONE;
        for (int id = endOfGeneration.nextSetBit(0); id >= 0; id = endOfGeneration.nextSetBit(id + 1)) {
            switch (texts[id]) {
                case "<|return|>" -> hasReturn = true;
                case "<|call|>", "<|calls|>" -> hasCall = true;
                case "<|flush|>" -> hasFlush = true;
                case "<|end|>" -> endId = id;
                case "<|tool_response>" -> hasToolResponse = true;
                case "</s>" -> closeId = id;
                default -> { }
            }
        }
        if (endId != NONE && hasCall && (hasReturn || hasFlush)) {
            endOfGeneration.clear(endId);
            attrs[endId] = USER_DEFINED;
        }
        if (hasToolResponse && closeId != NONE) {
            endOfGeneration.clear(closeId);
            attrs[closeId] = NORMAL;
        }
        bos = bosId;
        eos = eosId;
        eot = eotId;
        eom = eomId;

        specialIds = longestFirst(texts, attrs, CONTROL | USER_DEFINED | UNKNOWN);

        pieces = new byte[n][];

        applyModelQuirks(gguf);
    }

    /** Per-type defaults llama.cpp applies before reading the file's keys. */
    record Defaults(int bos, int eos, int unknown, boolean addBos, boolean addSpacePrefix, boolean cleanSpaces) {}

    private static int specialId(GgufFile gguf, String key, int dflt, int n) {
        if (dflt >= n) dflt = NONE;
        String fullKey = "tokenizer.ggml." + key;
        if (!gguf.has(fullKey)) return dflt;
        long v = gguf.getLong(fullKey, dflt) & 0xFFFFFFFFL; // stored as uint32; 0xFFFFFFFF means none
        return v < n ? (int) v : dflt;
    }

    /**
     * The ids whose attributes have any of {@code mask}, longest UTF-8 text first, then by id: each
     * sorted as one long (length descending in the high half, id in the low). Plain code rather than
     * a sorted stream, whose lambdas cost a cold JVM more than the sort.
     */
    private static int[] longestFirst(String[] texts, int[] attrs, int mask) {
        int count = 0;
        for (int attr : attrs) if ((attr & mask) != 0) count++;
        long[] keys = new long[count];
        for (int id = 0, k = 0; id < attrs.length; id++)
            if ((attrs[id] & mask) != 0) keys[k++] = (long) (Integer.MAX_VALUE - Unicode.utf8(texts[id]).length) << 32 | id;
        Arrays.sort(keys);
        int[] ids = new int[count];
        for (int k = 0; k < count; k++) ids[k] = (int) keys[k];
        return ids;
    }

    private int markControl(int id) {
        attrs[id] |= CONTROL;
        return id;
    }

    private static final List<String> EOT_TEXTS = List.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
            "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>");
    private static final List<String> FIM_PRE_TEXTS = List.of("<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>");
    private static final List<String> FIM_SUF_TEXTS = List.of("<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>");
    private static final List<String> FIM_MID_TEXTS = List.of("<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>");
    private static final List<String> FIM_PAD_TEXTS = List.of("<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]");
    private static final List<String> FIM_REP_TEXTS = List.of("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>");
    private static final List<String> EOG_TEXTS = List.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
            "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>",
            "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[");
    private static final List<String> GPT_OSS_RENDERED = List.of("<|channel|>", "<|message|>", "<|start|>", "<|constrain|>");
    /** Every text the lists above name. */
    private static final Set<String> NAMED_TEXTS = namedTexts();

    private static Set<String> namedTexts() {
        Set<String> all = new HashSet<>(List.of("<|eom_id|>", "<|file_sep|>"));
        for (List<String> texts : List.of(EOT_TEXTS, FIM_PRE_TEXTS, FIM_SUF_TEXTS, FIM_MID_TEXTS, FIM_PAD_TEXTS, FIM_REP_TEXTS, EOG_TEXTS, GPT_OSS_RENDERED))
            all.addAll(texts);
        return Set.copyOf(all);
    }

    /** Whitespace stripping around some special tokens, which llama.cpp sets by model name. */
    private void applyModelQuirks(GgufFile gguf) {
        String name = gguf.getString("general.name", "").toLowerCase(Locale.ROOT);
        String pre = gguf.getString("tokenizer.ggml.pre", "");
        String arch = gguf.getString("general.architecture", "");
        if (pre.contains("jina-v2-de") || pre.contains("jina-v2-es") || pre.contains("jina-v2-code")
                || arch.contains("nomic-bert-moe") || arch.contains("jina-bert-v3")) {
            setAttr("<mask>", LSTRIP, true);
        } else if (name.contains("phi-3") || name.contains("phi3")) {
            for (int id : specialIds) attrs[id] |= RSTRIP;
            setAttr("</s>", RSTRIP, true);
            for (String t : List.of("<unk>", "<s>", "<|endoftext|>")) setAttr(t, RSTRIP, false);
        } else if (name.contains("modern-bert")) {
            setAttr("[MASK]", LSTRIP, true);
        }
    }

    private void setAttr(String text, int attr, boolean on) {
        int id = index.get(text);
        if (id != NONE) attrs[id] = on ? attrs[id] | attr : attrs[id] & ~attr;
    }

    /** Reads the tokenizer of a GGUF file. */
    public static Tokenizer fromGguf(GgufFile gguf) {
        String model = gguf.getString("tokenizer.ggml.model", null);
        if (model == null) throw new TokenizerException("no tokenizer in this file (tokenizer.ggml.model is missing)");
        return switch (model) {
            case "llama" -> new SentencePieceTokenizer(gguf);
            case "gpt2" -> new BytePairTokenizer(gguf);
            default -> throw new TokenizerException("unsupported tokenizer model '" + model + "'");
        };
    }

    // ---- encoding ------------------------------------------------------------------------------

    /**
     * Token ids for {@code text}. {@code addSpecial} adds BOS and EOS as the vocabulary asks
     * ({@link #addBos()}, {@link #addEos()}); {@code parseSpecial} turns the texts of control
     * tokens (such as {@code <|im_start|>} or {@code <s>}) into those tokens instead of spelling
     * them out. User-defined tokens are always matched whole, as in llama.cpp.
     */
    public final int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        IntList out = new IntList(Math.max(16, text.length() / 3));
        if (addSpecial && addBos) {
            if (bos == NONE) throw new TokenizerException("the vocabulary asks for a BOS token but has none");
            out.add(bos);
        }
        encodeFragments(text, partition(text, parseSpecial), out);
        if (addSpecial && addEos) {
            if (eos == NONE) throw new TokenizerException("the vocabulary asks for an EOS token but has none");
            out.add(eos);
        }
        return out.toArray();
    }

    /** A piece of the input: a special token ({@code token >= 0}) or the text [start, end). */
    record Fragment(int token, int start, int end) {
        boolean isText() { return token < 0; }
    }

    /** Tokenizes the fragments in order, appending to {@code out}. */
    abstract void encodeFragments(String text, List<Fragment> fragments, IntList out);

    /** Splits out special-token texts, longest token first, as llama.cpp's tokenizer_st_partition. */
    private List<Fragment> partition(String text, boolean parseSpecial) {
        List<Fragment> fragments = new ArrayList<>();
        if (text.isEmpty()) return fragments;
        fragments.add(new Fragment(NONE, 0, text.length()));
        for (int id : specialIds) {
            if (!parseSpecial && (attrs[id] & (CONTROL | UNKNOWN)) != 0) continue;
            String special = texts[id];
            List<Fragment> next = null;
            for (int f = 0; f < fragments.size(); f++) {
                Fragment fragment = fragments.get(f);
                int at = fragment.isText() ? text.indexOf(special, fragment.start, fragment.end) : -1;
                if (at < 0) {
                    if (next != null) next.add(fragment);
                    continue;
                }
                if (next == null) next = new ArrayList<>(fragments.subList(0, f));
                int from = fragment.start, end = fragment.end;
                while (at >= 0) {
                    int leftEnd = at;
                    if ((attrs[id] & LSTRIP) != 0) while (leftEnd > from && Unicode.isAsciiSpace(text.charAt(leftEnd - 1))) leftEnd--;
                    if (leftEnd > from) next.add(new Fragment(NONE, from, leftEnd));
                    next.add(new Fragment(id, at, at + special.length()));
                    from = at + special.length();
                    if ((attrs[id] & RSTRIP) != 0) while (from < end && Unicode.isAsciiSpace(text.charAt(from))) from++;
                    at = from < end ? text.indexOf(special, from, end) : -1;
                }
                if (from < end) next.add(new Fragment(NONE, from, end));
            }
            if (next != null) fragments = next;
        }
        return fragments;
    }

    // ---- decoding ------------------------------------------------------------------------------

    /** The bytes a token stands for, with control and unknown tokens rendered as nothing. */
    public final byte[] tokenBytes(int id) {
        return tokenBytes(id, false);
    }

    /** The bytes a token stands for; {@code renderSpecial} spells out control and unknown tokens. */
    public final byte[] tokenBytes(int id, boolean renderSpecial) {
        checkId(id);
        if (!renderSpecial && (attrs[id] & (UNKNOWN | CONTROL)) != 0) return EMPTY;
        return pieceOf(id).clone();
    }

    int pieceLength(int id, boolean renderSpecial) {
        return !renderSpecial && (attrs[id] & (UNKNOWN | CONTROL)) != 0 ? 0 : pieceOf(id).length;
    }

    void appendPiece(ByteArrayOutputStream out, int id, boolean renderSpecial) {
        checkId(id);
        if (renderSpecial || (attrs[id] & (UNKNOWN | CONTROL)) == 0) {
            byte[] piece = pieceOf(id);
            out.write(piece, 0, piece.length);
        }
    }

    private static final byte[] EMPTY = new byte[0];

    /** The bytes of a token for the piece cache (special tokens spelled out); type-specific for normal tokens. */
    /**
     * Token {@code id}'s bytes, made the first time they are asked for: a model's first token needs
     * a handful of a vocabulary's tens of thousands, and making them all took a cold JVM about 50 ms.
     * Two threads may both make one; they make the same bytes, and release/acquire publishes them whole.
     */
    private byte[] pieceOf(int id) {
        byte[] piece = (byte[]) PIECE.getAcquire(pieces, id);
        if (piece == null) {
            piece = piece(id);
            PIECE.setRelease(pieces, id, piece);
        }
        return piece;
    }

    private byte[] piece(int id) {
        int attr = attrs[id];
        if ((attr & (UNKNOWN | CONTROL | USER_DEFINED)) != 0) return Unicode.utf8(texts[id]);
        if ((attr & NORMAL) != 0) return normalPiece(texts[id]);
        if ((attr & BYTE) != 0) return byteOf(texts[id]);
        return EMPTY;
    }

    /** The byte of a {@code <0xNN>} token; nothing for a byte-type token spelled otherwise. */
    private static byte[] byteOf(String text) {
        if (text.length() != 6 || !text.startsWith("<0x") || text.charAt(5) != '>') return EMPTY;
        try {
            return new byte[]{(byte) Integer.parseInt(text.substring(3, 5), 16)};
        } catch (NumberFormatException e) {
            return EMPTY;
        }
    }

    /** The bytes of a normal token's text. */
    abstract byte[] normalPiece(String text);

    /**
     * The text of a continuation: every token's bytes in order, control tokens omitted, nothing
     * stripped (a leading space stays). Invalid UTF-8 becomes U+FFFD.
     */
    public final String decode(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) appendPiece(out, id, false);
        return out.toString(StandardCharsets.UTF_8);
    }

    /**
     * llama.cpp's detokenize: drops BOS (and a final EOS) when {@code removeSpecial} and the
     * vocabulary adds them, strips the space SentencePiece put before the first word, renders
     * control tokens only when {@code renderSpecial}, and for vocabularies that ask for it undoes
     * the tokenizer's spacing around punctuation ({@code " ,"} to {@code ","} and the like). Inverts
     * {@link #encode} for text without such spacing.
     */
    public final String detokenize(int[] ids, boolean removeSpecial, boolean renderSpecial) {
        int from = 0, to = ids.length;
        boolean stripSpace = addSpacePrefix;
        if (removeSpecial && addBos && to > 0 && ids[0] == bos) {
            stripSpace = false;
            from++;
        }
        if (removeSpecial && addEos && to > from && ids[to - 1] == eos) to--;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = from; i < to; i++) {
            checkId(ids[i]);
            if (stripSpace && pieceLength(ids[i], renderSpecial) > 0 && pieceOf(ids[i])[0] == ' ') {
                out.write(pieceOf(ids[i]), 1, pieceOf(ids[i]).length - 1);
            } else {
                appendPiece(out, ids[i], renderSpecial);
            }
            stripSpace = false;
        }
        byte[] bytes = out.toByteArray();
        if (cleanSpaces) bytes = cleanUpSpaces(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** Hugging Face's clean_up_tokenization_spaces, in llama.cpp's three passes over the bytes. */
    private static byte[] cleanUpSpaces(byte[] t) {
        int n = t.length;
        // " ?", " !", " .", " ," lose the space
        int w = n > 0 ? 1 : 0;
        for (int i = 1; i < n; i++) {
            byte x = t[i];
            if (t[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) w--;
            t[w++] = x;
        }
        n = w;
        // " ' " becomes "'"
        w = n > 0 ? 1 : 0;
        for (int i = 1; i < n; i++) {
            byte x = t[i];
            if (x == '\'' && i + 1 < n && t[i - 1] == ' ' && t[i + 1] == ' ') {
                w--;
                t[++i] = 0;
            }
            t[w++] = x;
        }
        n = w;
        // " 's", " 'm", " 're", " 've" lose the space
        w = n > 0 ? 1 : 0;
        for (int i = 1; i < n; i++) {
            byte x = t[i];
            if (t[i - 1] == ' ' && x == '\'' && i + 1 < n) {
                byte x1 = t[i + 1];
                if (x1 == 's' || x1 == 'm') w--;
                else if (i + 2 < n && ((x1 == 'r' && t[i + 2] == 'e') || (x1 == 'v' && t[i + 2] == 'e'))) w--;
            }
            t[w++] = x;
        }
        return Arrays.copyOf(t, w);
    }

    /** A decoder for generated tokens that returns only complete UTF-8 text (see {@link StreamingDecoder}). */
    public final StreamingDecoder streamingDecoder() {
        return new StreamingDecoder(this, false);
    }

    // ---- vocabulary ----------------------------------------------------------------------------

    /** "llama" or "gpt2", as in {@code tokenizer.ggml.model}. */
    public final String model() { return model; }

    /** The pre-tokenizer name ("default" for SentencePiece vocabularies). */
    public abstract String preTokenizer();

    public final int vocabSize() { return texts.length; }
    /** Beginning-of-sequence token, or {@link #NONE}. */
    public final int bos() { return bos; }
    /** End-of-sequence token, or {@link #NONE}. */
    public final int eos() { return eos; }
    /** End-of-turn token, or {@link #NONE}. */
    public final int eot() { return eot; }
    /** End-of-message token, or {@link #NONE}. */
    public final int eom() { return eom; }
    public final int unknown() { return unknown; }
    public final int separator() { return separator; }
    public final int padding() { return padding; }
    /** Whether {@code encode(..., addSpecial = true, ...)} starts with BOS. */
    public final boolean addBos() { return addBos; }
    /** Whether {@code encode(..., addSpecial = true, ...)} ends with EOS. */
    public final boolean addEos() { return addEos; }
    /** Whether SentencePiece puts a space before the text (and before text after a special token). */
    public final boolean addSpacePrefix() { return addSpacePrefix; }

    /** Whether generation stops at this token: EOS, EOT, EOM and the turn-ending tokens llama.cpp recognises. */
    public final boolean isEndOfGeneration(int id) {
        return id >= 0 && endOfGeneration.get(id);
    }

    public final int[] endOfGenerationIds() {
        return endOfGeneration.stream().toArray();
    }

    /** Control, user-defined and unknown tokens: those matched whole when parsing special tokens. */
    public final int[] specialTokenIds() {
        return specialIds.clone();
    }

    /** Whether the token is a control token (rendered as nothing unless asked). */
    public final boolean isControl(int id) {
        checkId(id);
        return (attrs[id] & CONTROL) != 0;
    }

    /** The token's text as the vocabulary stores it (SentencePiece's ▁, GPT-2's byte symbols). */
    public final String tokenText(int id) {
        checkId(id);
        return texts[id];
    }

    /** The id of the token with exactly this text, or {@link #NONE}. */
    public final int tokenId(String text) {
        return index.get(text);
    }

    public final float tokenScore(int id) {
        checkId(id);
        return scores[id];
    }

    final void checkId(int id) {
        if (id < 0 || id >= texts.length) throw new IllegalArgumentException("token id " + id + " is outside the vocabulary (0.." + (texts.length - 1) + ")");
    }

    @Override
    public String toString() {
        return "Tokenizer[" + model + ", pre " + preTokenizer() + ", " + vocabSize() + " tokens, bos " + bos + ", eos " + eos + "]";
    }
}
