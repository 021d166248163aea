package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The 512-bit decoding kernels ({@link IntKernels#dotQ4_0x16w}, {@link IntKernels#dotQ4_Kx16w},
 * {@link IntKernels#dotQ8_0x16w}, {@link IntKernels#dotQ6_Kx16w}) give
 * what their 256-bit forms give, bit for bit, so a row's product does not depend on the CPU's vector
 * width or on whether it decodes alone or in a batch. Called directly, so they are checked on any
 * CPU (where 512-bit vectors are not native the Vector API computes them in Java: slow, but the same).
 */
class WideKernelsTest {
    private static final int COLS = 768, BLOCKS = COLS / 32, ROWS = 16, BATCH = 3;

    /** Activations with a block at full scale both ways (quants of +-127), where the 16-bit sums are largest. */
    private static QuantizedRows activations() {
        float[] x = TensorTestData.activations(21, BATCH * COLS);
        for (int j = 0; j < 32; j++) x[j] = j % 2 == 0 ? 50f : -50f;
        for (int j = 32; j < 64; j++) x[j] = -50f;
        QuantizedRows q = new QuantizedRows();
        try (Parallel pool = new Parallel(1)) {
            q.quantize(pool, x, BATCH, COLS, true, true, false, false);
        }
        q.spreadAll();
        return q;
    }

    /** A product of the 16 rows of groups 0 and 1 with activation row b, to out. */
    @FunctionalInterface
    private interface Product {
        void run(int b, float[] out);
    }

    private static void assertSame(Product narrow, Product wide) {
        for (int b = 0; b < BATCH; b++) {
            float[] want = new float[ROWS], got = new float[ROWS];
            narrow.run(b, want);
            wide.run(b, got);
            assertThat(got).as("activation row %d", b).containsExactly(want);
            assertThat(want).as("not all zero").isNotEqualTo(new float[ROWS]);
        }
    }

    @Test
    void q4_0MatchesTheNarrowKernel() {
        var w = (Q4_0Tensor) TensorTestData.quantized(GgmlType.Q4_0, TensorTestData.weights(22, ROWS * COLS));
        try (Parallel pool = new Parallel(1)) {
            InterleavedQ4_0 p = w.interleaved(pool, COLS);
            QuantizedRows x = activations();
            float[] dw = new float[8 * BLOCKS + 8], dw2 = new float[8 * BLOCKS + 8];  // the wide kernel's 8 floats past the end
            IntKernels.groupScales(p.data, InterleavedQ4_0.scales(0, BLOCKS), BLOCKS, dw);
            IntKernels.groupScales(p.data, InterleavedQ4_0.scales(1, BLOCKS), BLOCKS, dw2);
            assertSame((b, out) -> IntKernels.dotQ4_0x16(p.data, 0, BLOCKS, dw, dw2, x.steps, x.sums, x.d, b * BLOCKS, out, 0),
                    (b, out) -> IntKernels.dotQ4_0x16w(p.data, 0, BLOCKS, dw, dw2, x.wideSteps, x.sums, x.d, b * BLOCKS, out, 0));
        } finally {
            w.release();
        }
    }

    @Test
    void q4_KMatchesTheNarrowKernel() {
        assertQ4_KMatches(TensorTestData.weights(25, ROWS * COLS), activations());
    }

    /**
     * Q4_K quants of 15 (one 0 a sub-block, so the scale puts the rest at 15) against activation
     * quants of 127: each sub-block's sums of q * x near 60,000, past a short, in both kernels.
     */
    @Test
    void largeQ4_KSumsStayExact() {
        float[] values = new float[ROWS * COLS];
        for (int i = 0; i < values.length; i++) values[i] = i % 32 == 0 ? 0f : 1f + (i / COLS) * 0.125f;
        float[] xs = new float[BATCH * COLS];
        java.util.Arrays.fill(xs, 1f);
        QuantizedRows x = new QuantizedRows();
        try (Parallel pool = new Parallel(1)) {
            x.quantize(pool, xs, BATCH, COLS, true, true, false, false);
        }
        x.spreadAll();
        assertQ4_KMatches(values, x);
    }

    private static void assertQ4_KMatches(float[] weights, QuantizedRows x) {
        int superBlocks = COLS / 256;
        var w = (Q4_KTensor) TensorTestData.quantized(GgmlType.Q4_K, weights);
        try (Parallel pool = new Parallel(1)) {
            InterleavedQ4_K p = w.interleaved(pool, COLS);
            float[] sm = new float[16 * BLOCKS], sm2 = new float[16 * BLOCKS], pair = new float[32 * BLOCKS];
            IntKernels.groupScalesQ4_K(p.data, 0, superBlocks, sm);
            IntKernels.groupScalesQ4_K(p.data, 1, superBlocks, sm2);
            IntKernels.pairScalesQ4_K(p.data, 0, superBlocks, pair);
            for (int k = 0; k < BLOCKS; k++)  // the pair's form: both groups' scales, then both groups' mins negated
                for (int r = 0; r < 8; r++) {
                    assertThat(pair[32 * k + r]).isEqualTo(sm[16 * k + r]);
                    assertThat(pair[32 * k + 8 + r]).isEqualTo(sm2[16 * k + r]);
                    assertThat(pair[32 * k + 16 + r]).isEqualTo(-sm[16 * k + 8 + r]);
                    assertThat(pair[32 * k + 24 + r]).isEqualTo(-sm2[16 * k + 8 + r]);
                }
            assertSame((b, out) -> IntKernels.dotQ4_Kx16(p.data, 0, superBlocks, sm, sm2, x.steps, x.d, x.scaledSums, b * BLOCKS, out, 0),
                    (b, out) -> IntKernels.dotQ4_Kx16w(p.data, 0, superBlocks, pair, x.wideSteps, x.d, x.scaledSums, b * BLOCKS, out, 0));
        } finally {
            w.release();
        }
    }

    @Test
    void q8_0MatchesTheNarrowKernel() {
        var w = (Q8_0Tensor) TensorTestData.quantized(GgmlType.Q8_0, TensorTestData.weights(23, ROWS * COLS));
        try (Parallel pool = new Parallel(1)) {
            InterleavedQ8_0 p = w.interleaved(pool, COLS);
            QuantizedRows x = activations();
            float[] dw = new float[8 * BLOCKS], dw2 = new float[8 * BLOCKS];
            IntKernels.groupScales(p.data, InterleavedQ8_0.scales(0, BLOCKS), BLOCKS, dw);
            IntKernels.groupScales(p.data, InterleavedQ8_0.scales(1, BLOCKS), BLOCKS, dw2);
            assertSame((b, out) -> IntKernels.dotQ8_0x16(p.data, 0, BLOCKS, dw, dw2, x.pairs, x.d, b * BLOCKS, out, 0),
                    (b, out) -> IntKernels.dotQ8_0x16w(p.data, 0, BLOCKS, dw, dw2, x.widePairs, x.d, b * BLOCKS, out, 0));
        } finally {
            w.release();
        }
    }

    @Test
    void q6_KMatchesTheNarrowKernel() {
        int superBlocks = COLS / 256;
        var w = (Q6_KTensor) TensorTestData.quantized(GgmlType.Q6_K, TensorTestData.weights(24, ROWS * COLS));
        try (Parallel pool = new Parallel(1)) {
            InterleavedQ6_K p = w.interleaved(pool, COLS);
            QuantizedRows x = activations();
            float[] scales = new float[8 * 16 * superBlocks], scales2 = new float[8 * 16 * superBlocks];
            IntKernels.groupScalesQ6_K(p.data, 0, superBlocks, scales);
            IntKernels.groupScalesQ6_K(p.data, 1, superBlocks, scales2);
            float[] pair = new float[16 * 16 * superBlocks];
            IntKernels.pairScalesQ6_K(p.data, 0, superBlocks, pair);
            for (int j = 0; j < 16 * superBlocks; j++)  // the pair's form: per sub-block both groups' scales
                for (int r = 0; r < 8; r++) {
                    assertThat(pair[16 * j + r]).isEqualTo(scales[8 * j + r]);
                    assertThat(pair[16 * j + 8 + r]).isEqualTo(scales2[8 * j + r]);
                }
            assertSame((b, out) -> IntKernels.dotQ6_Kx16(p.data, 0, superBlocks, scales, scales2, x.pairs, x.d, b * BLOCKS, out, 0),
                    (b, out) -> IntKernels.dotQ6_Kx16w(p.data, 0, superBlocks, pair, x.widePairs, x.d, b * BLOCKS, out, 0));
            // two activation rows at once (rows b and b + 1, the second's results a row of ROWS later)
            float[] two = new float[2 * ROWS], one = new float[ROWS];
            for (int b = 0; b + 1 < BATCH; b++) {
                IntKernels.dotQ6_Kx16x2w(p.data, 0, superBlocks, pair, x.widePairs, b * 4 * COLS, 4 * COLS, x.d, b * BLOCKS, BLOCKS, two, 0, ROWS);
                for (int a = 0; a < 2; a++) {
                    IntKernels.dotQ6_Kx16(p.data, 0, superBlocks, scales, scales2, x.pairs, x.d, (b + a) * BLOCKS, one, 0);
                    assertThat(java.util.Arrays.copyOfRange(two, a * ROWS, (a + 1) * ROWS)).as("rows %d and %d, row %d", b, b + 1, b + a).containsExactly(one);
                }
            }
        } finally {
            w.release();
        }
    }

    @Test
    void extremeQ8_0WeightsStayExact() {
        // every weight quant -128 or 127 against activations of +-127: a lane's two products summed at their largest (32,512)
        int blocks = 2, cols = 64;
        byte[] bytes = new byte[ROWS * blocks * Q8_0Tensor.BYTES];
        for (int blk = 0; blk < ROWS * blocks; blk++) {
            TensorTestData.putF16(bytes, blk * Q8_0Tensor.BYTES, 0.25f);
            for (int j = 0; j < 32; j++) bytes[blk * Q8_0Tensor.BYTES + 2 + j] = (byte) (blk % 3 == 0 ? -128 : 127);
        }
        var w = (Q8_0Tensor) TensorTestData.tensor(GgmlType.Q8_0, bytes, (long) ROWS * cols);
        float[] xs = new float[cols];
        for (int j = 0; j < cols; j++) xs[j] = j < 32 ? -1f : 1f;
        try (Parallel pool = new Parallel(1)) {
            InterleavedQ8_0 p = w.interleaved(pool, cols);
            QuantizedRows x = new QuantizedRows();
            x.quantize(pool, xs, 1, cols, true, true, false, false);
            x.spreadAll();
            float[] dw = new float[8 * blocks], dw2 = new float[8 * blocks];
            IntKernels.groupScales(p.data, InterleavedQ8_0.scales(0, blocks), blocks, dw);
            IntKernels.groupScales(p.data, InterleavedQ8_0.scales(1, blocks), blocks, dw2);
            float[] wide = new float[ROWS];
            IntKernels.dotQ8_0x16w(p.data, 0, blocks, dw, dw2, x.widePairs, x.d, 0, wide, 0);
            float dx = Float.float16ToFloat(Float.floatToFloat16(1f / 127f));
            for (int r = 0; r < ROWS; r++) {
                int q0 = (2 * r) % 3 == 0 ? -128 : 127, q1 = (2 * r + 1) % 3 == 0 ? -128 : 127;
                float want = Math.fma((float) (q0 * -127 * 32), 0.25f * dx, 0f);
                want = Math.fma((float) (q1 * 127 * 32), 0.25f * dx, want);
                assertThat(wide[r]).as("row %d", r).isEqualTo(want);
            }
        } finally {
            w.release();
        }
    }

    @Test
    void extremeQ4_0WeightsStayExact() {
        // the 16-bit sums at their largest ({@link TensorTestData#extremeQ4_0}), in both kernels
        int blocks = 2, cols = 64;
        Q4_0Tensor w = TensorTestData.extremeQ4_0(ROWS);
        try (Parallel pool = new Parallel(1)) {
            InterleavedQ4_0 p = w.interleaved(pool, cols);
            QuantizedRows x = new QuantizedRows();
            x.quantize(pool, TensorTestData.extremeActivations(1), 1, cols, true, true, false, false);
            x.spreadAll();
            float[] dw = new float[8 * blocks + 8], dw2 = new float[8 * blocks + 8];
            IntKernels.groupScales(p.data, InterleavedQ4_0.scales(0, blocks), blocks, dw);
            IntKernels.groupScales(p.data, InterleavedQ4_0.scales(1, blocks), blocks, dw2);
            float[] wide = new float[ROWS], narrow = new float[ROWS];
            IntKernels.dotQ4_0x16w(p.data, 0, blocks, dw, dw2, x.wideSteps, x.sums, x.d, 0, wide, 0);
            IntKernels.dotQ4_0x16(p.data, 0, blocks, dw, dw2, x.steps, x.sums, x.d, 0, narrow, 0);
            for (int r = 0; r < ROWS; r++) {
                assertThat(wide[r]).as("row %d", r).isEqualTo(TensorTestData.extremeQ4_0Product(r));
                assertThat(narrow[r]).as("row %d, narrow kernel", r).isEqualTo(TensorTestData.extremeQ4_0Product(r));
            }
        } finally {
            w.release();
        }
    }
}
