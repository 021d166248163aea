package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Tensors over a mapped file: the kernels read a plain native view of the same bytes, with the file's lifetime. */
class MappedTensorTest {

    @TempDir
    Path dir;

    @Test
    void kernelsReadANativeViewOfTheMappedBytesThatDiesWithTheFile() throws IOException {
        int rows = 24, cols = 256, batch = 5;
        byte[] bytes = Quantizer.quantize(GgmlType.Q4_0, TensorTestData.weights(21, rows * cols));
        Path file = Files.write(dir.resolve("w.bin"), bytes);
        float[] x = TensorTestData.activations(22, batch * cols);
        float[] want = TensorTestData.products(TensorTestData.tensor(GgmlType.Q4_0, bytes, (long) rows * cols), x, batch, rows, cols);

        Arena arena = Arena.ofShared();
        FloatTensor t;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            t = FloatTensor.of(GgmlType.Q4_0, ch.map(FileChannel.MapMode.READ_ONLY, 0, bytes.length, arena), (long) rows * cols);
        }
        assertThat(t.stored().isMapped()).isTrue();
        assertThat(t.segment().isMapped()).isFalse();
        assertThat(t.segment().isReadOnly()).isTrue();
        assertThat(t.segment().address()).isEqualTo(t.stored().address());
        assertThat(t.segment().byteSize()).isEqualTo(bytes.length);
        // the one-row kernel reads the view in place; a batch repacks from it (releasing the mapped pages)
        assertThat(TensorTestData.products(t, x, 1, rows, cols)).containsExactly(java.util.Arrays.copyOf(want, rows));
        assertThat(TensorTestData.products(t, x, batch, rows, cols)).containsExactly(want);

        arena.close();
        assertThatThrownBy(() -> t.segment().get(ValueLayout.JAVA_BYTE, 0)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void segmentsThatAreNotMappedAreKeptAsGiven() {
        MemorySegment s = Arena.ofAuto().allocate(18, 64);
        FloatTensor t = FloatTensor.of(GgmlType.Q4_0, s, 32);
        assertThat(t.segment()).isSameAs(s);
        assertThat(t.stored()).isSameAs(s);
    }
}
