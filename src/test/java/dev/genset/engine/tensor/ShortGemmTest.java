package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link ShortGemm} gives each (weight row, activation row) what the integer kernels give, bit for
 * bit: called directly (on any CPU: 256-bit vectors where 512 are not native), through
 * {@link MatMul} with the path switched on and off, and at the extremes of a block's 16-bit sum.
 */
class ShortGemmTest {

    /** The product through ShortGemm's panels, called directly. */
    private static float[] panels(FloatTensor w, float[] x, int batch, int rows, int cols, Parallel pool) {
        QuantizedRows q = new QuantizedRows();
        q.quantize(pool, x, batch, cols, false, false, false, false);
        float[] out = new float[batch * rows];
        if (w instanceof Q4_KTensor q4k) ShortGemm.q4_K(q4k.interleaved(pool, cols), q, batch, out, rows, 0, ShortGemm.panels(rows), true);
        else ShortGemm.q4_0(((Q4_0Tensor) w).interleaved(pool, cols), q, batch, out, rows, 0, ShortGemm.panels(rows), true);
        return out;
    }

    /** Each activation row's product as the single-row integer kernel computes it. */
    private static void assertRowsAsAlone(FloatTensor w, float[] x, float[] got, int batch, int rows, int cols, Parallel pool, String what) {
        float[] one = new float[rows];
        for (int b = 0; b < batch; b++) {
            MatMul.matvec(pool, w, Arrays.copyOfRange(x, b * cols, (b + 1) * cols), one, rows, cols);
            assertThat(TensorTestData.bits(Arrays.copyOfRange(got, b * rows, (b + 1) * rows))).as("%s row %d", what, b).containsExactly(TensorTestData.bits(one));
            assertThat(one).as("not all zero").isNotEqualTo(new float[rows]);
        }
    }

    /**
     * Rows: one group, a panel with groups missing (40 rows: 5 groups), whole panels; columns: one
     * block, several, and more than {@link ShortGemm#KC} (the panel widened in parts); batches
     * below, at and past the tile, and not whole tiles.
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_0", "Q4_K"})
    void panelsGiveTheIntegerKernelsResultsBitForBit(GgmlType type) {
        int[] columns = type.blockSize == 256 ? new int[] {256, 768, ShortGemm.KC + 256} : new int[] {32, 544, ShortGemm.KC + 96};
        try (Parallel pool = new Parallel(1)) {
            for (int rows : new int[] {8, 40, 2 * ShortGemm.PANEL})
                for (int cols : columns) {
                    FloatTensor w = TensorTestData.quantized(type, TensorTestData.weights(rows + cols, rows * cols));
                    for (int batch : new int[] {1, 5, 6, 7, 8, 13, 18}) {
                        float[] x = TensorTestData.activations(31L * batch + cols, batch * cols);
                        assertRowsAsAlone(w, x, panels(w, x, batch, rows, cols, pool), batch, rows, cols, pool,
                                "%s rows=%d cols=%d batch=%d".formatted(type, rows, cols, batch));
                    }
                    w.release();
                }
        }
    }

    /** Through MatMul, on one and three threads, with the path on and off (then FloatGemm or the integer kernels): the same bits. */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_0", "Q4_K"})
    void matMulGivesTheSameBitsWithAndWithoutIt(GgmlType type) {
        boolean was = ShortGemm.enabled;
        try {
            TensorTestData.assertSameBitsOnAndOff(type, on -> ShortGemm.enabled = on);
        } finally {
            ShortGemm.enabled = was;
        }
    }

    /** The largest block sums a short lane must hold ({@link TensorTestData#extremeQ4_0}). */
    @Test
    void extremeBlocksStayExact() {
        int rows = 16, cols = 64, batch = 6;
        Q4_0Tensor w = TensorTestData.extremeQ4_0(rows);
        float[] x = TensorTestData.extremeActivations(batch);
        try (Parallel pool = new Parallel(1)) {
            float[] got = panels(w, x, batch, rows, cols, pool);
            for (int b = 0; b < batch; b++)
                for (int r = 0; r < rows; r++)
                    assertThat(got[b * rows + r]).as("activation row %d, row %d", b, r).isEqualTo(TensorTestData.extremeQ4_0Product(r));
            assertRowsAsAlone(w, x, got, batch, rows, cols, pool, "extremes");
        } finally {
            w.release();
        }
    }

    /**
     * Q4_K quants of 15 against activation quants of 127 over most of each sub-block: sums of q * x
     * up to 59,055, past a short, which the lanes hold only less the bias; against the integer
     * kernels bit for bit, and against the dequantized weights' dot product.
     */
    @Test
    void largeQ4_KSumsStayExact() {
        int rows = 16, cols = 512, batch = 7;
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) values[i] = i % 32 == 0 ? 0f : 1f + (i / cols) * 0.125f;  // one 0 a sub-block: quants 0 and 15
        FloatTensor w = TensorTestData.quantized(GgmlType.Q4_K, values);
        float[] x = new float[batch * cols];
        Arrays.fill(x, 1f);
        try (Parallel pool = new Parallel(1)) {
            float[] got = panels(w, x, batch, rows, cols, pool);
            assertRowsAsAlone(w, x, got, batch, rows, cols, pool, "large Q4_K sums");
            float[] row = new float[cols];
            for (int r = 0; r < rows; r++) {
                w.dequantize((long) r * cols, row, 0, cols);
                double dot = 0;
                for (float v : row) dot += v;
                assertThat((double) got[r]).as("row %d", r).isCloseTo(dot, org.assertj.core.data.Offset.offset(Math.abs(dot) * 0.01));
            }
        } finally {
            w.release();
        }
    }
}
