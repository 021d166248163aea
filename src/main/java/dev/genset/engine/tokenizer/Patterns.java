package dev.genset.engine.tokenizer;

/**
 * Pre-tokenizer expressions shared by several vocabularies, spelled exactly as llama.cpp lists
 * them (Hugging Face's expressions, with {@code (?i:...)} contractions written out as classes);
 * {@link Splitter#of} recognises some of them by their text.
 */
final class Patterns {
    private Patterns() {}

    static final String CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";

    static final String GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";

    static final String LLAMA3 = CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static final String LLAMA3_ORIGINAL = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    static final String QWEN2 = CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static final String QWEN35 = CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /** Placeholder name llama.cpp gives AFMoE's digit grouping, which no regex engine implements. */
    static final String DIGIT_GROUPS = "\\p{AFMoE_digits}";
    static final String TINY_AYA_DIGITS = "\\d{1,3}(?=(?:\\d{3})*\\b)";
    static final String TRIPLES_FROM_THE_RIGHT = "(?=(\\d{3})+(?!\\d))";
    static final String NEWLINES = "[^\\n]+|[\\n]+";

    /** Letter runs split at case changes (Tekken, GPT-4o), with an upper-case prefix and a lower-case tail. */
    static final String CASED_WORDS = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+";
    static final String CASED_WORDS_UPPER = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*";
    static final String CASED_TAIL = "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    static final String CJK_HANGUL = "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+";
    static final String CJK_KANA = "[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+";
    static final String ASCII_PUNCT_WORD = "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+";
    static final String SENTENCE_CHUNKS = " ?[^(\\s|.,!?\u2026\u3002\uFF0C\u3001\u0964\u06D4\u060C)]+";
}
