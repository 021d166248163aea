package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/** Q6_K weights with eight rows interleaved ({@link InterleavedQ6_K}) and their kernels. */
class InterleavedQ6_KTest {

    private static long block(long row, int superBlocks, int sb) {
        return (row * superBlocks + sb) * Q6_KTensor.BYTES;
    }

    @Test
    void packingKeepsEveryQuantScaleAndD() {
        int rows = 16, cols = 512, superBlocks = 2;
        var w = (Q6_KTensor) TensorTestData.quantized(GgmlType.Q6_K, TensorTestData.weights(3, rows * cols));
        MemorySegment s = w.segment();
        try (Parallel pool = new Parallel(2)) {
            InterleavedQ6_K p = w.interleaved(pool, cols);
            assertThat(p).isNotNull();
            for (int g = 0; g < rows / 8; g++)
                for (int r = 0; r < 8; r++)
                    for (int sb = 0; sb < superBlocks; sb++) {
                        long b = block(8L * g + r, superBlocks, sb);
                        assertThat(p.d(g, sb, r)).isEqualTo(s.get(Simd.LE_SHORT, b + 208));
                        for (int j = 0; j < 16; j++) assertThat(p.scale(g, sb, j, r)).isEqualTo(Q6_KTensor.scale(s, b, 16 * j));
                        for (int e = 0; e < 256; e++)
                            assertThat(p.quant(g, sb, r, e)).as("g=%d r=%d sb=%d e=%d", g, r, sb, e).isEqualTo(Q6_KTensor.quant(s, b, e) - 32);
                    }
        } finally {
            w.release();
        }
    }

    /** The canonical sequence, written out: per 16-value sub-block the exact integer product of q - 32 and x, then one fma with (d * scale) * dx. */
    private static float reference(Q6_KTensor w, int row, int superBlocks, QuantizedRows x, int xRow) {
        MemorySegment s = w.segment();
        int blocks = 8 * superBlocks;
        float acc = 0f;
        for (int j = 0; j < 16 * superBlocks; j++) {
            long b = block(row, superBlocks, j / 16);
            int sum = 0;
            for (int e = 0; e < 16; e++) sum += (Q6_KTensor.quant(s, b, 16 * (j % 16) + e) - 32) * x.q[xRow * x.cols + 16 * j + e];
            float scale = Simd.f16(s, b + 208) * (float) Q6_KTensor.scale(s, b, 16 * (j % 16));
            acc = Math.fma((float) sum, scale * x.d[xRow * blocks + j / 2], acc);
        }
        return acc;
    }

    /** 24 rows: a pair of groups and one left over; batch 6: a run of four activation rows and two alone. */
    @Test
    void productsFollowTheCanonicalSequenceBitForBit() {
        int rows = 24, cols = 768, superBlocks = 3, batch = 6;
        var w = (Q6_KTensor) TensorTestData.quantized(GgmlType.Q6_K, TensorTestData.weights(11, rows * cols));
        float[] x = TensorTestData.activations(12, batch * cols);
        for (int j = 0; j < 32; j++) x[j] = j % 2 == 0 ? 40f : -40f;  // a block at full scale: quants of +-127
        try {
            TensorTestData.assertProductsFollow(w, x, batch, rows, cols, (r, q, b) -> reference(w, r, superBlocks, q, b));
        } finally {
            w.release();
        }
    }

    @Test
    void extremeQuantsAndActivationsStayExact() {
        // every quant 0 (q - 32 = -32) against activations of +-127 with matching signs: each 16-bit
        // lane sums 8 products of 32 * 127, the largest magnitude a sub-block can reach
        int rows = 8, cols = 256;
        byte[] bytes = new byte[rows * Q6_KTensor.BYTES];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < 16; j++) bytes[r * Q6_KTensor.BYTES + 192 + j] = 1;
            TensorTestData.putF16(bytes, r * Q6_KTensor.BYTES + 208, 1f);
        }
        var w = (Q6_KTensor) TensorTestData.tensor(GgmlType.Q6_K, bytes, (long) rows * cols);
        float[] x = new float[cols];
        Arrays.fill(x, -1f);
        float[] out = new float[rows];
        try (Parallel pool = new Parallel(1)) {
            MatMul.matvec(pool, w, x, out, rows, cols);
        } finally {
            w.release();
        }
        float dx = Float.float16ToFloat(Float.floatToFloat16(1f / 127f)), want = 0f;
        for (int j = 0; j < 16; j++) want = Math.fma((float) (-32 * -127 * 16), 1f * dx, want);
        for (int r = 0; r < rows; r++) assertThat(out[r]).as("row %d", r).isEqualTo(want);
    }
}
