package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/** Q8_0 weights with eight rows interleaved ({@link InterleavedQ8_0}) and their kernels. */
class InterleavedQ8_0Test {

    private static byte storedQuant(MemorySegment s, long row, int blocks, int b, int j) {
        return s.get(ValueLayout.JAVA_BYTE, (row * blocks + b) * Q8_0Tensor.BYTES + 2 + j);
    }

    @Test
    void packingKeepsEveryQuantAndScale() {
        int rows = 24, cols = 96, blocks = cols / 32;
        var w = (Q8_0Tensor) TensorTestData.quantized(GgmlType.Q8_0, TensorTestData.weights(3, rows * cols));
        try (Parallel pool = new Parallel(2)) {
            InterleavedQ8_0 p = w.interleaved(pool, cols);
            assertThat(p).isNotNull();
            for (int g = 0; g < rows / 8; g++)
                for (int b = 0; b < blocks; b++)
                    for (int r = 0; r < 8; r++) {
                        long row = 8L * g + r;
                        assertThat(p.scale(g, b, r)).isEqualTo(w.segment().get(Simd.LE_SHORT, (row * blocks + b) * Q8_0Tensor.BYTES));
                        for (int j = 0; j < 32; j++)
                            assertThat(p.quant(g, b, r, j)).as("g=%d b=%d r=%d j=%d", g, b, r, j).isEqualTo(storedQuant(w.segment(), row, blocks, b, j));
                    }
        } finally {
            w.release();
        }
    }

    /** The canonical sequence, written out: per block the exact integer product of the quants, then one fma with dw * dx. */
    private static float reference(Q8_0Tensor w, int row, int blocks, QuantizedRows x, int xRow) {
        float acc = 0f;
        for (int b = 0; b < blocks; b++) {
            int sum = 0;
            for (int j = 0; j < 32; j++) sum += storedQuant(w.segment(), row, blocks, b, j) * x.q[xRow * x.cols + 32 * b + j];
            float dw = Simd.f16(w.segment(), ((long) row * blocks + b) * Q8_0Tensor.BYTES);
            acc = Math.fma((float) sum, dw * x.d[xRow * blocks + b], acc);
        }
        return acc;
    }

    /** 32 rows: groups in pairs for every kernel; 40: a group left over, taking the one-group kernels. */
    @ParameterizedTest
    @ValueSource(ints = {32, 40})
    void productsFollowTheCanonicalSequenceBitForBit(int rows) {
        int cols = 544, blocks = cols / 32, batch = 5;
        var w = (Q8_0Tensor) TensorTestData.quantized(GgmlType.Q8_0, TensorTestData.weights(11, rows * cols));
        float[] x = TensorTestData.activations(12, batch * cols);
        // extreme activations: a block at full scale both ways (quants of +-127 everywhere)
        for (int j = 0; j < 32; j++) x[j] = j % 2 == 0 ? 50f : -50f;
        for (int j = 32; j < 64; j++) x[j] = -50f;
        try {
            TensorTestData.assertProductsFollow(w, x, batch, rows, cols, (r, q, b) -> reference(w, r, blocks, q, b));
        } finally {
            w.release();
        }
    }

    /**
     * Quants of -128 and 127 (llama.cpp writes -127 at most, but a file may hold -128) against
     * activations of +-127: the two-product lane sums reach their largest magnitude both ways, and
     * the block sums theirs; every batch kernel too (a batch of 5 takes the four-row kernel and one
     * single row).
     */
    @ParameterizedTest
    @ValueSource(ints = {8, 16})
    void extremeWeightsAndActivationsStayExact(int rows) {
        int cols = 64, blocks = 2, batch = 5;
        byte[] bytes = new byte[rows * blocks * Q8_0Tensor.BYTES];
        for (int blk = 0; blk < rows * blocks; blk++) {
            TensorTestData.putF16(bytes, blk * Q8_0Tensor.BYTES, 0.5f);
            for (int j = 0; j < 32; j++) bytes[blk * Q8_0Tensor.BYTES + 2 + j] = (byte) (blk % 2 == 0 ? -128 : 127);
        }
        var w = (Q8_0Tensor) TensorTestData.tensor(GgmlType.Q8_0, bytes, (long) rows * cols);
        float[] x = new float[batch * cols];
        for (int b = 0; b < batch; b++) {
            float sign = b % 2 == 0 ? 1f : -1f;
            Arrays.fill(x, b * cols, b * cols + 32, sign);
            Arrays.fill(x, b * cols + 32, b * cols + 64, -sign);
        }
        float[] out = new float[batch * rows];
        try (Parallel pool = new Parallel(1)) {
            MatMul.matmul(pool, w, x, batch, out, rows, cols);
        } finally {
            w.release();
        }
        // activations quantize to +-127 with d = 1/127 rounded to fp16
        float dx = Float.float16ToFloat(Float.floatToFloat16(1f / 127f));
        for (int b = 0; b < batch; b++) {
            int sign = b % 2 == 0 ? 1 : -1;
            // each row's first block is quants -128, its second 127
            float want = Math.fma((float) (-128 * 127 * sign * 32), 0.5f * dx, 0f);
            want = Math.fma((float) (127 * -127 * sign * 32), 0.5f * dx, want);
            for (int r = 0; r < rows; r++) assertThat(out[b * rows + r]).as("b=%d row %d", b, r).isEqualTo(want);
        }
    }

    @Test
    void keptStoredTensorsAreNotRepacked() {
        var w = (Q8_0Tensor) TensorTestData.quantized(GgmlType.Q8_0, TensorTestData.weights(5, 16 * 64));
        assertThat(w.repackedBytes()).isEqualTo(16 * 2 * Q8_0Tensor.BYTES);
        w.keepStored();
        assertThat(w.repackedBytes()).isZero();
        try (Parallel pool = new Parallel(1)) {
            assertThat(w.interleaved(pool, 64)).isNull();
        }
        var odd = (Q8_0Tensor) TensorTestData.quantized(GgmlType.Q8_0, TensorTestData.weights(5, 12 * 64));
        try (Parallel pool = new Parallel(1)) {
            assertThat(odd.interleaved(pool, 64)).as("12 rows are not whole groups of 8").isNull();
        }
    }
}
