package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import jdk.incubator.vector.ShortVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/** Q4_0 weights with eight rows interleaved ({@link InterleavedQ4_0}) and their kernel. */
class InterleavedQ4_0Test {

    @Test
    void everyHalfConvertsExactly() {
        short[] halves = new short[8];
        float[] out = new float[8];
        for (int h = 0; h < 65536; h += 8) {
            for (int i = 0; i < 8; i++) halves[i] = (short) (h + i);
            IntKernels.halfToFloat(ShortVector.fromArray(ShortVector.SPECIES_128, halves, 0)).intoArray(out, 0);
            for (int i = 0; i < 8; i++) {
                float want = Float.float16ToFloat(halves[i]);
                if (Float.isNaN(want)) assertThat(out[i]).as("half %04x", h + i).isNaN();
                else assertThat(Float.floatToRawIntBits(out[i])).as("half %04x", h + i).isEqualTo(Float.floatToRawIntBits(want));
            }
        }
    }

    private static int storedQuant(MemorySegment s, long row, int blocks, int b, int j) {
        int packed = s.get(ValueLayout.JAVA_BYTE, (row * blocks + b) * Q4_0Tensor.BYTES + 2 + (j & 15)) & 0xFF;
        return j < 16 ? packed & 0xF : packed >>> 4;
    }

    @Test
    void packingKeepsEveryQuantAndScale() {
        int rows = 24, cols = 96, blocks = cols / 32;
        var w = (Q4_0Tensor) TensorTestData.quantized(GgmlType.Q4_0, TensorTestData.weights(3, rows * cols));
        try (Parallel pool = new Parallel(2)) {
            InterleavedQ4_0 p = w.interleaved(pool, cols);
            assertThat(p).isNotNull();
            for (int g = 0; g < rows / 8; g++)
                for (int b = 0; b < blocks; b++)
                    for (int r = 0; r < 8; r++) {
                        long row = 8L * g + r;
                        assertThat(p.scale(g, b, r))
                                .isEqualTo(w.segment().get(Simd.LE_SHORT, (row * blocks + b) * Q4_0Tensor.BYTES));
                        for (int j = 0; j < 32; j++)
                            assertThat(p.quant(g, b, r, j)).as("g=%d b=%d r=%d j=%d", g, b, r, j).isEqualTo(storedQuant(w.segment(), row, blocks, b, j));
                    }
        } finally {
            w.release();
        }
    }

    /** The canonical sequence, written out: per block the exact integer product of (q - 8) and x, then one fma with dw * dx. */
    private static float reference(Q4_0Tensor w, int row, int blocks, QuantizedRows x, int xRow) {
        float acc = 0f;
        for (int b = 0; b < blocks; b++) {
            int sum = 0;
            for (int j = 0; j < 32; j++) sum += (storedQuant(w.segment(), row, blocks, b, j) - 8) * x.q[xRow * x.cols + 32 * b + j];
            float dw = Simd.f16(w.segment(), ((long) row * blocks + b) * Q4_0Tensor.BYTES);
            acc = Math.fma((float) sum, dw * x.d[xRow * blocks + b], acc);
        }
        return acc;
    }

    /** 32 rows: groups in pairs for every kernel; 40: a group left over, taking the one-group kernels. */
    @ParameterizedTest
    @ValueSource(ints = {32, 40})
    void productsFollowTheCanonicalSequenceBitForBit(int rows) {
        int cols = 544, blocks = cols / 32, batch = 5;
        var w = (Q4_0Tensor) TensorTestData.quantized(GgmlType.Q4_0, TensorTestData.weights(11, rows * cols));
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

    @Test
    void extremeWeightsAndActivationsStayExact() {
        // every quant 15 (value 7 * d) or 0 (value -8 * d) against activations of +-127: the 16-bit
        // lane sums reach their largest magnitude
        int rows = 8, cols = 64, blocks = 2;
        byte[] bytes = new byte[rows * blocks * Q4_0Tensor.BYTES];
        for (int blk = 0; blk < rows * blocks; blk++) {
            TensorTestData.putF16(bytes, blk * Q4_0Tensor.BYTES, 0.5f);
            for (int j = 0; j < 16; j++) bytes[blk * Q4_0Tensor.BYTES + 2 + j] = (byte) (blk % 2 == 0 ? 0xFF : 0x00);
        }
        var w = (Q4_0Tensor) TensorTestData.tensor(GgmlType.Q4_0, bytes, (long) rows * cols);
        float[] x = new float[cols];
        Arrays.fill(x, 0, 32, 1f);
        Arrays.fill(x, 32, 64, -1f);
        float[] out = new float[rows];
        try (Parallel pool = new Parallel(1)) {
            MatMul.matvec(pool, w, x, out, rows, cols);
        } finally {
            w.release();
        }
        // activations quantize to +-127 with d = 1/127 rounded to fp16
        float dx = Float.float16ToFloat(Float.floatToFloat16(1f / 127f));
        for (int r = 0; r < rows; r++) {
            // row r's first block is stored block 2r (quants 15), its second 2r + 1 (quants 0)
            int q0 = 15, q1 = 0;
            float want = Math.fma((float) ((q0 - 8) * 127 * 32), 0.5f * dx, 0f);
            want = Math.fma((float) ((q1 - 8) * -127 * 32), 0.5f * dx, want);
            assertThat(out[r]).as("row %d", r).isEqualTo(want);
        }
    }

    @Test
    void keptStoredTensorsAreNotRepacked() {
        var w = (Q4_0Tensor) TensorTestData.quantized(GgmlType.Q4_0, TensorTestData.weights(5, 16 * 64));
        assertThat(w.repackedBytes()).isEqualTo(16 * 2 * Q4_0Tensor.BYTES);
        w.keepStored();
        assertThat(w.repackedBytes()).isZero();
        try (Parallel pool = new Parallel(1)) {
            assertThat(w.interleaved(pool, 64)).isNull();
        }
        var odd = (Q4_0Tensor) TensorTestData.quantized(GgmlType.Q4_0, TensorTestData.weights(5, 12 * 64));
        try (Parallel pool = new Parallel(1)) {
            assertThat(odd.interleaved(pool, 64)).as("12 rows are not whole groups of 8").isNull();
        }
    }
}
