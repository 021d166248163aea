package dev.genset.engine.tokenizer;

import java.util.ArrayList;
import java.util.List;

import static dev.genset.engine.tokenizer.Patterns.*;

/**
 * A byte-level BPE vocabulary's pre-tokenizer, named by {@code tokenizer.ggml.pre}: the expressions
 * that cut text into words before merging, and the vocabulary flags llama.cpp ties to the name.
 */
record PreTokenizer(String name, Kind kind, List<Splitter> splitters, boolean ignoreMerges, boolean cleanSpaces,
                    boolean defaultAddBos, boolean noBos) {

    /** The distinct expression lists; several names share one. */
    enum Kind {
        DEFAULT("[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2, "\\p{N}+", "[0-9][0-9][0-9]"),
        GPT2_KIND(GPT2),
        LLAMA3_KIND(LLAMA3),
        JAIS2(CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+"
                + "|\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)|\\s{32}(?!\\S)|\\s{16}(?!\\S)|\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}"),
        DEEPSEEK_LLM("[\r\n]",
                "\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\uD801\uDC00-\uD801\uDC4F\uD801\uDCB0-\uD801\uDCD3\uD801\uDCD8-\uD801\uDCFB\uD803\uDC80-\uD803\uDCB2\uD803\uDCC0-\uD803\uDCF2\uD806\uDCA0-\uD806\uDCDF\uD83A\uDD00-\uD83A\uDD43]+",
                "\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+",
                "\\s+$",
                CJK_HANGUL,
                "\\p{N}+"),
        DEEPSEEK3_LLM("\\p{N}{1,3}", CJK_KANA,
                ASCII_PUNCT_WORD + "|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"),
        YOUTU("[\uAC00-\uD7A3\u3131-\u318E]+|[\uFF01\u2026\u201C\u201D\u2018\u2019\u2014\uFF1A\uFF1B\uFF0C\u3001-\u303F\uFE30-\uFE4F]+|[\u3105-\u312F]+|[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+",
                "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+" + CONTRACTIONS + "?"
                        + "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*" + CONTRACTIONS + "?"
                        + "|\\p{N}" + CASED_TAIL),
        DEEPSEEK_CODER("[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", CJK_HANGUL, "\\p{N}"),
        FALCON("[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2, "[0-9][0-9][0-9]"),
        STARCODER("\\p{N}", GPT2),
        QWEN2_KIND(QWEN2),
        QWEN35_KIND(QWEN35),
        BLOOM(SENTENCE_CHUNKS),
        CHATGLM4(LLAMA3),
        VIKING(SENTENCE_CHUNKS, "\\p{N}"),
        TEKKEN(CASED_WORDS + "|" + CASED_WORDS_UPPER + "|\\p{N}" + CASED_TAIL),
        CHAMELEON("<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", "\\p{N}",
                "[\\p{P}!-/:-@\\[-`{-~]", GPT2),
        GPT4O(CASED_WORDS + CONTRACTIONS + "?|" + CASED_WORDS_UPPER + CONTRACTIONS + "?|\\p{N}{1,3}" + CASED_TAIL),
        GRANITE_EMB_MULTI(CASED_WORDS.replace("[\\p{L}]", "[\\p{L}\\p{M}]") + CONTRACTIONS + "?|"
                + CASED_WORDS_UPPER.replace("[\\p{L}]", "[\\p{L}\\p{M}]") + CONTRACTIONS + "?|\\p{N}{1,3}" + CASED_TAIL),
        TINY_AYA(TINY_AYA_DIGITS,
                "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+" + CONTRACTIONS + "?"
                        + "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*" + CONTRACTIONS + "?"
                        + "|\\p{N}{1,3}" + CASED_TAIL),
        SUPERBPE("\\p{N}+", TRIPLES_FROM_THE_RIGHT),
        BAILINGMOE("'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"),
        SEED_CODER(CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
        AFMOE(DIGIT_GROUPS, "[\u4E00-\u9FFF\u3400-\u4DBF\u8C48-\uFAFF\u3040-\u309F\u30A0-\u30FF\uFF65-\uFF9F\u2F00-\u2FDF\u0E40-\u0E7F\u0E80-\u0EFF\u1780-\u17FF\u1000-\u109F\uAA60-\uAA7F\uA9E0-\uA9FF\uAC00-\uD7AF\u1100-\u11FF]+",
                ASCII_PUNCT_WORD + "|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
        LAGUNA(NEWLINES, QWEN2),
        EXAONE_MOE(CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"),
        MINICPM5("\\p{N}{1,3}", CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");

        final List<String> expressions;

        Kind(String... expressions) {
            this.expressions = List.of(expressions);
        }
    }

    /**
     * The pre-tokenizer llama.cpp uses for a name ({@code null} = key missing, which llama.cpp
     * treats as "default" with a warning about degraded quality); unknown names are an error, as
     * there.
     */
    static PreTokenizer forName(String name) {
        String n = name == null ? "default" : name;
        // kind, then: ignore merges, clean spaces, add BOS by default, no BOS token
        record Entry(Kind kind, boolean ignoreMerges, boolean cleanSpaces, boolean addBos, boolean noBos) {}
        Entry e = switch (n) {
            case "default" -> new Entry(Kind.DEFAULT, false, true, false, false);
            case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano" ->
                    new Entry(Kind.LLAMA3_KIND, true, true, true, false);
            case "minicpm5" -> new Entry(Kind.MINICPM5, true, true, false, false);
            case "deepseek-llm" -> new Entry(Kind.DEEPSEEK_LLM, false, false, false, false);
            case "deepseek-coder" -> new Entry(Kind.DEEPSEEK_CODER, false, false, false, false);
            case "deepseek-v3", "hunyuan-dense", "joyai-llm" -> new Entry(Kind.DEEPSEEK3_LLM, false, false, false, false);
            case "youtu" -> new Entry(Kind.YOUTU, true, false, false, false);
            case "falcon" -> new Entry(Kind.FALCON, false, true, false, false);
            case "mpt", "olmo", "jais", "exaone4", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de",
                 "a.x-4.0", "mellum", "modern-bert", "jina-v1-en", "jina-v2-code", "roberta-bpe" ->
                    new Entry(Kind.GPT2_KIND, false, true, false, false);
            case "trillion", "granite-docling" -> new Entry(Kind.GPT2_KIND, false, false, false, false);
            case "starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2" -> new Entry(Kind.STARCODER, false, true, false, false);
            case "command-r", "smollm" -> new Entry(Kind.STARCODER, false, false, false, false);
            case "jais-2" -> new Entry(Kind.JAIS2, false, true, false, false);
            case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2" ->
                    new Entry(Kind.QWEN2_KIND, false, false, false, false);
            case "stablelm2", "megrez" -> new Entry(Kind.QWEN2_KIND, false, true, false, false);
            case "qwen35" -> new Entry(Kind.QWEN35_KIND, false, false, false, false);
            case "dbrx", "smaug-bpe" -> new Entry(Kind.LLAMA3_KIND, false, true, false, false);
            case "poro-chat" -> new Entry(Kind.BLOOM, false, false, false, false);
            case "bloom", "gpt3-finnish" -> new Entry(Kind.BLOOM, false, true, false, false);
            case "glm4", "chatglm-bpe" -> new Entry(Kind.CHATGLM4, false, true, false, true);
            case "viking" -> new Entry(Kind.VIKING, false, false, false, false);
            case "tekken" -> new Entry(Kind.TEKKEN, true, false, true, false);
            case "chameleon" -> new Entry(Kind.CHAMELEON, false, false, true, false);
            case "gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2" -> new Entry(Kind.GPT4O, false, false, false, false);
            case "granite-embed-multi-97m" -> new Entry(Kind.GRANITE_EMB_MULTI, true, false, false, false);
            case "tiny_aya", "cohere2moe" -> new Entry(Kind.TINY_AYA, false, false, false, false);
            case "superbpe" -> new Entry(Kind.SUPERBPE, false, false, false, false);
            case "bailingmoe", "bailingmoe2", "llada-moe" -> new Entry(Kind.BAILINGMOE, false, false, false, false);
            case "seed-coder" -> new Entry(Kind.SEED_CODER, false, false, false, false);
            case "afmoe" -> new Entry(Kind.AFMOE, false, false, false, false);
            case "laguna" -> new Entry(Kind.LAGUNA, false, false, false, false);
            case "exaone-moe" -> new Entry(Kind.EXAONE_MOE, false, true, false, false);
            case "kimi-k2", "gemma4", "granite-embed-multi-311m", "sarvam-moe", "whitespace" ->
                    throw new TokenizerException("pre-tokenizer '" + n + "' is not supported yet");
            default -> throw new TokenizerException("unknown pre-tokenizer type: '" + n + "'");
        };
        List<Splitter> splitters = new ArrayList<>();
        for (String expression : e.kind.expressions) splitters.add(Splitter.of(expression));
        return new PreTokenizer(n, e.kind, List.copyOf(splitters), e.ignoreMerges, e.cleanSpaces, e.addBos, e.noBos);
    }

    /** Cuts text into words, each a substring of {@code text}, none empty. */
    List<String> split(String text) {
        int[] cps = text.codePoints().toArray();
        Splitter.Text t = new Splitter.Text(cps);
        IntList pieces = new IntList();
        pieces.add(cps.length);
        for (Splitter splitter : splitters) {
            IntList next = new IntList(pieces.size() * 2);
            int start = 0;
            for (int i = 0; i < pieces.size(); i++) {
                int end = start + pieces.get(i);
                if (end > start) splitter.split(t, start, end, next);
                start = end;
            }
            pieces = next;
        }
        List<String> words = new ArrayList<>(pieces.size());
        int charPos = 0;
        for (int i = 0; i < pieces.size(); i++) {
            int chars = 0;
            int len = pieces.get(i);
            for (int k = 0; k < len; k++) chars += Character.charCount(text.codePointAt(charPos + chars));
            if (chars > 0) words.add(text.substring(charPos, charPos + chars));
            charPos += chars;
        }
        return words;
    }
}
