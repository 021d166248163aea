package dev.genset.engine.tokenizer;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class StreamingDecoderTest {

    @Test
    void holdsAnEmojiSplitIntoByteTokens() {
        Tokenizer llama = Vocabularies.vocab(Vocabularies.LLAMA_SPM);
        int[] ids = llama.encode("\uD83E\uDD99!", false, false);
        // ▁, the four byte tokens of U+1F999, then "!"
        assertThat(ids).hasSize(6);
        StreamingDecoder decoder = llama.streamingDecoder();
        assertThat(decoder.accept(ids[0])).isEqualTo(" ");
        assertThat(decoder.accept(ids[1])).isEmpty();
        assertThat(decoder.hasPending()).isTrue();
        assertThat(decoder.accept(ids[2])).isEmpty();
        assertThat(decoder.accept(ids[3])).isEmpty();
        assertThat(decoder.accept(ids[4])).isEqualTo("\uD83E\uDD99");
        assertThat(decoder.hasPending()).isFalse();
        assertThat(decoder.accept(ids[5])).isEqualTo("!");
        assertThat(decoder.flush()).isEmpty();
    }

    @Test
    void byteLevelTokensSplittingCharactersComeOutWhole() {
        Tokenizer gpt2 = Vocabularies.vocab(Vocabularies.GPT2);
        String text = " \uD83E\uDD99\uD83D\uDE00 caf\u00e9 \u4f60\u597d\u4e16\u754c \u1780\u17b6\u1793\u17cb";
        int[] ids = gpt2.encode(text, false, false);
        StreamingDecoder decoder = gpt2.streamingDecoder();
        List<String> chunks = new ArrayList<>();
        for (int id : ids) chunks.add(decoder.accept(id));
        assertThat(String.join("", chunks) + decoder.flush()).isEqualTo(text);
        assertThat(chunks).noneMatch(c -> c.contains("\uFFFD"));
        assertThat(chunks).as("some tokens end inside a character").contains("");
    }

    @Test
    void continuationKeepsItsLeadingSpace() {
        Tokenizer stories = Vocabularies.stories();
        StreamingDecoder decoder = stories.streamingDecoder();
        assertThat(decoder.accept(432)).isEqualTo(",");
        assertThat(decoder.accept(383)).isEqualTo(" there");
    }

    @Test
    void controlTokensAreSilentUnlessRendered() {
        Tokenizer stories = Vocabularies.stories();
        assertThat(stories.streamingDecoder().accept(2)).isEmpty();
        assertThat(stories.streamingDecoder().renderingSpecialTokens().accept(2)).isEqualTo("</s>");
    }

    @Test
    void flushReplacesAnUnfinishedCharacter() {
        Tokenizer stories = Vocabularies.stories();
        StreamingDecoder decoder = stories.streamingDecoder();
        assertThat(decoder.accept(3 + 0xE4)).isEmpty();
        assertThat(decoder.flush()).isEqualTo("\uFFFD");
        assertThat(decoder.hasPending()).isFalse();
    }

    @Test
    void invalidBytesAreNotHeldForever() {
        Tokenizer stories = Vocabularies.stories();
        StreamingDecoder decoder = stories.streamingDecoder();
        // a stray continuation byte can never complete: it is replaced at once
        assertThat(decoder.accept(3 + 0x80)).isEqualTo("\uFFFD");
        // a lead byte followed by a non-continuation byte
        assertThat(decoder.accept(3 + 0xC3)).isEmpty();
        assertThat(decoder.accept(3 + 'A')).isEqualTo("\uFFFDA");
    }

    @Test
    void completePrefix() {
        byte[] llamaEmoji = "\uD83E\uDD99".getBytes(StandardCharsets.UTF_8);
        assertThat(StreamingDecoder.completePrefix(new byte[0])).isZero();
        assertThat(StreamingDecoder.completePrefix("ab".getBytes(StandardCharsets.UTF_8))).isEqualTo(2);
        for (int cut = 1; cut < 4; cut++)
            assertThat(StreamingDecoder.completePrefix(java.util.Arrays.copyOf(llamaEmoji, cut))).isZero();
        assertThat(StreamingDecoder.completePrefix(llamaEmoji)).isEqualTo(4);
        assertThat(StreamingDecoder.completePrefix(new byte[]{'a', (byte) 0xC3})).isEqualTo(1);
        assertThat(StreamingDecoder.completePrefix(new byte[]{(byte) 0xFF})).isEqualTo(1);
    }
}
