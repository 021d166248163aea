package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link FloatGemm} gives each (weight row, activation row) what the integer kernels give, bit for
 * bit: called directly, so it is checked on any CPU (with 256-bit vectors where 512 are not native),
 * and through {@link MatMul} with the path switched on and off.
 */
class FloatGemmTest {

    /** The product through FloatGemm's panels, called directly. */
    private static float[] panels(FloatTensor w, float[] x, int batch, int rows, int cols, Parallel pool) {
        QuantizedRows q = new QuantizedRows();
        q.quantize(pool, x, batch, cols, false, false, false, true);
        float[] out = new float[batch * rows];
        if (w instanceof Q4_0Tensor q4) FloatGemm.q4_0(q4.interleaved(pool, cols), q, batch, out, rows, 0, FloatGemm.panels(rows));
        else if (w instanceof Q4_KTensor q4k) FloatGemm.q4_K(q4k.interleaved(pool, cols), q, batch, out, rows, 0, FloatGemm.panels(rows));
        else if (w instanceof Q6_KTensor q6) FloatGemm.q6_K(q6.interleaved(pool, cols), q, batch, out, rows, 0, FloatGemm.panels(rows));
        else FloatGemm.q8_0(((Q8_0Tensor) w).interleaved(pool, cols), q, batch, out, rows, 0, FloatGemm.panels(rows));
        return out;
    }

    /**
     * Rows: one group, a panel with groups missing (40 rows: 5 groups), whole panels; columns: one
     * block, several, and more than {@link FloatGemm#KC} (the panel converted in parts); batches
     * below, at and past the tile, and not whole tiles.
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void panelsGiveTheIntegerKernelsResultsBitForBit(GgmlType type) {
        int[] columns = type.blockSize == 256 ? new int[] {256, 768, FloatGemm.KC + 256} : new int[] {32, 544, FloatGemm.KC + 96};
        try (Parallel pool = new Parallel(1)) {
            for (int rows : new int[] {8, 40, 2 * FloatGemm.PANEL})
                for (int cols : columns) {
                    FloatTensor w = TensorTestData.quantized(type, TensorTestData.weights(rows + cols, rows * cols));
                    for (int batch : new int[] {1, 5, 6, 7, 8, 13, 18}) {
                        float[] x = TensorTestData.activations(31L * batch + cols, batch * cols);
                        float[] got = panels(w, x, batch, rows, cols, pool);
                        float[] one = new float[rows];
                        for (int b = 0; b < batch; b++) {
                            MatMul.matvec(pool, w, Arrays.copyOfRange(x, b * cols, (b + 1) * cols), one, rows, cols);
                            assertThat(TensorTestData.bits(Arrays.copyOfRange(got, b * rows, (b + 1) * rows)))
                                    .as("%s rows=%d cols=%d batch=%d row %d", type, rows, cols, batch, b).containsExactly(TensorTestData.bits(one));
                            assertThat(one).as("not all zero").isNotEqualTo(new float[rows]);
                        }
                    }
                    w.release();
                }
        }
    }

    /** Through MatMul, on one and three threads, with the path on and off: the same bits. */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void matMulGivesTheSameBitsWithAndWithoutIt(GgmlType type) {
        boolean was = FloatGemm.enabled, shorts = ShortGemm.enabled;
        ShortGemm.enabled = false;  // Q4_0 and Q4_K batches here, not in ShortGemm
        try {
            TensorTestData.assertSameBitsOnAndOff(type, on -> FloatGemm.enabled = on);
        } finally {
            FloatGemm.enabled = was;
            ShortGemm.enabled = shorts;
        }
    }

    /** Weight quants at -128 and 127 against activation quants of +-127: the largest block sums stay exact in floats. */
    @Test
    void extremeQ8_0BlocksStayExact() {
        int rows = 16, blocks = 2, cols = 64, batch = 6;
        byte[] bytes = new byte[rows * blocks * Q8_0Tensor.BYTES];
        for (int blk = 0; blk < rows * blocks; blk++) {
            TensorTestData.putF16(bytes, blk * Q8_0Tensor.BYTES, 0.25f);
            for (int j = 0; j < 32; j++) bytes[blk * Q8_0Tensor.BYTES + 2 + j] = (byte) (blk % 3 == 0 ? -128 : 127);
        }
        var w = (Q8_0Tensor) TensorTestData.tensor(GgmlType.Q8_0, bytes, (long) rows * cols);
        float[] x = new float[batch * cols];
        for (int i = 0; i < x.length; i++) x[i] = i % cols < 32 ? -1f : 1f;
        try (Parallel pool = new Parallel(1)) {
            float[] got = panels(w, x, batch, rows, cols, pool);
            float dx = Float.float16ToFloat(Float.floatToFloat16(1f / 127f));
            for (int b = 0; b < batch; b++)
                for (int r = 0; r < rows; r++) {
                    int q0 = (2 * r) % 3 == 0 ? -128 : 127, q1 = (2 * r + 1) % 3 == 0 ? -128 : 127;
                    float want = Math.fma((float) (q0 * -127 * 32), 0.25f * dx, 0f);
                    want = Math.fma((float) (q1 * 127 * 32), 0.25f * dx, want);
                    assertThat(got[b * rows + r]).as("activation row %d, row %d", b, r).isEqualTo(want);
                }
        } finally {
            w.release();
        }
    }
}
