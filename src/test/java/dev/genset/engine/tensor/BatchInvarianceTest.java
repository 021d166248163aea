package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The result for one (weight row, activation row) pair is bit-identical whatever the batch size
 * and whatever else is in the batch: the server batches the decode steps of many sequences and
 * must produce what each sequence produces alone.
 */
class BatchInvarianceTest {

    private static int[] columnCounts(GgmlType type) {
        if (type.blockSize == 256) return new int[] {256, 768};
        if (type.blockSize == 32) return new int[] {32, 544};
        return new int[] {8, 37, 520};  // float types: also a count that is not a whole number of vectors
    }

    /**
     * 43: not a multiple of the tile height nor of the four-row decode kernel. Q4_0, Q4_K and Q6_K are
     * repacked with eight rows interleaved where the rows are whole groups of 8: 48 (six groups,
     * multiplied two at a time) and 40 (five, one left to the one-group kernel) as well.
     */
    private static int[] rowCounts(GgmlType type) {
        return type == GgmlType.Q4_0 || type == GgmlType.Q4_K || type == GgmlType.Q6_K ? new int[] {43, 48, 40} : new int[] {43};
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void batchedProductsEqualSingleRowProductsBitForBit(GgmlType type) {
        for (int rows : rowCounts(type))
        for (int cols : columnCounts(type)) {
            FloatTensor w = TensorTestData.quantized(type, TensorTestData.weights(cols, rows * cols));
            for (int threads : new int[] {1, 2, 3})
                try (Parallel pool = new Parallel(threads)) {
                    for (int batch = 2; batch <= 17; batch++) {
                        float[] x = TensorTestData.activations(100L * batch + cols, batch * cols);
                        float[] out = new float[batch * rows];
                        MatMul.matmul(pool, w, x, batch, out, rows, cols);
                        float[] one = new float[rows];
                        for (int b = 0; b < batch; b++) {
                            float[] xb = Arrays.copyOfRange(x, b * cols, (b + 1) * cols);
                            MatMul.matvec(pool, w, xb, one, rows, cols);
                            float[] batched = Arrays.copyOfRange(out, b * rows, (b + 1) * rows);
                            assertThat(bits(batched)).as("%s rows=%d cols=%d threads=%d batch=%d row %d", type, rows, cols, threads, batch, b)
                                    .containsExactly(bits(one));
                            // the same activation row alone through the batched entry point
                            float[] alone = new float[rows];
                            MatMul.matmul(pool, w, xb, 1, alone, rows, cols);
                            assertThat(bits(alone)).containsExactly(bits(one));
                        }
                    }
                }
            w.release();  // the repacked form's native memory
        }
    }

    /** Still bit-identical once the kernels are compiled (and across the switch from interpreted code). */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q6_K"})
    void invariantAcrossCompilation(GgmlType type) {
        int rows = 22, cols = 256, batch = 5;
        FloatTensor w = TensorTestData.quantized(type, TensorTestData.weights(7, rows * cols));
        float[] x = TensorTestData.activations(8, batch * cols);
        float[] xb = Arrays.copyOfRange(x, 3 * cols, 4 * cols);
        float[] out = new float[batch * rows], one = new float[rows];
        try (Parallel pool = new Parallel(2)) {
            MatMul.matvec(pool, w, xb, one, rows, cols);
            int[] first = bits(one);
            for (int i = 0; i < 3000; i++) {
                MatMul.matmul(pool, w, x, batch, out, rows, cols);
                MatMul.matvec(pool, w, xb, one, rows, cols);
                if (i % 500 == 0 || i == 2999) {
                    assertThat(bits(one)).as("matvec, iteration %d", i).containsExactly(first);
                    assertThat(bits(Arrays.copyOfRange(out, 3 * rows, 4 * rows))).as("matmul, iteration %d", i).containsExactly(first);
                }
            }
        }
    }

    private static int[] bits(float[] v) {
        int[] b = new int[v.length];
        for (int i = 0; i < v.length; i++) b[i] = Float.floatToRawIntBits(v[i]);
        return b;
    }
}
