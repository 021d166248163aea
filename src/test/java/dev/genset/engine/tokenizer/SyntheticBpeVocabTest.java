package dev.genset.engine.tokenizer;

import dev.genset.engine.gguf.GgufFile;
import dev.genset.engine.gguf.GgufValueType;
import dev.genset.engine.gguf.GgufWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Byte-level BPE behaviour that the GPT-2 vectors do not reach, on vocabularies written for the purpose. */
class SyntheticBpeVocabTest {

    private static SyntheticVocab digits() {
        return new SyntheticVocab().merge("1", "2").merge("12", "3").merge("4", "5").merge("123", "45");
    }

    private static int[] ids(Tokenizer t, String... plainTokens) {
        return Arrays.stream(plainTokens).mapToInt(p -> {
            int id = t.tokenId(SyntheticVocab.symbols(p));
            assertThat(id).as("token for '%s'", p).isNotEqualTo(Tokenizer.NONE);
            return id;
        }).toArray();
    }

    /** How each pre-tokenizer cuts a run of digits decides which merges can apply. */
    @ParameterizedTest(name = "{0}: 12345 -> {1}")
    @CsvSource(delimiter = ';', value = {
            "gpt-2;          12345",
            "default;        123 45",
            "llama-bpe;      123 45",
            "llama3;         123 45",
            "dbrx;           123 45",
            "gpt-4o;         123 45",
            "qwen2;          1 2 3 4 5",
            "qwen35;         1 2 3 4 5",
            "tekken;         1 2 3 4 5",
            "starcoder;      1 2 3 4 5",
            "smollm;         1 2 3 4 5",
            "command-r;      1 2 3 4 5",
            "deepseek-coder; 1 2 3 4 5",
            "deepseek-llm;   12345",
            "deepseek-v3;    123 45",
            "falcon;         123 45",
            "mpt;            12345",
            "olmo;           12345",
            "refact;         1 2 3 4 5",
            "tiny_aya;       12 345",
            "afmoe;          12 345",
            "superbpe;       12 345",
            "minicpm5;       123 45",
            "seed-coder;     1 2 3 4 5",
            "bloom;          12345",
            "viking;         1 2 3 4 5",
    })
    void digitSplitting(String pre, String expected) {
        SyntheticVocab v = digits().merge("3", "45");
        Tokenizer t = v.build(pre);
        assertThat(t.preTokenizer()).isEqualTo(pre);
        assertThat(t.encode("12345", false, false)).as(pre).containsExactly(ids(t, expected.trim().split(" ")));
    }

    @Test
    void lowestRankMergesFirst() {
        Tokenizer bcFirst = new SyntheticVocab().merge("b", "c").merge("a", "b").build("gpt-2");
        assertThat(bcFirst.encode("abc", false, false)).containsExactly(ids(bcFirst, "a", "bc"));
        Tokenizer abFirst = new SyntheticVocab().merge("a", "b").merge("b", "c").build("gpt-2");
        assertThat(abFirst.encode("abc", false, false)).containsExactly(ids(abFirst, "ab", "c"));
    }

    @Test
    void equalRanksMergeLeftmostFirst() {
        Tokenizer t = new SyntheticVocab().merge("a", "a").build("gpt-2");
        assertThat(t.encode("aaa", false, false)).containsExactly(ids(t, "aa", "a"));
        assertThat(t.encode("aaaa", false, false)).containsExactly(ids(t, "aa", "aa"));
    }

    @Test
    void llama3TakesWholeWordsThatAreTokensWithoutMerging() {
        SyntheticVocab v = new SyntheticVocab().token("xyz", SyntheticVocab.NORMAL);
        Tokenizer llama3 = v.build("llama-bpe");
        Tokenizer gpt2 = v.build("gpt-2");
        assertThat(llama3.encode("xyz", false, false)).containsExactly(ids(llama3, "xyz"));
        assertThat(gpt2.encode("xyz", false, false)).containsExactly(ids(gpt2, "x", "y", "z"));
    }

    @Test
    void addBosDefaultsFollowLlamaCpp() {
        SyntheticVocab v = digits().token("<s>", SyntheticVocab.CONTROL);
        int bos = 256 + 4;
        assertThat(v.build("llama-bpe", w -> w.putUInt32("tokenizer.ggml.bos_token_id", bos)).addBos()).isTrue();
        assertThat(v.build("tekken", w -> w.putUInt32("tokenizer.ggml.bos_token_id", bos)).addBos()).isTrue();
        assertThat(v.build("gpt-2", w -> w.putUInt32("tokenizer.ggml.bos_token_id", bos)).addBos()).isFalse();
        assertThat(v.build("qwen2").addBos()).isFalse();
        Tokenizer explicit = v.build("llama-bpe", w -> w.putUInt32("tokenizer.ggml.bos_token_id", bos).putBool("tokenizer.ggml.add_bos_token", false));
        assertThat(explicit.addBos()).isFalse();
        Tokenizer withBos = v.build("llama-bpe", w -> w.putUInt32("tokenizer.ggml.bos_token_id", bos));
        assertThat(withBos.encode("12", true, false)).containsExactly(bos, withBos.tokenId(SyntheticVocab.symbols("12")));
        Tokenizer withEos = v.build("gpt-2", w -> w.putUInt32("tokenizer.ggml.eos_token_id", bos).putBool("tokenizer.ggml.add_eos_token", true));
        assertThat(withEos.encode("12", true, false)).endsWith(bos);
    }

