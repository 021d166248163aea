package dev.genset.engine.model;

import dev.genset.bench.RandomModelWriter;
import dev.genset.engine.tensor.ColdStart;
import dev.genset.engine.tensor.Parallel;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link ScalarMath} gives the same bits as {@link ArrayMath}'s vector code, operation by operation
 * and through a whole forward pass: the {@link ColdStart}'s first pass (these twins and the scalar
 * quantizing of activations) computes what any later pass would.
 */
class ScalarMathTest {

    @BeforeEach
    @AfterEach
    void vectors() {
        ColdStart.end();
    }

    private static void assertSameBits(float[] got, float[] want, String what) {
        assertThat(got).hasSameSizeAs(want);
        for (int i = 0; i < want.length; i++)
            assertThat(Float.floatToRawIntBits(got[i])).as("%s, element %d (%s against %s)", what, i, got[i], want[i])
                    .isEqualTo(Float.floatToRawIntBits(want[i]));
    }

    @Test
    void scoresMatch() {
        SplittableRandom r = new SplittableRandom(1);
        int tile = ArrayMath.TILE;
        for (int dim : new int[] {1, 7, 64, 128, 131}) {
            float[] keys = new float[3 + dim * tile], q = new float[1 + dim];
            for (int i = 0; i < keys.length; i++) keys[i] = (float) (r.nextDouble() * 4 - 2);
            for (int i = 0; i < q.length; i++) q[i] = (float) (r.nextDouble() * 4 - 2);
            float[] scalar = new float[2 + tile], vector = new float[2 + tile];
            ScalarMath.scores(scalar, 1, q, 1, keys, 3, dim, 0.088f);
            ArrayMath.scores(vector, 1, q, 1, keys, 3, dim, 0.088f);
            assertSameBits(scalar, vector, "dim " + dim);
        }
    }

    @Test
    void swiGluMatchesIncludingTailsAndExtremes() {
        SplittableRandom r = new SplittableRandom(2);
        for (int n : new int[] {1, 5, ArrayMath.LANES, 3 * ArrayMath.LANES + 1, 5632}) {
            float[] gate = new float[n + 3], up = new float[n + 3];
            for (int i = 0; i < gate.length; i++) {
                gate[i] = (float) (r.nextDouble() * 200 - 100);
                up[i] = (float) (r.nextDouble() * 6 - 3);
            }
            gate[0] = Float.NaN;
            if (n > 4) {
                gate[2] = Float.NEGATIVE_INFINITY;
                gate[3] = Float.POSITIVE_INFINITY;
                gate[4] = -0f;
            }
            float[] scalar = gate.clone(), vector = gate.clone();
            ScalarMath.swiGlu(scalar, up, 1, n);
            ArrayMath.swiGlu(vector, up, 1, n, new float[2 * ArrayMath.LANES]);
            assertSameBits(scalar, vector, "n " + n);
        }
    }

    @Test
    void expMatchesOverTheWholeRange() {
        // through softmax's numerators: each is exp(s - max), with the maximum 0 here
        int n = 40_000;
        float[] s = new float[n];
        for (int i = 0; i < n; i++) s[i] = -100f + 100f * i / (n - 1);
        float[] scalar = s.clone(), vector = s.clone();
        float a = ScalarMath.softmaxNumerators(scalar, 0, n, new float[ArrayMath.LANES]);
        float b = ArrayMath.softmaxNumerators(vector, 0, n, new float[ArrayMath.LANES]);
        assertSameBits(scalar, vector, "numerators");
        assertThat(Float.floatToRawIntBits(a)).isEqualTo(Float.floatToRawIntBits(b));
    }

    @Test
    void softmaxNumeratorsAndTheirSumMatchForEveryCount() {
        SplittableRandom r = new SplittableRandom(3);
        for (int n = 1; n <= 4 * ArrayMath.LANES + 3; n++) {
            float[] s = new float[n + 2];
            for (int i = 0; i < s.length; i++) s[i] = (float) (r.nextDouble() * 30 - 20);
            float[] scalar = s.clone(), vector = s.clone();
            int off = n % 2;
            float a = ScalarMath.softmaxNumerators(scalar, off, n, new float[ArrayMath.LANES]);
            float b = ArrayMath.softmaxNumerators(vector, off, n, new float[ArrayMath.LANES]);
            assertSameBits(scalar, vector, "n " + n);
            assertThat(Float.floatToRawIntBits(a)).as("sum, n %d", n).isEqualTo(Float.floatToRawIntBits(b));
        }
    }

    @Test
    void weightedSumsMatch() {
        SplittableRandom r = new SplittableRandom(4);
        int n = 23;
        for (int dim : new int[] {1, 9, 64, 4 * ArrayMath.LANES + 5, 128}) {
            int stride = 2 * dim + 3;
            float[] w = new float[2 * n], x = new float[1 + n * stride];
            for (int i = 0; i < w.length; i++) w[i] = (float) r.nextDouble();
            for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble() * 2 - 1);
            float[] scalar = new float[2 * dim + 1], vector = new float[2 * dim + 1];
            for (int i = 0; i < scalar.length; i++) scalar[i] = vector[i] = (float) r.nextDouble();
            ScalarMath.weightedSum(scalar, 0, w, 0, n, x, 1, stride, dim);
            ScalarMath.weightedSum(scalar, dim, w, n, n, x, 1, stride, dim);
            ArrayMath.weightedSum2(vector, 0, dim, w, 0, n, n, x, 1, stride, dim);
            assertSameBits(scalar, vector, "dim " + dim);
        }
    }

    @Test
    void aColdFirstPassComputesWhatAWarmOneDoes(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("m.gguf");
        new RandomModelWriter(WarmUpTest.SMALL, RandomModelWriter.FileType.Q8_0, 5).write(f);
        for (Path file : new Path[] {TestFiles.storiesModel(), f}) {
            try (Model model = Model.load(file); Parallel pool = new Parallel(2)) {
                ColdStart.restart();
                // the five-token prompt runs the scalar twins and quantizer, the next token the vector code
                float[] cold = WarmUpTest.logits(model, model.newTransformer(pool, 8));
                assertThat(ColdStart.on()).as("the cold start ends with the first pass").isFalse();
                float[] warm = WarmUpTest.logits(model, model.newTransformer(pool, 8));
                assertSameBits(cold, warm, file.getFileName().toString());
            }
        }
    }
}
