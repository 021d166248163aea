package dev.genset.engine.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

class PreTokenizerTest {

    private static List<String> split(String pre, String text) {
        return PreTokenizer.forName(pre).split(text);
    }

    static Stream<Arguments> splits() {
        return Stream.of(
                arguments("gpt-2", "Hello world's 12345!!  x", List.of("Hello", " world", "'s", " 12345", "!!", " ", " x")),
                arguments("gpt-2", "I'M", List.of("I", "'", "M")),
                arguments("gpt-2", "a\n\n b", List.of("a", "\n\n", " b")),
                arguments("llama-bpe", "I'M", List.of("I", "'M")),
                arguments("llama-bpe", "Hello WORLD'S 12345\n\n  x", List.of("Hello", " WORLD", "'S", " ", "123", "45", "\n\n", " ", " x")),
                arguments("llama-bpe", "x = 1;\r\n", List.of("x", " =", " ", "1", ";\r\n")),
                arguments("qwen2", "abc 123", List.of("abc", " ", "1", "2", "3")),
                arguments("qwen2", "cafe\u0301 x", List.of("cafe", "\u0301", " x")),
                arguments("qwen35", "cafe\u0301 x", List.of("cafe\u0301", " x")),
                arguments("deepseek-coder", "ab12", List.of("ab", "1", "2")),
                arguments("deepseek-llm", "Hello world 123\n", List.of("Hello", " world", " ", "123", "\n")),
                arguments("deepseek-v3", "Hello\u4e16\u754c123", List.of("Hello", "\u4e16\u754c", "123")),
                arguments("starcoder", "abc 123", List.of("abc", " ", "1", "2", "3")),
                arguments("falcon", "a+b=1234", List.of("a", "+", "b", "=", "123", "4")),
                arguments("default", "Hi!! 1234", List.of("Hi", "!!", " ", "123", "4")),
                arguments("bloom", "Hello, world.", List.of("Hello", ",", " world", ".")),
                arguments("gpt-4o", "HelloWorld ABCdef HTTPServer 12345", List.of("Hello", "World", " ABCdef", " HTTPServer", " ", "123", "45")),
                arguments("gpt-4o", "don't STOP", List.of("don't", " STOP")),
                arguments("tekken", "HelloWorld 12", List.of("Hello", "World", " ", "1", "2")),
                arguments("tiny_aya", "1234567", List.of("1", "234", "567")),
                arguments("tiny_aya", "ab1234", List.of("ab", "1", "234")),
                arguments("afmoe", "1234567", List.of("1", "234", "567")),
                arguments("superbpe", "1234567 x", List.of("1", "234", "567", " x")),
                arguments("laguna", "a\n\nb", List.of("a", "\n\n", "b")),
                arguments("exaone-moe", "hello world", List.of("hello world")),
                arguments("seed-coder", "12", List.of("1", "2")),
                arguments("youtu", "\uC548\uB155hello", List.of("\uC548\uB155", "hello")),
                arguments("jais-2", "a" + " ".repeat(10) + "b", List.of("a", " ".repeat(8), " ", " b")),
                arguments("minicpm5", "12345", List.of("123", "45")),
                arguments("bailingmoe", "x\n\ny", List.of("x", "\n\n", "y")),
                arguments("chameleon", "a  b", List.of("a", "  ", "b")));
    }

    @ParameterizedTest(name = "{0}: \"{1}\"")
    @MethodSource("splits")
    void splitsLikeLlamaCpp(String pre, String text, List<String> expected) {
        assertThat(split(pre, text)).isEqualTo(expected);
    }

    /** Every pre-tokenizer name llama.cpp accepts for byte-level BPE (except the few not supported yet) loads and keeps all text. */
    @ParameterizedTest
    @ValueSource(strings = {"default", "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
            "jina-v5-nano", "minicpm5", "deepseek-llm", "deepseek-coder", "deepseek-v3", "hunyuan-dense", "joyai-llm", "youtu",
            "falcon", "mpt", "starcoder", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0",
            "mellum", "modern-bert", "jais-2", "jina-v1-en", "jina-v2-code", "roberta-bpe", "refact", "command-r", "qwen2",
            "deepseek-r1-qwen", "kormo", "f2llmv2", "qwen35", "stablelm2", "olmo", "dbrx", "smaug-bpe", "poro-chat", "glm4",
            "chatglm-bpe", "viking", "jais", "tekken", "smollm", "codeshell", "bloom", "gpt3-finnish", "exaone", "exaone4",
            "exaone-moe", "chameleon", "minerva-7b", "megrez", "gpt-4o", "llama4", "kanana2", "talkie", "granite-embed-multi-97m",
            "tiny_aya", "cohere2moe", "superbpe", "trillion", "granite-docling", "bailingmoe", "bailingmoe2", "llada-moe",
            "seed-coder", "hunyuan", "grok-2", "afmoe", "laguna", "minimax-m2", "solar-open", "mellum2"})
    void everyKnownNameSplitsWithoutLosingText(String pre) {
        String text = "Hello, World! It's 2024-01-15: \u4f60\u597d\u4e16\u754c \uD83E\uDD99 caf\u00e9\u0301\t\r\n  done  ";
        List<String> words = split(pre, text);
        assertThat(String.join("", words)).isEqualTo(text);
        assertThat(words).doesNotContain("");
    }

