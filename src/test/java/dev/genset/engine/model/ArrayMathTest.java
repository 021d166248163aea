package dev.genset.engine.model;

import dev.genset.engine.tensor.ColdStart;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** The forward pass's element operations: SwiGLU's gating and the exponential under it. */
class ArrayMathTest {

    /** The vector code, not the cold start's scalar twins (ScalarMathTest compares the two). */
    @BeforeAll
    static void vectors() {
        ColdStart.end();
    }

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
    void aRangeSplitIntoPartsGetsTheSameBitsAsWhole() {
        // what the pool's split of a prompt's gating needs
        SplittableRandom r = new SplittableRandom(7);
        int n = 3 * 4096 + 37;
        float[] gate = new float[n], up = new float[n];
        for (int i = 0; i < n; i++) {
            gate[i] = (float) (r.nextDouble() * 40 - 20);
            up[i] = (float) (r.nextDouble() * 4 - 2);
        }
        float[] whole = gate.clone(), parts = gate.clone();
        ArrayMath.swiGlu(whole, up, n, new float[2 * ArrayMath.LANES]);
        int[] cuts = {0, 4096, 8192, 8192 + 5, 12288, n};
        for (int i = 0; i + 1 < cuts.length; i++)
            ArrayMath.swiGlu(parts, up, cuts[i], cuts[i + 1] - cuts[i], new float[2 * ArrayMath.LANES]);
        for (int i = 0; i < n; i++)
            assertThat(Float.floatToRawIntBits(parts[i])).as("element %d", i).isEqualTo(Float.floatToRawIntBits(whole[i]));
        assertThat(parts[n - 1]).isNotEqualTo(gate[n - 1]);
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

    @Test
    void softmaxNumeratorsAreExpOfTheGapToTheMaximumAndSumInTheirDocumentedOrder() {
        SplittableRandom r = new SplittableRandom(7);
        for (int n = 1; n <= 3 * ArrayMath.LANES + 1; n++) {
            int off = n % 3;
            float[] s = new float[off + n + 3], scores = new float[n];
            for (int i = 0; i < n; i++) s[off + i] = scores[i] = (float) (r.nextDouble() * 40 - 30);
            s[off + n] = 1e9f;  // past the end: neither read as the maximum nor written
            float sum = ArrayMath.softmaxNumerators(s, off, n, new float[ArrayMath.LANES]);
            float max = Float.NEGATIVE_INFINITY;
            for (float x : scores) max = Math.max(max, x);
            for (int i = 0; i < n; i++) {
                float want = (float) Math.exp(scores[i] - max);
                assertThat(Math.abs(s[off + i] - want)).as("n=%d element %d", n, i).isLessThanOrEqualTo(4 * Math.ulp(want) + 1e-37f);
            }
            assertThat(s[off + n]).isEqualTo(1e9f);
            // lane j takes elements j, j + LANES, ... in order (the partial vector's too), then the lanes in order
            int lanes = ArrayMath.LANES;
            float[] laneSums = new float[lanes];
            for (int i = 0; i < n; i++) laneSums[i % lanes] += s[off + i];
            float want = 0f;
            for (float l : laneSums) want += l;
            assertThat(sum).as("n=%d", n).isEqualTo(want);
        }
    }

    @Test
    void aScoreGetsTheSameNumeratorWhateverTheOtherScores() {
        // a row's attention in a prompt sees as many scores as its position, in decoding the same: the
        // numerator of a score depends on it and the maximum only, not on the count or its place
        SplittableRandom r = new SplittableRandom(8);
        int n = 3 * ArrayMath.LANES + 3;
        float[] base = new float[n];
        for (int i = 0; i < n; i++) base[i] = (float) (r.nextDouble() * 20 - 10);
        base[0] = 50f;  // the maximum comes first, so every prefix has the same one
        float[] full = base.clone();
        ArrayMath.softmaxNumerators(full, 0, n, new float[ArrayMath.LANES]);
        for (int m = 1; m < n; m++) {
            float[] prefix = java.util.Arrays.copyOf(base, m);
            ArrayMath.softmaxNumerators(prefix, 0, m, new float[ArrayMath.LANES]);
            for (int i = 0; i < m; i++)
                assertThat(Float.floatToRawIntBits(prefix[i])).as("prefix %d element %d", m, i).isEqualTo(Float.floatToRawIntBits(full[i]));
        }
    }

    @Test
    void weightedSumIsOneFmaATermInOrderForEveryWidthAndRunsOfTermsAddUpToTheWhole() {
        SplittableRandom r = new SplittableRandom(9);
        int stride = 5 * ArrayMath.LANES + 7, n = 37;
        for (int dim = 1; dim <= 5 * ArrayMath.LANES + 3; dim++) {
            float[] w = new float[1 + n], x = new float[3 + n * stride], out = new float[dim + 4], runs = new float[dim + 4];
            for (int t = 0; t < n; t++) w[1 + t] = (float) r.nextDouble();
            for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble() * 2 - 1);
            out[2 + dim] = runs[2 + dim] = 42f;
            ArrayMath.weightedSum(out, 2, w, 1, n, x, 3, stride, dim);
            // the same terms in runs of 5, 11 and the rest, each continuing the last
            ArrayMath.weightedSum(runs, 2, w, 1, 5, x, 3, stride, dim);
            ArrayMath.weightedSum(runs, 2, w, 6, 11, x, 3 + 5 * stride, stride, dim);
            ArrayMath.weightedSum(runs, 2, w, 17, n - 16, x, 3 + 16 * stride, stride, dim);
            for (int i = 0; i < dim; i++) {
                float want = 0f;
                for (int t = 0; t < n; t++) want = Math.fma(x[3 + t * stride + i], w[1 + t], want);
                assertThat(Float.floatToRawIntBits(out[2 + i])).as("dim %d element %d", dim, i).isEqualTo(Float.floatToRawIntBits(want));
                assertThat(Float.floatToRawIntBits(runs[2 + i])).as("runs: dim %d element %d", dim, i).isEqualTo(Float.floatToRawIntBits(want));
            }
            assertThat(out[2 + dim]).isEqualTo(42f);
            assertThat(runs[2 + dim]).isEqualTo(42f);
        }
    }

