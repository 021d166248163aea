package dev.genset.engine.model;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** The forward pass's element operations: SwiGLU's gating and the exponential under it. */
class ArrayMathTest {

    private static float silu(float g) {
        return (float) (g / (1.0 + Math.exp(-g)));
    }

    @Test
    void swiGluIsWithinFourUlpsOfSiluByMathExpOverTheWholeRange() {
        int n = 24_000;  // gates from -87 to 87
        float[] gate = new float[n], up = new float[n];
        for (int i = 0; i < n; i++) {
            gate[i] = -87f + 174f * i / n;
            up[i] = 1f;
        }
        float[] out = gate.clone();
        ArrayMath.swiGlu(out, up, n, new float[2 * ArrayMath.LANES]);
        for (int i = 0; i < n; i++) {
            float want = silu(gate[i]);
            assertThat(Math.abs(out[i] - want)).as("gate %s", gate[i]).isLessThanOrEqualTo(4 * Math.ulp(want));
        }
    }

    @Test
    void swiGluFollowsSiluTimesUpIncludingTheTail() {
        int n = 1003;  // not a whole number of vectors: the tail goes through the masked step
        SplittableRandom r = new SplittableRandom(5);
        float[] gate = new float[n], up = new float[n];
        for (int i = 0; i < n; i++) {
            gate[i] = (float) (r.nextDouble() * 60 - 30);
            up[i] = (float) (r.nextDouble() * 4 - 2);
        }
        float[] out = gate.clone();
        ArrayMath.swiGlu(out, up, n, new float[2 * ArrayMath.LANES]);
        for (int i = 0; i < n; i++) {
            float want = silu(gate[i]) * up[i];
            assertThat(Math.abs(out[i] - want)).as("element %d, gate %s", i, gate[i]).isLessThanOrEqualTo(4 * Math.ulp(want) + 1e-30f);
        }
    }

    @Test
    void anElementGetsTheSameBitsWhereverItSits() {
        // what batch invariance needs: a row's gating does not depend on the row's place in the batch
        SplittableRandom r = new SplittableRandom(6);
        int n = 77;
        float[] gate = new float[n], up = new float[n];
        for (int i = 0; i < n; i++) {
            gate[i] = (float) (r.nextDouble() * 40 - 20);
            up[i] = (float) r.nextDouble();
        }
        float[] alone = gate.clone();
        ArrayMath.swiGlu(alone, up, n, new float[2 * ArrayMath.LANES]);
        for (int shift = 1; shift < 9; shift++) {
            float[] g = new float[n + shift], u = new float[n + shift];
            System.arraycopy(gate, 0, g, shift, n);
            System.arraycopy(up, 0, u, shift, n);
            ArrayMath.swiGlu(g, u, n + shift, new float[2 * ArrayMath.LANES]);
            for (int i = 0; i < n; i++)
                assertThat(Float.floatToRawIntBits(g[shift + i])).as("shift %d element %d", shift, i).isEqualTo(Float.floatToRawIntBits(alone[i]));
        }
    }

    @Test
    void extremeGates() {
        float[] gate = {0f, 100f, -100f, Float.POSITIVE_INFINITY, Float.NaN, 1e-30f}, up = {1f, 2f, 1f, 1f, 1f, 1f};
        ArrayMath.swiGlu(gate, up, gate.length, new float[2 * ArrayMath.LANES]);
        assertThat(gate[0]).isEqualTo(0f);
        assertThat(gate[1]).isEqualTo(200f);
        assertThat(Math.abs(gate[2])).isLessThan(1e-30f);
        assertThat(gate[3]).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(gate[4]).isNaN();
        assertThat(gate[5]).isEqualTo(5e-31f);
    }
}
