package dev.genset.engine.generate;

import dev.genset.engine.model.Model;
import dev.genset.engine.sampling.SamplerConfig;
import dev.genset.engine.tensor.Parallel;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GeneratorTest {
    static Model model;
    static Parallel pool;
    static final String REFERENCE = ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw";

    @BeforeAll
    static void load() throws Exception {
        model = Model.load(TestFiles.storiesModel());
        pool = new Parallel(2);
    }

    @AfterAll
    static void close() {
        pool.close();
        model.close();
    }

    int[] prompt(String text) {
        return model.tokenizer().encode(text, true, true);
    }

    @Test
    void streamedPiecesAddUpToTheResultText() {
        Generator g = new Generator(model, pool, 128, 16);
        List<String> pieces = new ArrayList<>();
        GenerationResult r = g.generate(prompt("Once upon a time"), GenerationOptions.greedy(32), pieces::add, null);
        assertThat(String.join("", pieces)).isEqualTo(r.text()).isEqualTo(REFERENCE);
        assertThat(r.tokens()).hasSize(32);
        assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(r.promptTokens()).isEqualTo(5);
    }

    @Test
    void stopStringSpanningTokensIsNeverEmitted() {
        Generator g = new Generator(model, pool, 128, 16);
        StringBuilder streamed = new StringBuilder();
        var opts = new GenerationOptions(32, SamplerConfig.greedy(), List.of("ttle gi"), false);
        GenerationResult r = g.generate(prompt("Once upon a time"), opts, streamed::append, null);
        assertThat(r.text()).isEqualTo(", there was a li");
        assertThat(streamed.toString()).isEqualTo(r.text());
        assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
    }

    @Test
    void earliestOfSeveralStopStringsWins() {
        Generator g = new Generator(model, pool, 128, 16);
        var opts = new GenerationOptions(32, SamplerConfig.greedy(), List.of("park", "Lily"), false);
        assertThat(g.generate(prompt("Once upon a time"), opts, s -> {}, null).text()).isEqualTo(", there was a little girl named ");
    }

    @Test
    void secondTurnReusesTheCachedPrefixAndGivesTheSameText() {
        Generator g = new Generator(model, pool, 128, 4);
        int[] p1 = prompt("Once upon a time");
        GenerationResult first = g.generate(p1, GenerationOptions.greedy(8), s -> {}, null);
        assertThat(first.cachedTokens()).isZero();
        // The next prompt extends the first conversation: only the new tokens are evaluated.
        int[] p2 = prompt("Once upon a time" + first.text() + " The end.");
        GenerationResult second = g.generate(p2, GenerationOptions.greedy(8), s -> {}, null);
        assertThat(second.cachedTokens()).isGreaterThanOrEqualTo(p1.length);
        Generator fresh = new Generator(model, pool, 128, 4);
        assertThat(fresh.generate(p2, GenerationOptions.greedy(8), s -> {}, null).text()).isEqualTo(second.text());
        // The same prompt again reuses all but its last token.
        assertThat(g.generate(p2, GenerationOptions.greedy(8), s -> {}, null).cachedTokens()).isEqualTo(p2.length - 1);
    }

    @Test
    void batchSizeDoesNotChangeTheOutput() {
        String a = new Generator(model, pool, 128, 1).generate(prompt("Once upon a time"), GenerationOptions.greedy(32), s -> {}, null).text();
        String b = new Generator(model, pool, 128, 3).generate(prompt("Once upon a time"), GenerationOptions.greedy(32), s -> {}, null).text();
        assertThat(a).isEqualTo(b).isEqualTo(REFERENCE);
    }

    @Test
    void generationEndsAtTheContextEdge() {
        Generator g = new Generator(model, pool, 16, 16);
        GenerationResult r = g.generate(prompt("Once upon a time"), new GenerationOptions(-1, SamplerConfig.greedy(), List.of(), true), s -> {}, null);
        assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(r.promptTokens() + r.tokens().length).isEqualTo(16 + 1); // the last token is sampled from the last position's logits
    }

    @Test
    void cancellationIsPolledBetweenTokens() {
        Generator g = new Generator(model, pool, 128, 16);
        AtomicInteger polls = new AtomicInteger();
        GenerationResult r = g.generate(prompt("Once upon a time"), GenerationOptions.greedy(100), s -> {}, () -> polls.incrementAndGet() > 3);
        assertThat(r.finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(r.tokens()).hasSize(3);
    }

    @Test
    void badPromptsAreRefused() {
        Generator g = new Generator(model, pool, 8, 4);
        assertThatThrownBy(() -> g.generate(new int[0], GenerationOptions.greedy(1), s -> {}, null)).hasMessageContaining("empty");
        assertThatThrownBy(() -> g.generate(new int[] {1, 2, 3, 4, 5, 6, 7, 8}, GenerationOptions.greedy(1), s -> {}, null))
                .hasMessage("the prompt has 8 tokens, more than the context size 8 allows (leave room for at least one new token)");
        assertThatThrownBy(() -> g.generate(new int[] {1, 9999}, GenerationOptions.greedy(1), s -> {}, null)).hasMessageContaining("token id 9999 is outside the vocabulary");
    }

    @Test
    void utf8AccumulatorHoldsSplitCharacters() {
        Utf8Accumulator acc = new Utf8Accumulator();
        byte[] llama = "🦙".getBytes(StandardCharsets.UTF_8);
        assertThat(acc.append(new byte[] {'a', llama[0]})).isEqualTo("a");
        assertThat(acc.append(new byte[] {llama[1], llama[2]})).isEmpty();
        assertThat(acc.append(new byte[] {llama[3], 'b'})).isEqualTo("🦙b");
        assertThat(acc.append(new byte[] {(byte) 0xC3})).isEmpty();
        assertThat(acc.flush()).isEqualTo("\uFFFD");
    }

    @Test
    void stopMatcherHoldsBackPossibleStarts() {
        StopMatcher m = new StopMatcher(List.of("</s>", "STOP"));
        assertThat(m.safeLength("hello </")).isEqualTo(6);
        assertThat(m.safeLength("hello ST")).isEqualTo(6);
        assertThat(m.safeLength("hello")).isEqualTo(5);
        assertThat(m.find("a STOP b </s>", 0)).isEqualTo(2);
    }
}