    @Test
    void twoWeightedSumsOverTheSameRowsAreEachWhatTheyAreAlone() {
        SplittableRandom r = new SplittableRandom(11);
        int stride = 10 * ArrayMath.LANES + 7, n = 29;
        for (int dim = 1; dim <= 9 * ArrayMath.LANES + 3; dim++) {
            float[] w = new float[2 * n + 1], x = new float[3 + n * stride];
            for (int t = 0; t < w.length; t++) w[t] = (float) r.nextDouble();
            for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble() * 2 - 1);
            float[] both = new float[2 * dim + 3], alone = new float[2 * dim + 3];
            for (int i = 0; i < both.length; i++) both[i] = alone[i] = (float) r.nextDouble();  // sums continue from what is there
            ArrayMath.weightedSum2(both, 1, 2 + dim, w, 0, n + 1, n, x, 3, stride, dim);
            ArrayMath.weightedSum(alone, 1, w, 0, n, x, 3, stride, dim);
            ArrayMath.weightedSum(alone, 2 + dim, w, n + 1, n, x, 3, stride, dim);
            for (int i = 0; i < both.length; i++)
                assertThat(Float.floatToRawIntBits(both[i])).as("dim %d element %d", dim, i).isEqualTo(Float.floatToRawIntBits(alone[i]));
        }
    }

    @Test
    void aScoreIsOneFmaAChannelInOrderThenScaled() {
        SplittableRandom r = new SplittableRandom(10);
        int tile = ArrayMath.TILE;
        for (int dim : new int[] {1, 3, 8, 64, 67}) {
            int ko = 5;
            float[] keys = new float[ko + dim * tile + 3], q = new float[2 + dim];
            for (int i = 0; i < keys.length; i++) keys[i] = (float) (r.nextDouble() * 2 - 1);
            for (int i = 0; i < q.length; i++) q[i] = (float) (r.nextDouble() * 2 - 1);
            float scale = 0.125f;
            float[] s = new float[1 + tile + 1];
            s[tile + 1] = 42f;
            ArrayMath.scores(s, 1, q, 2, keys, ko, dim, scale);
            for (int j = 0; j < tile; j++) {
                float want = 0f;
                for (int c = 0; c < dim; c++) want = Math.fma(keys[ko + c * tile + j], q[2 + c], want);
                want *= scale;
                assertThat(Float.floatToRawIntBits(s[1 + j])).as("dim %d position %d", dim, j).isEqualTo(Float.floatToRawIntBits(want));
            }
            assertThat(s[0]).isZero();
            assertThat(s[tile + 1]).isEqualTo(42f);
        }
    }
}
