package dev.genset.engine.tokenizer;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class SentencePieceTokenizerTest {
    private static final int[] CONTINUATION = {432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337,
            410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394};

    private final Tokenizer stories = Vocabularies.stories();
    private final Tokenizer llama = Vocabularies.vocab(Vocabularies.LLAMA_SPM);

    @Test
    void readsTheStoriesVocabulary() {
        assertThat(stories.model()).isEqualTo("llama");
        assertThat(stories.preTokenizer()).isEqualTo("default");
        assertThat(stories.vocabSize()).isEqualTo(512);
        assertThat(stories.bos()).isEqualTo(1);
        assertThat(stories.eos()).isEqualTo(2);
        assertThat(stories.unknown()).isZero();
        assertThat(stories.padding()).as("stored as 4294967295").isEqualTo(Tokenizer.NONE);
        assertThat(stories.separator()).isEqualTo(Tokenizer.NONE);
        // no add_bos_token / add_eos_token / add_space_prefix keys: llama.cpp's SentencePiece defaults
        assertThat(stories.addBos()).isTrue();
        assertThat(stories.addEos()).isFalse();
        assertThat(stories.addSpacePrefix()).isTrue();
        assertThat(stories.tokenText(403)).isEqualTo("\u2581Once");
        assertThat(stories.tokenId("\u2581Once")).isEqualTo(403);
        assertThat(stories.tokenId("no such token")).isEqualTo(Tokenizer.NONE);
        assertThat(stories.tokenScore(511)).isEqualTo(-252f);
    }

    @Test
    void encodesThePromptWithBos() {
        assertThat(stories.encode("Once upon a time", true, false)).containsExactly(1, 403, 407, 261, 378);
        assertThat(stories.encode("Once upon a time", false, false)).containsExactly(403, 407, 261, 378);
    }

    @Test
    void continuationKeepsItsLeadingSpaces() {
        assertThat(stories.decode(new int[]{432})).isEqualTo(",");
        assertThat(stories.decode(new int[]{383})).isEqualTo(" there");
        assertThat(stories.decode(CONTINUATION))
                .isEqualTo(", there was a little girl named Lily. She loved to play outside in the park. One day, she saw");
    }

    @Test
    void reencodingTheFullTextGivesPromptThenContinuation() {
        String full = "Once upon a time" + stories.decode(CONTINUATION);
        int[] ids = stories.encode(full, true, false);
        assertThat(ids).startsWith(1, 403, 407, 261, 378);
        assertThat(java.util.Arrays.copyOfRange(ids, 5, ids.length)).containsExactly(CONTINUATION);
    }

    @Test
    void detokenizeFollowsLlamaCpp() {
        int[] prompt = {1, 403, 407, 261, 378};
        // BOS renders as nothing; the space after it is kept (llama.cpp only strips it on the first token)
        assertThat(stories.detokenize(prompt, false, false)).isEqualTo(" Once upon a time");
        assertThat(stories.detokenize(prompt, true, false)).isEqualTo(" Once upon a time");
        assertThat(stories.detokenize(new int[]{403, 407}, false, false)).isEqualTo("Once upon");
        assertThat(stories.detokenize(prompt, false, true)).isEqualTo("<s> Once upon a time");
        assertThat(stories.decode(prompt)).isEqualTo(" Once upon a time");
    }

    @Test
    void controlTokensRenderOnlyWhenAsked() {
        assertThat(stories.tokenBytes(1)).isEmpty();
        assertThat(stories.tokenBytes(2)).isEmpty();
        assertThat(new String(stories.tokenBytes(2, true), StandardCharsets.UTF_8)).isEqualTo("</s>");
        assertThat(stories.tokenBytes(3 + 0x41)).containsExactly(0x41);
        assertThat(stories.tokenBytes(3 + 0xF0)).containsExactly((byte) 0xF0);
        assertThat(new String(stories.tokenBytes(403), StandardCharsets.UTF_8)).isEqualTo(" Once");
        assertThat(stories.isControl(1)).isTrue();
        assertThat(stories.isControl(403)).isFalse();
    }

    @Test
    void endOfGeneration() {
        assertThat(stories.isEndOfGeneration(2)).isTrue();
        assertThat(stories.isEndOfGeneration(1)).isFalse();
        assertThat(stories.isEndOfGeneration(403)).isFalse();
        assertThat(stories.isEndOfGeneration(Tokenizer.NONE)).isFalse();
        assertThat(stories.endOfGenerationIds()).containsExactly(2);
    }

    @Test
    void parsesSpecialTokensOnlyWhenAsked() {
        assertThat(llama.encode("<s>", false, true)).containsExactly(1);
        assertThat(llama.encode("<s>Hello</s>", false, true)).containsExactly(1, 15043, 2);
        // spelled out as text when not parsing (the first piece gets the space prefix)
        assertThat(llama.encode("<s>", false, false)).doesNotContain(1).isNotEmpty();
        assertThat(llama.specialTokenIds()).contains(0, 1, 2);
    }

    @Test
    void textAfterASpecialTokenGetsTheSpacePrefixAgain() {
        int[] plain = llama.encode("Hello", false, false);
        int[] afterSpecial = llama.encode("</s>Hello", false, true);
        assertThat(afterSpecial[0]).isEqualTo(2);
        assertThat(java.util.Arrays.copyOfRange(afterSpecial, 1, afterSpecial.length)).containsExactly(plain);
        assertThat(llama.encode("Hello", true, false)).containsExactly(1, 15043);
    }

    @Test
    void unknownCharactersFallBackToByteTokens() {
        // U+1F999 is no piece of the 512-token vocabulary: its four UTF-8 bytes become <0xNN> tokens (id = byte + 3)
        assertThat(stories.encode("\uD83E\uDD99", false, false)).containsExactly(stories.tokenId("\u2581"), 0xF0 + 3, 0x9F + 3, 0xA6 + 3, 0x99 + 3);
    }

    @Test
    void longTextIsFast() {
        String text = "Once upon a time, there was a little girl named Lily. ".repeat(4000);
        long t0 = System.nanoTime();
        int[] ids = llama.encode(text, false, false);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(ids.length).isGreaterThan(40_000);
        assertThat(llama.detokenize(ids, false, false)).isEqualTo(text);
        assertThat(ms).as("ms to encode 200K characters").isLessThan(5000);
    }
}
