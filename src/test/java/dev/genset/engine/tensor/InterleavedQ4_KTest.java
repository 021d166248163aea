package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.assertj.core.api.Assertions.assertThat;

/** Q4_K weights with eight rows interleaved ({@link InterleavedQ4_K}) and their kernels. */
class InterleavedQ4_KTest {

    /** The stored quant (0..15) of value j of sub-block k (over the row) of a row. */
    private static int storedQuant(MemorySegment s, long row, int superBlocks, int k, int j) {
        long b = (row * superBlocks + k / 8) * Q4_KTensor.BYTES;
        int sub = k % 8;
        int packed = s.get(ValueLayout.JAVA_BYTE, b + 16 + 32 * (sub >> 1) + j) & 0xFF;
        return (sub & 1) == 0 ? packed & 0xF : packed >>> 4;
    }

    @Test
    void packingKeepsEveryQuant() {
        int rows = 16, cols = 512, superBlocks = 2;
        var w = (Q4_KTensor) TensorTestData.quantized(GgmlType.Q4_K, TensorTestData.weights(3, rows * cols));
        try (Parallel pool = new Parallel(2)) {
            InterleavedQ4_K p = w.interleaved(pool, cols);
            assertThat(p).isNotNull();
            float[] want = new float[16];
            for (int g = 0; g < rows / 8; g++)
                for (int r = 0; r < 8; r++) {
                    long row = 8L * g + r;
                    for (int k = 0; k < 8 * superBlocks; k++) {
                        for (int j = 0; j < 32; j++)
                            assertThat(p.quant(g, k, r, j)).as("g=%d k=%d r=%d j=%d", g, k, r, j).isEqualTo(storedQuant(w.segment(), row, superBlocks, k, j));
                        IntKernels.unpackQ4_K(w.segment(), (row * superBlocks + k / 8) * Q4_KTensor.BYTES, want, 0, want, 8);
                        assertThat(p.scaleAndMin(g, k, r)).containsExactly(want[k % 8], want[8 + k % 8]);
                    }
                }
        } finally {
            w.release();
        }
    }

    /** The canonical sequence, written out: per sub-block the exact integer product, fused with (d * scale) * dx, then the min term. */
    private static float reference(Q4_KTensor w, int row, int superBlocks, QuantizedRows x, int xRow) {
        float acc = 0f;
        float[] sm = new float[16];
        int blocks = 8 * superBlocks;
        for (int k = 0; k < blocks; k++) {
            int sum = 0;
            for (int j = 0; j < 32; j++) sum += storedQuant(w.segment(), row, superBlocks, k, j) * x.q[xRow * x.cols + 32 * k + j];
            IntKernels.unpackQ4_K(w.segment(), ((long) row * superBlocks + k / 8) * Q4_KTensor.BYTES, sm, 0, sm, 8);
            acc = Math.fma((float) sum, sm[k % 8] * x.d[xRow * blocks + k], acc);
            acc = Math.fma(-sm[8 + k % 8], x.scaledSums[xRow * blocks + k], acc);
        }
        return acc;
    }

    @Test
    void productsFollowTheCanonicalSequenceBitForBit() {
        int rows = 24, cols = 768, superBlocks = 3, batch = 6;
        var w = (Q4_KTensor) TensorTestData.quantized(GgmlType.Q4_K, TensorTestData.weights(11, rows * cols));
        float[] x = TensorTestData.activations(12, batch * cols);
        for (int j = 0; j < 32; j++) x[j] = 40f;  // a block at full scale: quants of 127 everywhere
        try {
            TensorTestData.assertProductsFollow(w, x, batch, rows, cols, (r, q, b) -> reference(w, r, superBlocks, q, b));
        } finally {
            w.release();
        }
    }

    @Test
    void keptStoredTensorsAreNotRepacked() {
        var w = (Q4_KTensor) TensorTestData.quantized(GgmlType.Q4_K, TensorTestData.weights(5, 16 * 256));
        assertThat(w.repackedBytes()).as("a 160-byte header per 8 rows' super-block").isEqualTo(2 * (160 + 8 * 128));
        w.keepStored();
        assertThat(w.repackedBytes()).isZero();
        try (Parallel pool = new Parallel(1)) {
            assertThat(w.interleaved(pool, 256)).isNull();
        }
    }
}