    @Test
    void specialIdsDefaultAsInLlamaCpp() {
        Tokenizer t = digits().build("gpt-2");
        assertThat(t.bos()).as("BPE default").isEqualTo(11);
        assertThat(t.eos()).isEqualTo(11);
        assertThat(t.unknown()).isEqualTo(Tokenizer.NONE);
        Tokenizer glm = digits().build("glm4");
        assertThat(glm.bos()).isEqualTo(Tokenizer.NONE);
        Tokenizer outOfRange = digits().build("gpt-2", w -> w.putUInt32("tokenizer.ggml.eos_token_id", -1));
        assertThat(outOfRange.eos()).as("4294967295 keeps the default").isEqualTo(11);
    }

    @Test
    void specialTokens() {
        SyntheticVocab v = new SyntheticVocab().merge("u", "s").merge("us", "e").merge("use", "r")
                .token("<|im_start|>", SyntheticVocab.CONTROL)
                .token("<|im_end|>", SyntheticVocab.CONTROL)
                .token("<tool>", SyntheticVocab.USER_DEFINED)
                .token("<x>", SyntheticVocab.CONTROL)
                .token("<x><y>", SyntheticVocab.CONTROL);
        Tokenizer t = v.build("qwen2");
        int imStart = t.tokenId("<|im_start|>"), imEnd = t.tokenId("<|im_end|>"), tool = t.tokenId("<tool>"), user = t.tokenId(SyntheticVocab.symbols("user"));
        String text = "<|im_start|>user<tool><|im_end|>";

        assertThat(t.encode(text, false, true)).containsExactly(imStart, user, tool, imEnd);
        int[] plain = t.encode(text, false, false);
        assertThat(plain).doesNotContain(imStart, imEnd).contains(tool); // user-defined tokens are always matched
        assertThat(t.decode(plain)).isEqualTo(text);

        assertThat(t.encode("<x><y>", false, true)).as("longest special token first").containsExactly(t.tokenId("<x><y>"));
        assertThat(t.isEndOfGeneration(imEnd)).isTrue();
        assertThat(t.isEndOfGeneration(imStart)).isFalse();
        assertThat(t.eot()).isEqualTo(imEnd);
        assertThat(t.specialTokenIds()).startsWith(imStart).contains(imEnd, tool);
        assertThat(t.decode(new int[]{imStart, user, imEnd})).isEqualTo("user");
        assertThat(new String(t.tokenBytes(tool), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("<tool>");
    }

    @Test
    void harmonyEndTokenDoesNotEndGeneration() {
        Tokenizer t = new SyntheticVocab().token("<|end|>", SyntheticVocab.CONTROL).token("<|return|>", SyntheticVocab.CONTROL)
                .token("<|call|>", SyntheticVocab.CONTROL).token("<|channel|>", SyntheticVocab.CONTROL).build("gpt-4o");
        assertThat(t.isEndOfGeneration(t.tokenId("<|return|>"))).isTrue();
        assertThat(t.isEndOfGeneration(t.tokenId("<|call|>"))).isTrue();
        assertThat(t.isEndOfGeneration(t.tokenId("<|end|>"))).isFalse();
        assertThat(t.tokenBytes(t.tokenId("<|end|>"))).isNotEmpty();
        assertThat(t.tokenBytes(t.tokenId("<|channel|>"))).as("rendered, as llama.cpp does for gpt-oss").isNotEmpty();
    }

    @Test
    void unknownPreTokenizerIsAnError() {
        assertThatThrownBy(() -> digits().build("xyz")).isInstanceOf(TokenizerException.class)
                .hasMessageContaining("unknown pre-tokenizer type: 'xyz'");
    }

    @Test
    void missingPreTokenizerMeansDefault() {
        Tokenizer t = digits().build(null);
        assertThat(t.preTokenizer()).isEqualTo("default");
        assertThat(t.encode("12345", false, false)).containsExactly(ids(t, "123", "45"));
    }

    @Test
    void unsupportedModelsAreNamed() {
        GgufWriter w = digits().writer("gpt-2").putString("tokenizer.ggml.model", "bert");
        assertThatThrownBy(() -> Tokenizer.fromGguf(GgufFile.parse(w.toBytes()))).isInstanceOf(TokenizerException.class)
                .hasMessage("unsupported tokenizer model 'bert'");
        GgufWriter none = new GgufWriter().putString("general.name", "no vocab");
        assertThatThrownBy(() -> Tokenizer.fromGguf(GgufFile.parse(none.toBytes()))).isInstanceOf(TokenizerException.class)
                .hasMessageContaining("tokenizer.ggml.model");
    }

    @Test
    void mergesAreRequired() {
        GgufWriter w = new GgufWriter().putString("tokenizer.ggml.model", "gpt2").putString("tokenizer.ggml.pre", "gpt-2")
                .putArray("tokenizer.ggml.tokens", GgufValueType.STRING, new String[]{"a", "b"});
        assertThatThrownBy(() -> Tokenizer.fromGguf(GgufFile.parse(w.toBytes()))).isInstanceOf(TokenizerException.class)
                .hasMessageContaining("merges");
    }
}
