package dev.genset.engine.tokenizer;

import dev.genset.engine.gguf.GgufFile;
import dev.genset.engine.gguf.GgufValueType;
import dev.genset.engine.gguf.GgufWriter;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A small byte-level BPE vocabulary written as GGUF: the 256 byte symbols (id = byte value's
 * position in GPT-2 order, i.e. ids 0..255), then the results of the merges, then extra tokens.
 * Texts are given as plain text and stored in GPT-2's byte symbols.
 */
final class SyntheticVocab {
    static final int NORMAL = 1, CONTROL = 3, USER_DEFINED = 4;

    private final List<String> tokens = new ArrayList<>();
    private final List<Integer> types = new ArrayList<>();
    private final List<String> merges = new ArrayList<>();

    SyntheticVocab() {
        for (int b = 0; b < 256; b++) add(String.valueOf(Unicode.BYTE_TO_CHAR[b]), NORMAL);
    }

    static String symbols(String plain) {
        return Unicode.byteEncode(plain);
    }

    /** Adds the merge of two plain-text pieces (and its result as a token, if new). */
    SyntheticVocab merge(String left, String right) {
        merges.add(symbols(left) + " " + symbols(right));
        String result = symbols(left + right);
        if (!tokens.contains(result)) add(result, NORMAL);
        return this;
    }

    /** Adds a token that no merge produces. */
    SyntheticVocab token(String plain, int type) {
        add(type == NORMAL ? symbols(plain) : plain, type);
        return this;
    }

    private void add(String text, int type) {
        tokens.add(text);
        types.add(type);
    }

    GgufWriter writer(String pre) {
        GgufWriter w = new GgufWriter().putString("tokenizer.ggml.model", "gpt2");
        if (pre != null) w.putString("tokenizer.ggml.pre", pre);
        w.putArray("tokenizer.ggml.tokens", GgufValueType.STRING, tokens.toArray(String[]::new));
        w.putArray("tokenizer.ggml.token_type", GgufValueType.INT32, types.stream().mapToInt(Integer::intValue).toArray());
        w.putArray("tokenizer.ggml.merges", GgufValueType.STRING, merges.toArray(String[]::new));
        return w;
    }

    Tokenizer build(String pre) {
        return build(pre, w -> { });
    }

    Tokenizer build(String pre, Consumer<GgufWriter> extra) {
        GgufWriter w = writer(pre);
        extra.accept(w);
        return Tokenizer.fromGguf(GgufFile.parse(w.toBytes()));
    }
}
