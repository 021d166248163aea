package dev.genset.engine.tokenizer;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** llama.cpp's tokenizer test vectors (test-tokenizer-0): every case must give exactly the expected ids. */
class ConformanceVectorsTest {

    static Stream<Vocabularies.Case> cases() {
        return Stream.concat(Vocabularies.cases(Vocabularies.LLAMA_SPM).stream(), Vocabularies.cases(Vocabularies.GPT2).stream());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void encodesAsLlamaCpp(Vocabularies.Case c) {
        Tokenizer tokenizer = Vocabularies.vocab(c.vocab());
        assertThat(tokenizer.encode(c.input(), false, false)).as(c.toString()).containsExactly(c.expected());
    }

    /** Both vocabularies can spell any text (byte fallback, byte-level symbols), so decoding gives the input back. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void decodesBackToTheInput(Vocabularies.Case c) {
        Tokenizer tokenizer = Vocabularies.vocab(c.vocab());
        if (tokenizer.addSpacePrefix()) {
            // SentencePiece put a space before the text; detokenize removes it as llama.cpp does
            assertThat(tokenizer.detokenize(c.expected(), false, false)).isEqualTo(c.input());
            assertThat(tokenizer.decode(c.expected())).isEqualTo(c.input().isEmpty() ? "" : " " + c.input());
        } else {
            assertThat(tokenizer.decode(c.expected())).isEqualTo(c.input());
        }
    }
}
