package dev.genset.engine.sampling;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** llama.cpp's further samplers, each against figures worked out by hand from its definition. */
class AdvancedSamplersTest {

    /** Temperature 1, no other filter, and then {@code a}. */
    private static SamplerConfig with(SamplerConfig.Advanced a, long seed) {
        return new SamplerConfig(1f, 0, 1f, 0f, 1f, 64, 0f, 0f, seed, 1, a);
    }

    private static float[] logitsOf(double... probabilities) {
        float[] l = new float[probabilities.length];
        for (int i = 0; i < l.length; i++) l[i] = (float) Math.log(probabilities[i]);
        return l;
    }

    private static Set<Integer> drawn(SamplerConfig.Advanced a, float[] logits, int draws) {
        Set<Integer> seen = new HashSet<>();
        for (int seed = 0; seed < draws; seed++) seen.add(new Sampler(with(a, seed)).sample(logits, logits.length));
        return seen;
    }

    @Test
    void typicalKeepsTheTokensWhoseSurpriseIsNearTheEntropy() {
        // entropy of (0.5, 0.3, 0.15, 0.05) is 1.1440 nats; surprises are 0.693, 1.204, 1.897, 2.996,
        // so the order by distance is token 1 (0.060), 0 (0.451), 2 (0.753), 3 (1.852)
        float[] l = logitsOf(0.5, 0.3, 0.15, 0.05);
        var a = SamplerConfig.Advanced.NONE.withTypicalP(0.5f);
        Sampler s = new Sampler(with(a, 1));
        s.sample(l, l.length);
        assertThat(s.lastCandidateCount()).as("0.3, then 0.3 + 0.5 passes 0.5").isEqualTo(2);
        assertThat(drawn(a, l, 200)).containsExactlyInAnyOrder(0, 1);
        assertThat(drawn(SamplerConfig.Advanced.NONE.withTypicalP(0.2f), l, 100)).as("0.3 alone passes 0.2").containsExactly(1);
        assertThat(drawn(SamplerConfig.Advanced.NONE.withTypicalP(0.9f), l, 300)).containsExactlyInAnyOrder(0, 1, 2);
    }

    /** Typical may drop the likeliest token; min-p then measures from the likeliest kept, as llama.cpp's chain does. */
    @Test
    void minPAfterTypicalMeasuresFromWhatIsLeft() {
        // entropy of (0.4, 0.2, 0.2, 0.2) is 1.332 nats: the 0.2s (surprise 1.609) are nearer than the 0.4 (0.916)
        float[] l = logitsOf(0.4, 0.2, 0.2, 0.2);
        var a = SamplerConfig.Advanced.NONE.withTypicalP(0.5f);
        Set<Integer> seen = new HashSet<>();
        for (int seed = 0; seed < 200; seed++) seen.add(new Sampler(with(a, seed).withMinP(0.9f)).sample(l, l.length));
        assertThat(seen).containsExactlyInAnyOrder(1, 2, 3);
    }

    @Test
    void xtcRemovesTheLikeliestChoicesButTheLeastOfThem() {
        float[] l = logitsOf(0.5, 0.3, 0.15, 0.05);
        var always = SamplerConfig.Advanced.NONE.withXtc(1f, 0.1f);
        assertThat(drawn(always, l, 300)).as("0.5 and 0.3 go; 0.15 is the least above 0.1 and stays").containsExactlyInAnyOrder(2, 3);
        assertThat(drawn(SamplerConfig.Advanced.NONE.withXtc(1f, 0.4f), l, 300)).as("only one above the threshold: nothing removed")
                .containsExactlyInAnyOrder(0, 1, 2, 3);
        assertThat(drawn(SamplerConfig.Advanced.NONE.withXtc(1f, 0.6f), l, 300)).as("a threshold above 0.5 turns it off").hasSize(4);
        assertThat(drawn(SamplerConfig.Advanced.NONE.withXtc(0f, 0.1f), l, 300)).as("probability 0 turns it off").hasSize(4);
    }

    @Test
    void topNSigmaKeepsTokensNearTheTopLogit() {
        float[] l = {10f, 9f, 0f, 0f, 0f, 0f, 0f, 0f};
        // mean 2.375, standard deviation 4.0601: one sigma below 10 is 5.94, which keeps 10 and 9
        Sampler s = new Sampler(with(SamplerConfig.Advanced.NONE.withTopNSigma(1f), 3));
        s.sample(l, l.length);
        assertThat(s.lastCandidateCount()).isEqualTo(2);
        s = new Sampler(with(SamplerConfig.Advanced.NONE.withTopNSigma(3f), 3));
        s.sample(l, l.length);
        assertThat(s.lastCandidateCount()).as("three sigmas reach below 0").isEqualTo(8);
    }

