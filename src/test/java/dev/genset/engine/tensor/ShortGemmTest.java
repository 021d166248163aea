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

    private static int[] bits(float[] a) {
        int[] b = new int[a.length];
        for (int i = 0; i < a.length; i++) b[i] = Float.floatToRawIntBits(a[i]);
        return b;
    }

    /** The product through ShortGemm's panels, called directly. */
    private static float[] panels(FloatTensor w, float[] x, int batch, int rows, int cols, Parallel pool) {
        QuantizedRows q = new QuantizedRows();
        q.quantize(pool, x, batch, cols, false, false, false, false);
        float[] out = new float[batch * rows];
        if (w instanceof Q4_KTensor q4k) ShortGemm.q4_K(q4k.interleaved(pool, cols), q, batch, out, rows, 0, ShortGemm.panels(rows));
        else ShortGemm.q4_0(((Q4_0Tensor) w).interleaved(pool, cols), q, batch, out, rows, 0, ShortGemm.panels(rows));
        return out;
    }

    /** Each activation row's product as the single-row integer kernel computes it. */
    private static void assertRowsAsAlone(FloatTensor w, float[] x, float[] got, int batch, int rows, int cols, Parallel pool, String what) {
        float[] one = new float[rows];
        for (int b = 0; b < batch; b++) {
            MatMul.matvec(pool, w, Arrays.copyOfRange(x, b * cols, (b + 1) * cols), one, rows, cols);
            assertThat(bits(Arrays.copyOfRange(got, b * rows, (b + 1) * rows))).as("%s row %d", what, b).containsExactly(bits(one));
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
        int rows = 3 * ShortGemm.PANEL + 8, cols = type.blockSize == 256 ? 512 : 320, batch = 17;
        FloatTensor w = TensorTestData.quantized(type, TensorTestData.weights(5, rows * cols));
        float[] x = TensorTestData.activations(6, batch * cols);
        try {
            for (int threads : new int[] {1, 3})
                try (Parallel pool = new Parallel(threads)) {
                    float[] on = new float[batch * rows], off = new float[batch * rows];
                    ShortGemm.enabled = true;
                    MatMul.matmul(pool, w, x, batch, on, rows, cols);
                    ShortGemm.enabled = false;
                    MatMul.matmul(pool, w, x, batch, off, rows, cols);
                    assertThat(bits(on)).as("%s threads=%d", type, threads).containsExactly(bits(off));
                    assertThat(on).as("not all zero").isNotEqualTo(new float[batch * rows]);
                }
        } finally {
            ShortGemm.enabled = was;
            w.release();
        }
    }

    /**
     * The largest block sums a short lane must hold: weight quants 0 (value -8) against activation
     * quants of -127 (32,512 per block, 16-bit's limit less 255), and 15 (value 7) against 127.
     */
    @Test
    void extremeBlocksStayExact() {
        int rows = 16, blocks = 2, cols = 64, batch = 6;
        byte[] bytes = new byte[rows * blocks * Q4_0Tensor.BYTES];
        for (int blk = 0; blk < rows * blocks; blk++) {
            TensorTestData.putF16(bytes, blk * Q4_0Tensor.BYTES, 0.5f);
            // block blk is row blk / 2's block blk % 2; rows alternate weight quants 0 and 15
            Arrays.fill(bytes, blk * Q4_0Tensor.BYTES + 2, (blk + 1) * Q4_0Tensor.BYTES, (byte) (blk / 2 % 2 == 0 ? 0x00 : 0xFF));
        }
        var w = (Q4_0Tensor) TensorTestData.tensor(GgmlType.Q4_0, bytes, (long) rows * cols);
        float[] x = new float[batch * cols];
        for (int i = 0; i < x.length; i++) x[i] = i % cols < 32 ? -1f : 0.5f;  // quants -127 and 127, scales unequal
        try (Parallel pool = new Parallel(1)) {
            float[] got = panels(w, x, batch, rows, cols, pool);
            float dx0 = Float.float16ToFloat(Float.floatToFloat16(1f / 127f)), dx1 = Float.float16ToFloat(Float.floatToFloat16(0.5f / 127f));
            for (int b = 0; b < batch; b++)
                for (int r = 0; r < rows; r++) {
                    int q = r % 2 == 0 ? -8 : 7;
                    float want = Math.fma((float) (q * -127 * 32), 0.5f * dx0, 0f);
                    want = Math.fma((float) (q * 127 * 32), 0.5f * dx1, want);
                    assertThat(got[b * rows + r]).as("activation row %d, row %d", b, r).isEqualTo(want);
                }
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
