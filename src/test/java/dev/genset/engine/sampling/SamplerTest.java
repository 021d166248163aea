package dev.genset.engine.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.HashSet;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SamplerTest {

    private static float[] randomLogits(int n, long seed) {
        var r = new Random(seed);
        float[] l = new float[n];
        for (int i = 0; i < n; i++) l[i] = (float) (r.nextGaussian() * 3);
        return l;
    }

    /** Plain sampling: no filters, temperature 1, so every token can come out. */
    private static SamplerConfig plain(long seed) {
        return new SamplerConfig(1f, 0, 1f, 0f, 1f, 64, 0f, 0f, seed, 1);
    }

    @Test
    void defaultsMatchLlamaCpp() {
        var d = SamplerConfig.defaults();
        assertThat(d.temperature()).isEqualTo(0.8f);
        assertThat(d.topK()).isEqualTo(40);
        assertThat(d.topP()).isEqualTo(0.95f);
        assertThat(d.minP()).isEqualTo(0.05f);
        assertThat(d.repeatPenalty()).isEqualTo(1f);
        assertThat(d.repeatLastN()).isEqualTo(64);
        assertThat(d.frequencyPenalty()).isZero();
        assertThat(d.presencePenalty()).isZero();
        assertThat(d.penaltiesEnabled()).isFalse();
        assertThat(SamplerConfig.greedy().isGreedy()).isTrue();
    }

    @Test
    void greedyIsArgmax() {
        var s = new Sampler(SamplerConfig.greedy());
        for (int seed = 0; seed < 20; seed++) {
            float[] l = randomLogits(1000, seed);
            assertThat(s.sample(l, l.length)).isEqualTo(Sampler.argmax(l, l.length));
        }
        float[] l = {1f, 5f, -2f, 5f, 3f};
        assertThat(s.sample(l, l.length)).isEqualTo(1); // tie goes to the lowest id
        assertThat(new Sampler(SamplerConfig.defaults().withTemperature(-1f)).sample(l, l.length)).isEqualTo(1);
    }

    @Test
    void sampleRespectsVocabSizeAndLeavesLogitsAlone() {
        float[] l = {0f, 1f, 2f, 100f}; // padded entry beyond the vocabulary must be ignored
        float[] copy = l.clone();
        var s = new Sampler(SamplerConfig.greedy().withPenalties(2f, 8, 1f, 1f));
        s.accept(2);
        assertThat(s.sample(l, 3)).isEqualTo(1); // 2 -> 2/2 - 1 - 1 = -1
        assertThat(l).containsExactly(copy);
    }

    @Test
    void sameSeedReproducesDifferentSeedsDiffer() {
        float[] l = randomLogits(500, 1);
        int[] a = run(plain(42), l, 200), b = run(plain(42), l, 200), c = run(plain(43), l, 200);
        assertThat(a).containsExactly(b);
        assertThat(a).isNotEqualTo(c);
        // defaults too (filters on), with a changing logits sequence
        var s1 = new Sampler(SamplerConfig.defaults().withSeed(7));
        var s2 = new Sampler(SamplerConfig.defaults().withSeed(7));
        for (int step = 0; step < 50; step++) {
            float[] x = randomLogits(300, 100 + step);
            int t1 = s1.sample(x, x.length), t2 = s2.sample(x, x.length);
            assertThat(t1).isEqualTo(t2);
            s1.accept(t1);
            s2.accept(t2);
        }
    }

    private static int[] run(SamplerConfig cfg, float[] logits, int steps) {
        var s = new Sampler(cfg);
        int[] out = new int[steps];
        for (int i = 0; i < steps; i++) out[i] = s.sample(logits, logits.length);
        return out;
    }

    @Test
    void plainSamplingFollowsTheSoftmax() {
        float[] l = {0f, (float) Math.log(3)}; // p = 0.25, 0.75
        int ones = 0, n = 20_000;
        var s = new Sampler(plain(5));
        for (int i = 0; i < n; i++) ones += s.sample(l, 2);
        assertThat(ones / (double) n).isCloseTo(0.75, within(0.02));
    }

    @Test
    void topKOneEqualsGreedy() {
        var s = new Sampler(plain(3).withTopK(1));
        for (int seed = 0; seed < 30; seed++) {
            float[] l = randomLogits(2000, seed);
            assertThat(s.sample(l, l.length)).isEqualTo(Sampler.argmax(l, l.length));
            assertThat(s.lastCandidateCount()).isEqualTo(1);
        }
    }

    @Test
    void topKKeepsOnlyTheKBest() {
        float[] l = {5f, 4f, 3f, 2f, 1f, 0f};
        var s = new Sampler(plain(9).withTopK(3));
        var seen = new HashSet<Integer>();
        for (int i = 0; i < 2000; i++) seen.add(s.sample(l, l.length));
        assertThat(seen).containsExactlyInAnyOrder(0, 1, 2);
    }

    @Test
    void topPKeepsTheSmallestPrefixReachingP() {
        // probabilities 0.5, 0.3, 0.15, 0.05
        float[] l = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.15), (float) Math.log(0.05)};
        assertThat(candidates(plain(1).withTopP(0.75f), l)).isEqualTo(2); // 0.5 < 0.75 <= 0.8
        assertThat(candidates(plain(1).withTopP(0.85f), l)).isEqualTo(3); // 0.8 < 0.85 <= 0.95
        assertThat(candidates(plain(1).withTopP(0.4f), l)).isEqualTo(1);
        assertThat(candidates(plain(1).withTopP(1f), l)).isEqualTo(4);
        assertThat(candidates(plain(1).withTopP(0.4f).withMinKeep(2), l)).isEqualTo(2);
        var s = new Sampler(plain(11).withTopP(0.75f));
        var seen = new HashSet<Integer>();
        for (int i = 0; i < 2000; i++) seen.add(s.sample(l, l.length));
        assertThat(seen).containsExactlyInAnyOrder(0, 1);
    }

    @Test
    void minPDropsTokensBelowAFractionOfTheBest() {
        // probabilities 0.6, 0.3, 0.07, 0.03: min_p 0.1 keeps p >= 0.06
        float[] l = {(float) Math.log(0.6), (float) Math.log(0.3), (float) Math.log(0.07), (float) Math.log(0.03)};
        assertThat(candidates(plain(1).withMinP(0.1f), l)).isEqualTo(3);
        assertThat(candidates(plain(1).withMinP(0.6f), l)).isEqualTo(1);
        assertThat(candidates(plain(1).withMinP(0.01f), l)).isEqualTo(4);
        var s = new Sampler(plain(13).withMinP(0.1f));
        var seen = new HashSet<Integer>();
        for (int i = 0; i < 3000; i++) seen.add(s.sample(l, l.length));
        assertThat(seen).containsExactlyInAnyOrder(0, 1, 2);
    }

    @Test
    void filtersApplyInLlamaCppOrder() {
        // top-k runs first, so top-p sees {0.4, 0.3, 0.2} renormalised to 0.444, 0.333, 0.222
        float[] l = {(float) Math.log(0.4), (float) Math.log(0.3), (float) Math.log(0.2), (float) Math.log(0.1)};
        assertThat(candidates(plain(1).withTopP(0.85f), l)).isEqualTo(3); // 0.7 < 0.85 <= 0.9
        assertThat(candidates(plain(1).withTopK(3).withTopP(0.85f), l)).isEqualTo(3); // 0.778 < 0.85 <= 1
        assertThat(candidates(plain(1).withTopK(3).withTopP(0.75f), l)).isEqualTo(2); // 0.444, 0.778 >= 0.75
        assertThat(candidates(plain(1).withTopP(0.75f), l)).isEqualTo(3); // 0.4, 0.7, 0.9 >= 0.75
    }

    private static int candidates(SamplerConfig cfg, float[] logits) {
        var s = new Sampler(cfg);
        s.sample(logits, logits.length);
        return s.lastCandidateCount();
    }

    @Test
    void repeatPenaltyDividesPositiveAndMultipliesNegativeLogits() {
        var s = new Sampler(plain(1).withPenalties(2f, 64, 0f, 0f));
        s.accept(0);
        s.accept(1);
        s.accept(1);
        float[] l = {4f, -3f, 5f, 0f};
        s.applyPenalties(l, 4);
        assertThat(l).containsExactly(2f, -6f, 5f, 0f); // repeated once or twice: the repeat penalty applies once
    }

    @Test
    void frequencyAndPresencePenalties() {
        var s = new Sampler(plain(1).withPenalties(1f, 64, 0.5f, 0.25f));
        for (int t : new int[] {2, 2, 2, 0}) s.accept(t);
        float[] l = {1f, 1f, 1f, 1f};
        s.applyPenalties(l, 4);
        assertThat(l[0]).isEqualTo(1f - 0.5f - 0.25f);
        assertThat(l[1]).isEqualTo(1f);
        assertThat(l[2]).isEqualTo(1f - 3 * 0.5f - 0.25f);
        assertThat(l[3]).isEqualTo(1f);
        // and again: counts were reset after the previous call, not accumulated
        float[] m = {1f, 1f, 1f, 1f};
        s.applyPenalties(m, 4);
        assertThat(m).containsExactly(l);
    }

    @Test
    void penaltiesOnlySeeTheLastNTokens() {
        var s = new Sampler(plain(1).withPenalties(1f, 2, 1f, 0f));
        for (int t : new int[] {0, 0, 1, 2}) s.accept(t); // window holds 1, 2
        float[] l = {0f, 0f, 0f};
        s.applyPenalties(l, 3);
        assertThat(l).containsExactly(0f, -1f, -1f);
        s.reset();
        float[] m = {0f, 0f, 0f};
        s.applyPenalties(m, 3);
        assertThat(m).containsExactly(0f, 0f, 0f);
    }

    @Test
    void penaltiesSteerGreedySampling() {
        var s = new Sampler(SamplerConfig.greedy().withPenalties(1.5f, 64, 0f, 0f));
        float[] l = {3f, 2.5f};
        assertThat(s.sample(l, 2)).isZero();
        s.accept(0);
        assertThat(s.sample(l, 2)).isEqualTo(1); // 3 / 1.5 = 2 < 2.5
    }

    @Test
    void topKSelectionMatchesAFullSort() {
        for (int seed = 0; seed < 10; seed++) {
            float[] l = randomLogits(5000, seed);
            l[17] = l[4000] = 100f; // a tie at the top: lower id first
            int[] out = new int[50];
            int n = TopK.select(l, l.length, 50, out);
            Integer[] all = new Integer[l.length];
            for (int i = 0; i < l.length; i++) all[i] = i;
            java.util.Arrays.sort(all, (a, b) -> l[a] != l[b] ? Float.compare(l[b], l[a]) : Integer.compare(a, b));
            assertThat(n).isEqualTo(50);
            for (int i = 0; i < 50; i++) assertThat(out[i]).isEqualTo(all[i]);
        }
    }
}
