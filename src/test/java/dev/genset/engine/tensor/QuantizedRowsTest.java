package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class QuantizedRowsTest {

    @Test
    void quantizesLikeLlamaCpp() {
        // one block: amax 2.54 at element 3, so d = 0.02 (as fp16) and values round half to even
        float[] x = new float[32];
        x[0] = 1f;       // 1 * 127 / 2.54 = 50
        x[1] = -0.01f;   // -0.5 -> -0 (half to even)
        x[2] = 0.03f;    // 1.5 -> 2 (half to even)
        x[3] = -2.54f;   // -127
        QuantizedRows q = new QuantizedRows();
        q.quantize(x, 1, 32);
        assertThat(q.q[0]).isEqualTo((short) 50);
        assertThat(q.q[1]).isEqualTo((short) 0);
        assertThat(q.q[2]).isEqualTo((short) 2);
        assertThat(q.q[3]).isEqualTo((short) -127);
        assertThat(q.q[4]).isEqualTo((short) 0);
        assertThat(q.d[0]).isEqualTo(Float.float16ToFloat(Float.floatToFloat16(2.54f / 127f)));
        assertThat(q.scaledSums[0]).isEqualTo(q.d[0] * (50 + 0 + 2 - 127));
    }

    @Test
    void anAllZeroBlockStaysZeroAndOddWidthsAreRefused() {
        QuantizedRows q = new QuantizedRows();
        q.quantize(new float[64], 2, 32);
        for (int i = 0; i < 64; i++) assertThat(q.q[i]).isZero();
        assertThat(q.d[0]).isZero();
        assertThatThrownBy(() -> q.quantize(new float[40], 1, 40)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void everyValueIsWithinHalfAStepOfTheInput() {
        int rows = 3, cols = 256;
        float[] x = TensorTestData.activations(7, rows * cols);
        QuantizedRows q = new QuantizedRows();
        q.quantize(x, rows, cols);
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < cols; i++) {
                float d = q.d[r * (cols / 32) + i / 32];
                assertThat(Math.abs(q.q[r * cols + i])).isLessThanOrEqualTo(127);
                // half a step, plus what rounding the scale to fp16 moves the largest value (2^-11 relative)
                assertThat((double) q.value(r, i)).isCloseTo(x[r * cols + i], org.assertj.core.data.Offset.offset(d * (0.5 + 127 * 0x1p-11) + 1e-12));
            }
    }

    /** Spread over threads (rows not a whole number of fours, enough work to be shared), the same arrays as on one thread. */
    @Test
    void quantizingOnThePoolGivesTheOneThreadValues() {
        int rows = 11, cols = 3200, half = cols / 2, blocks = cols / 32;
        float[] x = TensorTestData.activations(9, rows * cols);
        QuantizedRows one = new QuantizedRows(), shared = new QuantizedRows();
        try (Parallel alone = new Parallel(1); Parallel pool = new Parallel(3)) {
            one.quantize(alone, x, rows, cols, true, true, true, true);
            shared.quantize(pool, x, rows, cols, true, true, true, true);
        }
        assertThat(java.util.Arrays.copyOf(shared.q, rows * cols)).containsExactly(java.util.Arrays.copyOf(one.q, rows * cols));
        assertThat(java.util.Arrays.copyOf(shared.d, rows * blocks)).containsExactly(java.util.Arrays.copyOf(one.d, rows * blocks));
        assertThat(java.util.Arrays.copyOf(shared.sums, rows * blocks)).containsExactly(java.util.Arrays.copyOf(one.sums, rows * blocks));
        assertThat(java.util.Arrays.copyOf(shared.scaledSums, rows * blocks)).containsExactly(java.util.Arrays.copyOf(one.scaledSums, rows * blocks));
        assertThat(java.util.Arrays.copyOf(shared.pairs, rows * half)).containsExactly(java.util.Arrays.copyOf(one.pairs, rows * half));
        assertThat(java.util.Arrays.copyOf(shared.pairs4, 8 * half)).containsExactly(java.util.Arrays.copyOf(one.pairs4, 8 * half));
        assertThat(java.util.Arrays.copyOf(shared.steps, rows * half)).containsExactly(java.util.Arrays.copyOf(one.steps, rows * half));
        assertThat(java.util.Arrays.copyOf(shared.steps4, 8 * half)).containsExactly(java.util.Arrays.copyOf(one.steps4, 8 * half));
        assertThat(java.util.Arrays.copyOf(shared.d4, 8 * blocks)).containsExactly(java.util.Arrays.copyOf(one.d4, 8 * blocks));
        assertThat(java.util.Arrays.copyOf(shared.sums4, 8 * blocks)).containsExactly(java.util.Arrays.copyOf(one.sums4, 8 * blocks));
        assertThat(java.util.Arrays.copyOf(shared.scaledSums4, 8 * blocks)).containsExactly(java.util.Arrays.copyOf(one.scaledSums4, 8 * blocks));
        assertThat(java.util.Arrays.copyOf(shared.values, rows * cols)).containsExactly(java.util.Arrays.copyOf(one.values, rows * cols));
        for (int i = 0; i < rows * cols; i++) assertThat(shared.values[i]).isEqualTo(shared.q[i]);
    }

    /** The vector kernels (single row and tiles) agree with the scalar reference within float rounding. */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void integerKernelsAgreeWithTheScalarReference(GgmlType type) {
        org.junit.jupiter.api.Assumptions.assumeTrue(Simd.ENABLED);
        int rows = 10, cols = 512, batch = 3;
        FloatTensor w = TensorTestData.quantized(type, TensorTestData.weights(3, rows * cols));
        float[] x = TensorTestData.activations(4, batch * cols);
        QuantizedRows q = new QuantizedRows();
        q.quantize(x, batch, cols);
        float[] out = TensorTestData.products(w, x, batch, rows, cols);
        for (int b = 0; b < batch; b++)
            for (int r = 0; r < rows; r++) {
                float ref = IntKernels.dotReference(w, (long) r * (cols / 32), q, b, cols / 32);
                double mag = 0;
                for (int i = 0; i < cols; i++) mag += Math.abs((double) w.getFloat((long) r * cols + i) * q.value(b, i));
                assertThat((double) out[b * rows + r]).as("b=%d r=%d", b, r).isCloseTo(ref, org.assertj.core.data.Offset.offset(1e-5 * mag));
            }
    }

    /**
     * The steps' promise: a 16-bit lane holding a byte of two quants (low nibble a, high nibble b),
     * multiplied as it is by the pair's quant and shifted down 4 bits times the step, sums (wrapping in
     * 16 bits) to a * x_low + b * x_high, for every run of four, extremes included.
     */
    @Test
    void stepsTelescopeToTheDotProduct() {
        int cols = 64;
        float[] x = TensorTestData.activations(5, cols);
        for (int j = 0; j < 8; j++) x[j] = j % 2 == 0 ? 9f : -9f;  // quants of +-127
        for (int j = 8; j < 16; j++) x[j] = -9f;
        QuantizedRows q = new QuantizedRows();
        try (Parallel pool = new Parallel(1)) {
            q.quantize(pool, x, 1, cols, false, true, false, false);
        }
        for (int run = 0; run < cols / 4; run++)
            for (int lane = 0; lane < 256; lane++)
                for (int e = 0; e < 2; e++) {
                    short pair = (short) (q.steps[2 * run] >> 16 * e), step = (short) (q.steps[2 * run + 1] >> 16 * e);
                    short sum = (short) ((short) (lane * pair) + (short) ((lane >>> 4) * step));
                    int want = (lane & 15) * q.q[4 * run + e] + (lane >>> 4) * q.q[4 * run + 2 + e];
                    assertThat((int) sum).as("run %d lane %d e %d", run, lane, e).isEqualTo(want);
                }
        assertThat(q.q[0]).isEqualTo((short) 127);
        assertThat(q.q[1]).isEqualTo((short) -127);
    }

    /** The vector quantization gives the scalar reference's quants, scales and sums bit for bit, edge values included. */
    @Test
    void vectorQuantizationMatchesTheScalarReference() {
        java.util.List<float[]> blocks = new java.util.ArrayList<>();
        java.util.Random random = new java.util.Random(7);
        for (int n = 0; n < 2000; n++) {
            float[] b = new float[32];
            float magnitude = (float) Math.pow(10, random.nextInt(12) - 6);
            for (int j = 0; j < 32; j++) b[j] = (float) random.nextGaussian() * magnitude;
            blocks.add(b);
        }
        float[] ties = new float[32];  // products at exact halves: 127 * k / 127 stepped by 0.5
        for (int j = 0; j < 32; j++) ties[j] = j % 2 == 0 ? (j - 16) + 0.5f : -(j - 16) - 0.5f;
        ties[0] = 127f;
        blocks.add(ties);
        blocks.add(new float[32]);
        float[] negativeZeros = new float[32];
        Arrays.fill(negativeZeros, -0f);
        blocks.add(negativeZeros);
        for (float special : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MIN_VALUE, 1e-40f, Float.MAX_VALUE}) {
            float[] b = blocks.get(3).clone();
            b[5] = special;
            blocks.add(b);
            float[] tiny = new float[32];
            Arrays.fill(tiny, 0, 7, special);
            blocks.add(tiny);
        }
        for (float[] b : blocks) {
            short[] q1 = new short[32], q2 = new short[32];
            float[] d1 = new float[1], d2 = new float[1], s1 = new float[1], s2 = new float[1];
            int[] n1 = new int[1], n2 = new int[1];
            QuantizedRows.quantizeBlockScalar(b, 0, q1, d1, s1, n1, 0);
            QuantizedRows.quantizeBlockVector(b, 0, q2, d2, s2, n2, 0);
            String what = Arrays.toString(b);
            assertThat(q2).as(what).containsExactly(q1);
            assertThat(Float.floatToRawIntBits(d2[0])).as(what).isEqualTo(Float.floatToRawIntBits(d1[0]));
            assertThat(Float.floatToRawIntBits(s2[0])).as(what).isEqualTo(Float.floatToRawIntBits(s1[0]));
            assertThat(n2[0]).as(what).isEqualTo(n1[0]);
        }
    }
}
