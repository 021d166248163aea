package dev.genset.engine.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class LogProbsTest {

    @Test
    void logSoftmaxIsNormalisedAndShiftInvariant() {
        float[] l = {1000f, 1001f, 999f, 990f};
        float[] lp = LogProbs.logSoftmax(l, l.length, null);
        double sum = 0;
        for (float x : lp) sum += Math.exp(x);
        assertThat(sum).isCloseTo(1.0, within(1e-6));
        float[] shifted = {0f, 1f, -1f, -10f};
        float[] lp2 = LogProbs.logSoftmax(shifted, shifted.length, new float[4]);
        for (int i = 0; i < 4; i++) assertThat(lp[i]).isCloseTo(lp2[i], within(1e-5f));
        assertThat(LogProbs.logprob(l, l.length, 1)).isCloseTo(lp[1], within(1e-6f));
    }

    @Test
    void knownProbabilities() {
        float[] l = {(float) Math.log(0.5), (float) Math.log(0.25), (float) Math.log(0.25)};
        var top = LogProbs.top(l, l.length, 2);
        assertThat(top).hasSize(2);
        assertThat(top.get(0).token()).isZero();
        assertThat(top.get(0).logprob()).isCloseTo((float) Math.log(0.5), within(1e-6f));
        assertThat(top.get(1).token()).isEqualTo(1); // tie with token 2: lower id first
        assertThat(top.get(1).logprob()).isCloseTo((float) Math.log(0.25), within(1e-6f));
        assertThat(LogProbs.top(l, l.length, 10)).hasSize(3);
        assertThat(LogProbs.top(l, l.length, 0)).isEmpty();
    }
}