    /**
     * The hand-written matchers for the GPT-2, Llama 3, Qwen 2 and Qwen 3.5 expressions agree with
     * the general regex path on the same expressions, over random text mixing every class involved.
     */
    @ParameterizedTest
    @ValueSource(strings = {Patterns.GPT2, Patterns.LLAMA3, Patterns.QWEN2, Patterns.QWEN35})
    void handWrittenMatchersAgreeWithTheRegexEngine(String expression) {
        Splitter custom = Splitter.of(expression);
        Splitter regex = Splitter.RegexSplitter.compile(expression);
        assertThat(custom).isInstanceOf(Splitter.WordSplitter.class);
        String[] alphabet = {"a", "b", "Z", "\u00e9", "\u4e2d", "1", "\u0663", "\u00b2", " ", "  ", "\t", "\n", "\r", "\u00a0", "\u3000",
                "!", "'", ".", "$", "~", "\u0301", "\uD83E\uDD99", "'s", "'T", "'re", "'LL", "\u0085", "\u200b"};
        Random random = new Random(42);
        for (int trial = 0; trial < 5000; trial++) {
            StringBuilder sb = new StringBuilder();
            int length = random.nextInt(14);
            for (int i = 0; i < length; i++) sb.append(alphabet[random.nextInt(alphabet.length)]);
            String text = sb.toString();
            assertThat(pieces(custom, text)).as("\"%s\"", Vocabularies.escape(text)).isEqualTo(pieces(regex, text));
        }
    }

    /** Expressions run in a rewritten or hand-written form give the pieces the expression as written gives. */
    @Test
    void rewrittenExpressionsAgreeWithTheOriginals() {
        String exaone = PreTokenizer.Kind.EXAONE_MOE.expressions.getFirst();
        assertAgree(Splitter.RegexSplitter.compile(exaone), Splitter.RegexSplitter.compileVerbatim(exaone),
                new String[]{"a", "B", "\u00e9", "\u0301", " ", "  ", "1", "'s", "!", "\n", "x y"});
        assertAgree(Splitter.of(Patterns.TRIPLES_FROM_THE_RIGHT), Splitter.RegexSplitter.compileVerbatim(Patterns.TRIPLES_FROM_THE_RIGHT),
                new String[]{"1", "2", "3", "12", "a", " ", "\u0663"});
        assertAgree(Splitter.of(Patterns.DIGIT_GROUPS), Splitter.of(Patterns.TINY_AYA_DIGITS), new String[]{"1", "2", "a"});
    }

    private static void assertAgree(Splitter a, Splitter b, String[] alphabet) {
        Random random = new Random(7);
        for (int trial = 0; trial < 3000; trial++) {
            StringBuilder sb = new StringBuilder();
            int length = random.nextInt(12);
            for (int i = 0; i < length; i++) sb.append(alphabet[random.nextInt(alphabet.length)]);
            String text = sb.toString();
            assertThat(pieces(a, text)).as("\"%s\"", Vocabularies.escape(text)).isEqualTo(pieces(b, text));
        }
    }

    /** Long runs of one class must neither overflow the stack (regex recursion) nor take quadratic time. */
    @ParameterizedTest
    @ValueSource(strings = {"gpt-2", "llama-bpe", "qwen2", "gpt-4o", "tekken", "exaone-moe", "youtu", "tiny_aya", "deepseek-llm",
            "deepseek-v3", "jais-2", "bloom", "superbpe", "falcon", "default", "afmoe", "granite-embed-multi-97m"})
    void longRunsSplitQuickly(String pre) {
        PreTokenizer p = PreTokenizer.forName(pre);
        long t0 = System.nanoTime();
        for (String run : List.of("a", "A", "\u00e9", "1", " ", "!", "ab ", "\n")) {
            String text = run.repeat(60_000 / run.length());
            assertThat(String.join("", p.split(text))).isEqualTo(text);
        }
        assertThat((System.nanoTime() - t0) / 1_000_000).as("ms").isLessThan(20_000);
    }

    private static List<Integer> pieces(Splitter splitter, String text) {
        int[] cps = text.codePoints().toArray();
        IntList out = new IntList();
        splitter.split(new Splitter.Text(cps), 0, cps.length, out);
        List<Integer> lengths = new ArrayList<>();
        for (int i = 0; i < out.size(); i++) lengths.add(out.get(i));
        return lengths;
    }

    @Test
    void regexDollarMeansEndOfPieceOnly() {
        // java.util.regex's '$' would also match before a final line break
        assertThat(pieces(Splitter.RegexSplitter.compile("a$"), "a\n")).containsExactly(2);
        assertThat(pieces(Splitter.RegexSplitter.compile("\\s+$"), "a \n")).containsExactly(1, 2);
    }

    @Test
    void codepointsOutsideTheBasicPlaneKeepTheirPlace() {
        // the regex path runs on UTF-16 with surrogate pairs; pieces are still counted in codepoints
        assertThat(split("deepseek-coder", "\uD801\uDC00x\uD83E\uDD99y")).containsExactly("\uD801\uDC00x", "\uD83E\uDD99", "y");
        assertThat(split("deepseek-coder", "\uD83E\uDD99\u4e2d\u6587x")).containsExactly("\uD83E\uDD99", "\u4e2d\u6587", "x");
    }
}
