package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Memory for repacked weights that is not zeroed first ({@link UninitializedMemory}), and the packers that fill it. */
class UninitializedMemoryTest {

    @AfterEach
    void stopPoisoning() {
        UninitializedMemory.poisonForTests = false;
        UninitializedMemory.adviseHugePages(false);
    }

    /**
     * With huge pages asked for, a block of 2 MiB or more starts on a 2 MiB boundary and the kernel
     * records the advice on its whole huge pages (the {@code hg} flag of its mapping), not on the
     * partial page at its end; without, nothing is advised.
     */
    @Test
    void largeBlocksAreAdvisedAsHugePagesOnlyWhenAsked() throws Exception {
        assumeTrue(Files.isDirectory(Path.of("/sys/kernel/mm/transparent_hugepage")), "a Linux kernel with transparent huge pages");
        long mib = 1L << 20;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment plain = UninitializedMemory.allocate(arena, 5 * mib + 100);
            plain.fill((byte) 1);
            assertThat(vmFlags(plain.address())).doesNotContain("hg");

            UninitializedMemory.adviseHugePages(true);
            assertThat(UninitializedMemory.hugePagesAdvised()).isTrue();
            MemorySegment huge = UninitializedMemory.allocate(arena, 5 * mib + 100);
            assertThat(huge.address() % (2 * mib)).isZero();
            assertThat(huge.byteSize()).isEqualTo(5 * mib + 100);
            huge.fill((byte) 2);
            assertThat(huge.get(ValueLayout.JAVA_BYTE, 5 * mib + 99)).isEqualTo((byte) 2);
            assertThat(vmFlags(huge.address())).contains("hg");
            assertThat(vmFlags(huge.address() + 4 * mib - 1)).contains("hg");
            assertThat(vmFlags(huge.address() + 4 * mib)).doesNotContain("hg");  // the last, partial page

            MemorySegment small = UninitializedMemory.allocate(arena, mib);  // under a huge page: as before
            small.fill((byte) 3);
            assertThat(vmFlags(small.address())).doesNotContain("hg");
        }
    }

    /** The flags the kernel lists for the mapping that holds {@code address} ({@code /proc/self/smaps}). */
    private static List<String> vmFlags(long address) throws Exception {
        boolean inside = false;
        for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
            int dash = line.indexOf('-'), space = line.indexOf(' ');
            if (dash > 0 && space > dash && line.substring(0, dash).matches("[0-9a-f]+")) {
                long from = Long.parseUnsignedLong(line.substring(0, dash), 16), to = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
                inside = Long.compareUnsigned(address, from) >= 0 && Long.compareUnsigned(address, to) < 0;
            } else if (inside && line.startsWith("VmFlags:")) {
                return List.of(line.substring("VmFlags:".length()).trim().split("\\s+"));
            }
        }
        throw new AssertionError("no mapping holds address " + Long.toHexString(address));
    }

    /** A matrix packed into huge pages gives the same products, bit for bit, decoding and batched. */
    @Test
    void productsAreTheSameOnHugePages() {
        int rows = 1024, cols = 2048;  // 2.2 MB interleaved: one whole huge page and a partial one
        float[] values = TensorTestData.weights(21, rows * cols);
        for (int batch : new int[] {1, 5}) {
            float[] x = TensorTestData.activations(22, batch * cols);
            float[] plain = TensorTestData.products(TensorTestData.quantized(GgmlType.Q8_0, values), x, batch, rows, cols);
            UninitializedMemory.adviseHugePages(true);
            float[] huge = TensorTestData.products(TensorTestData.quantized(GgmlType.Q8_0, values), x, batch, rows, cols);
            UninitializedMemory.adviseHugePages(false);
            for (int i = 0; i < plain.length; i++)
                assertThat(Float.floatToRawIntBits(huge[i])).as("batch %d output %d", batch, i).isEqualTo(Float.floatToRawIntBits(plain[i]));
        }
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
