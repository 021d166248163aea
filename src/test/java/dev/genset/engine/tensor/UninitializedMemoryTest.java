package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Memory for repacked weights that is not zeroed first ({@link UninitializedMemory}), and the packers that fill it. */
class UninitializedMemoryTest {

    @AfterEach
    void stopPoisoning() {
        UninitializedMemory.poisonForTests = false;
    }

    @Test
    void blocksAreAlignedSizedAndFreedWithTheirArena() {
        UninitializedMemory.poisonForTests = true;
        MemorySegment block;
        try (Arena arena = Arena.ofShared()) {
            block = UninitializedMemory.allocate(arena, 1000);
            assertThat(block.byteSize()).isEqualTo(1000);
            assertThat(block.address() % 64).isZero();
            assertThat(block.get(ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) 0xA5);
            assertThat(block.get(ValueLayout.JAVA_BYTE, 999)).isEqualTo((byte) 0xA5);
            block.set(ValueLayout.JAVA_LONG_UNALIGNED, 992, -1L);
            assertThat(block.get(ValueLayout.JAVA_LONG_UNALIGNED, 992)).isEqualTo(-1L);
        }
        MemorySegment freed = block;
        assertThatThrownBy(() -> freed.get(ValueLayout.JAVA_BYTE, 0)).isInstanceOf(IllegalStateException.class);
    }

    /**
     * Each repacked form (eight rows interleaved when the rows allow it, else one byte a value) gives
     * the same products whether its memory held zeros or garbage before packing: the packers write
     * every byte the kernels read. Batch 1 and 5 take the decoding and the batched kernels.
     */
    @ParameterizedTest
    @CsvSource({"Q4_0, 24", "Q4_K, 24", "Q6_K, 24", "Q6_K, 20"})
    void packersWriteEveryByte(GgmlType type, int rows) {
        int cols = 512;
        float[] values = TensorTestData.weights(11, rows * cols);
        for (int batch : new int[] {1, 5}) {
            float[] x = TensorTestData.activations(12, batch * cols);
            float[] clean = products(TensorTestData.quantized(type, values), x, batch, rows, cols, false);
            float[] poisoned = products(TensorTestData.quantized(type, values), x, batch, rows, cols, true);
            for (int i = 0; i < clean.length; i++)
                assertThat(Float.floatToRawIntBits(poisoned[i])).as("%s batch %d output %d", type, batch, i).isEqualTo(Float.floatToRawIntBits(clean[i]));
        }
    }

    private static float[] products(FloatTensor w, float[] x, int batch, int rows, int cols, boolean poison) {
        UninitializedMemory.poisonForTests = poison;
        try {
            return TensorTestData.products(w, x, batch, rows, cols);  // packs on first use
        } finally {
            UninitializedMemory.poisonForTests = false;
        }
    }
}