    @Test
    void dynamicTemperatureFollowsTheEntropy() {
        var a = SamplerConfig.Advanced.NONE.withDynamicTemperature(0.5f, 1f);
        SamplerConfig c = with(a, 1).withTemperature(1f);
        Sampler s = new Sampler(c);
        s.sample(new float[] {1f, 1f, 1f, 1f}, 4);
        assertThat(s.lastTemperature()).as("uniform: the top of the range").isCloseTo(1.5f, within(1e-5f));
        s.sample(logitsOf(0.97, 0.01, 0.01, 0.01), 4);
        // entropy 0.1677 nats of ln 4 = 1.3863: normalized 0.1210, so 0.5 + 1.0 * 0.1210
        assertThat(s.lastTemperature()).isCloseTo(0.621f, within(1e-3f));
        s = new Sampler(with(SamplerConfig.Advanced.NONE.withDynamicTemperature(0.5f, 2f), 1));
        s.sample(logitsOf(0.97, 0.01, 0.01, 0.01), 4);
        assertThat(s.lastTemperature()).as("exponent 2").isCloseTo(0.5f + 0.1210f * 0.1210f, within(1e-3f));
    }

    @Test
    void mirostatTwoCutsAtTheSurpriseBoundAndLearns() {
        float[] l = logitsOf(0.6, 0.25, 0.1, 0.05);
        var a = SamplerConfig.Advanced.NONE.withMirostat(2, 0.5f, 0.1f); // mu starts at 2 tau = 1 bit: only p >= 0.5
        Sampler s = new Sampler(with(a, 7));
        assertThat(s.mu()).isEqualTo(1f);
        assertThat(s.sample(l, l.length)).isZero();
        assertThat(s.lastCandidateCount()).isEqualTo(1);
        // renormalised over the one kept token its surprise is 0: mu += eta * tau
        assertThat(s.mu()).isCloseTo(1.05f, within(1e-6f));
        var loose = new Sampler(with(SamplerConfig.Advanced.NONE.withMirostat(2, 2f, 0.1f), 7)); // mu 4 bits: p >= 1/16 keeps three
        loose.sample(l, l.length);
        assertThat(loose.lastCandidateCount()).isEqualTo(3);
    }

    @Test
    void mirostatOnePicksTheTopKThatMatchesItsTarget() {
        // a Zipf distribution p_i ~ 1/i^s over 1000 tokens: the estimated exponent is s exactly
        int vocab = 1000;
        double s = 1.2;
        float[] l = new float[vocab];
        for (int i = 0; i < vocab; i++) l[i] = (float) (-s * Math.log(i + 1));
        float tau = 3f;
        var sampler = new Sampler(with(SamplerConfig.Advanced.NONE.withMirostat(1, tau, 0.1f), 5));
        sampler.sample(l, vocab);
        double eps = s - 1, mu = 2 * tau;
        int k = (int) Math.pow(eps * Math.pow(2, mu) / (1 - Math.pow(vocab, -eps)), 1 / s);
        assertThat(sampler.lastCandidateCount()).isEqualTo(k);
    }

    @Test
    void mirostatReplacesTheUsualChain() {
        // penalties would push token 0 down; under Mirostat, as in llama.cpp, they are not applied
        var c = with(SamplerConfig.Advanced.NONE.withMirostat(2, 0.3f, 0.1f), 1).withPenalties(100f, 8, 0f, 0f).withTopK(1);
        Sampler s = new Sampler(c);
        s.accept(0);
        assertThat(s.sample(new float[] {5f, 1f, 0f}, 3)).isZero();
    }

    @Test
    void dryPenalisesWhatWouldExtendARepeat() {
        // history 1 2 3 4 1 2 3: emitting 4 would repeat "1 2 3 4" (a repeat of 3 tokens, extended)
        var dry = new SamplerConfig.Dry(0.8f, 1.75f, 2, 64, List.of());
        SamplerConfig c = with(SamplerConfig.Advanced.NONE.withDry(dry), 1);
        Sampler s = new Sampler(c, SequenceBreakers.NONE);
        for (int t : new int[] {1, 2, 3, 4, 1, 2, 3}) s.accept(t);
        float[] logits = new float[8];
        s.applyDry(logits, 8);
        assertThat(logits[4]).isCloseTo(-0.8f * 1.75f, within(1e-6f)); // 3 - 2 = exponent 1
        for (int t : new int[] {0, 1, 2, 3, 5, 6, 7}) assertThat(logits[t]).as("token %d", t).isZero();

        // a longer repeat costs more: 1 2 3 4 5 x 1 2 3 4 -> 5 extends a repeat of 4
        s = new Sampler(c, SequenceBreakers.NONE);
        for (int t : new int[] {1, 2, 3, 4, 5, 6, 1, 2, 3, 4}) s.accept(t);
        logits = new float[8];
        s.applyDry(logits, 8);
        assertThat(logits[5]).isCloseTo((float) (-0.8 * Math.pow(1.75, 2)), within(1e-5f));

        // a repeat no longer than allowed costs nothing: 1 2 x 1 2
        s = new Sampler(c, SequenceBreakers.NONE);
        for (int t : new int[] {1, 2, 7, 5, 1, 2}) s.accept(t);
        logits = new float[8];
        s.applyDry(logits, 8);
        assertThat(logits[7]).as("a repeat of exactly 2 is allowed, extending it is penalised at base^0").isCloseTo(-0.8f, within(1e-6f));
        s = new Sampler(c, SequenceBreakers.NONE);
        for (int t : new int[] {1, 7, 5, 1}) s.accept(t);
        logits = new float[8];
        s.applyDry(logits, 8);
        assertThat(logits).containsOnly(0f);
    }

