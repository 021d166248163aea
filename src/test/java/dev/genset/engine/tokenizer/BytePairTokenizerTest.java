package dev.genset.engine.tokenizer;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class BytePairTokenizerTest {
    private final Tokenizer gpt2 = Vocabularies.vocab(Vocabularies.GPT2);

    @Test
    void readsTheGpt2Vocabulary() {
        assertThat(gpt2.model()).isEqualTo("gpt2");
        assertThat(gpt2.preTokenizer()).isEqualTo("gpt-2");
        assertThat(gpt2.vocabSize()).isEqualTo(50257);
        assertThat(gpt2.bos()).isEqualTo(50256);
        assertThat(gpt2.eos()).isEqualTo(50256);
        assertThat(gpt2.addBos()).as("llama.cpp's BPE default").isFalse();
        assertThat(gpt2.addEos()).isFalse();
        assertThat(gpt2.addSpacePrefix()).isFalse();
        assertThat(gpt2.tokenText(50256)).isEqualTo("<|endoftext|>");
        assertThat(gpt2.tokenId("\u0120world")).isEqualTo(995);
    }

    @Test
    void parsesSpecialTokensOnlyWhenAsked() {
        assertThat(gpt2.encode("<|endoftext|>", false, true)).containsExactly(50256);
        assertThat(gpt2.encode("Hello<|endoftext|> world", false, true)).containsExactly(15496, 50256, 995);
        int[] spelled = gpt2.encode("<|endoftext|>", false, false);
        assertThat(spelled).doesNotContain(50256).hasSizeGreaterThan(1);
        assertThat(gpt2.decode(spelled)).isEqualTo("<|endoftext|>");
    }

    @Test
    void endOfTextEndsGenerationAndRendersOnlyWhenAsked() {
        assertThat(gpt2.isEndOfGeneration(50256)).isTrue();
        assertThat(gpt2.isEndOfGeneration(995)).isFalse();
        assertThat(gpt2.eot()).as("found by its text").isEqualTo(50256);
        assertThat(gpt2.tokenBytes(50256)).isEmpty();
        assertThat(new String(gpt2.tokenBytes(50256, true), StandardCharsets.UTF_8)).isEqualTo("<|endoftext|>");
        assertThat(gpt2.decode(new int[]{15496, 50256, 995})).isEqualTo("Hello world");
        assertThat(gpt2.detokenize(new int[]{15496, 50256, 995}, false, true)).isEqualTo("Hello<|endoftext|> world");
    }

    @Test
    void tokenBytesUndoTheByteToUnicodeMapping() {
        assertThat(new String(gpt2.tokenBytes(995), StandardCharsets.UTF_8)).isEqualTo(" world");
        assertThat(gpt2.tokenBytes(gpt2.tokenId("\u010A"))).containsExactly('\n');
        // every byte has its own symbol token in GPT-2
        for (int b = 0; b < 256; b++) {
            int id = gpt2.tokenId(String.valueOf(Unicode.BYTE_TO_CHAR[b]));
            assertThat(gpt2.tokenBytes(id)).containsExactly((byte) b);
        }
    }

    @Test
    void detokenizeCleansSpacesAsLlamaCppForThisVocabulary() {
        int[] ids = gpt2.encode("Hello , world ! It 's here", false, false);
        assertThat(gpt2.decode(ids)).isEqualTo("Hello , world ! It 's here");
        assertThat(gpt2.detokenize(ids, false, false)).isEqualTo("Hello, world! It's here");
    }

    @Test
    void longTextIsFast() {
        String text = "The quick brown fox jumps over the lazy dog; 1234567890 times! ".repeat(4000);
        long t0 = System.nanoTime();
        int[] ids = gpt2.encode(text, false, false);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(gpt2.decode(ids)).isEqualTo(text);
        assertThat(ms).as("ms to encode 250K characters").isLessThan(5000);
    }
}