    @Test
    void dryBreakersCutTheRepeatsItLooksAt() {
        var dry = new SamplerConfig.Dry(1f, 2f, 2, 64, List.of());
        SamplerConfig c = with(SamplerConfig.Advanced.NONE.withDry(dry), 1);
        // 9 is a breaker alone; 6 7 is a two-token breaker
        SequenceBreakers breakers = SequenceBreakers.ofTokens(new int[] {9}, new int[] {6, 7});
        Sampler s = new Sampler(c, breakers);
        for (int t : new int[] {1, 2, 3, 4, 1, 9, 2, 3}) s.accept(t);
        float[] logits = new float[10];
        s.applyDry(logits, 10);
        assertThat(logits[4]).as("2 3 repeats, but only 2 tokens since the breaker 9: at the limit").isCloseTo(-1f, within(1e-6f));

        s = new Sampler(c, breakers);
        for (int t : new int[] {1, 2, 3, 4, 6, 7, 2, 3}) s.accept(t);
        logits = new float[10];
        s.applyDry(logits, 10);
        assertThat(logits[4]).isCloseTo(-1f, within(1e-6f));

        s = new Sampler(c, breakers);
        for (int t : new int[] {1, 2, 3, 9, 1, 2, 3}) s.accept(t);
        logits = new float[10];
        s.applyDry(logits, 10);
        assertThat(logits[9]).as("a breaker by itself is never penalised").isZero();
    }

    @Test
    void dryRunsInTheChainAndItsWindowSlides() {
        var dry = new SamplerConfig.Dry(100f, 1.75f, 2, 4, List.of());
        SamplerConfig c = with(SamplerConfig.Advanced.NONE.withDry(dry), 1).withTemperature(0f);
        Sampler s = new Sampler(c, SequenceBreakers.NONE);
        for (int t : new int[] {1, 2, 3, 1, 2}) s.accept(t);
        // window of 4: 2 3 1 2; emitting 3 would repeat "2 3": only one token of the window repeats (2), so 3 is free
        assertThat(s.sample(new float[] {0f, 0f, 0f, 1f}, 4)).isEqualTo(3);
        var wide = new Sampler(with(SamplerConfig.Advanced.NONE.withDry(new SamplerConfig.Dry(100f, 1.75f, 2, 64, List.of())), 1)
                .withTemperature(0f), SequenceBreakers.NONE);
        for (int t : new int[] {1, 2, 3, 1, 2}) wide.accept(t);
        assertThat(wide.sample(new float[] {0f, 0f, 0f, 1f}, 4)).as("1 2 repeats: 3 would extend it").isNotEqualTo(3);
    }

    @Test
    void theZFunction() {
        int[] s = {1, 2, 1, 2, 1, 3, 1, 2};
        int[] z = new int[s.length];
        Sampler.zFunction(s, s.length, z);
        assertThat(z).containsExactly(8, 0, 3, 0, 1, 0, 2, 0);
    }

    @Test
    void badSettingsAreRefused() {
        assertThatThrownBy(() -> SamplerConfig.Advanced.NONE.withMirostat(3, 5f, 0.1f)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> SamplerConfig.Advanced.NONE.withTypicalP(Float.NaN)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new SamplerConfig.Dry(1f, 1.75f, -1, 64, List.of())).isInstanceOf(IllegalArgumentException.class);
        assertThat(SamplerConfig.Dry.OFF.enabled()).isFalse();
        assertThat(SamplerConfig.defaults().advanced()).isEqualTo(SamplerConfig.Advanced.NONE);
    }

    /** Breakers as LLaMA's tokens: a token that contains one breaks alone, one that ends with its beginning needs the rest to follow. */
    @Test
    void breakersResolvedAgainstAVocabulary() {
        dev.genset.engine.tokenizer.Tokenizer tok = dev.genset.testing.TestFiles.llamaTokenizer();
        SequenceBreakers b = SequenceBreakers.of(tok, List.of("\n", "Once"));
        int newline = tok.tokenId("<0x0A>"), once = tok.tokenId("Once"), on = tok.tokenId("On");
        assertThat(b.breaksAlone(newline)).isTrue();
        assertThat(b.breaksAlone(once)).isTrue();
        assertThat(b.breaksAlone(on)).isFalse();
        int[] rest = tok.encode("ce", false, false);
        assertThat(b.tails(on)).as("'On' then the tokens of 'ce'").anySatisfy(t -> assertThat(t).containsExactly(rest));
        assertThat(b.breaksAlone(tok.tokenId("cat"))).isFalse();
        assertThat(SequenceBreakers.of(tok, List.of("\n", "Once"))).as("computed once per vocabulary and list").isSameAs(b);
    }
}
