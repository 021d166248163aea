package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Products of a few activation rows that read a Q8_0, Q4_0, Q4_K or Q6_K matrix in its stored bytes, in its
 * repacked form's order, while a model's repacking ahead of use has not made that form
 * ({@link MatMul#IN_ORDER_ROWS}, {@link FloatTensor#expectRepackingAhead}): their results must be
 * the repacked form's, bit for bit, or a model's output would depend on how far its repacking had
 * got.
 */
class InOrderProductsTest {

    /** 32 rows: whole pairs of groups for the repacked kernels; 40: a group left over. 544 values: an odd number of blocks (768: of K-quant super-blocks). */
    @ParameterizedTest
    @CsvSource({"Q8_0, 32, 544", "Q8_0, 40, 2048", "Q4_0, 32, 544", "Q4_0, 40, 2048", "Q6_K, 32, 768", "Q6_K, 40, 2048", "Q4_K, 32, 768", "Q4_K, 40, 2048"})
    void aFewRowsReadTheStoredBytesAndGiveTheRepackedFormsResultsBitForBit(GgmlType type, int rows, int cols) {
        for (int batch = 1; batch <= MatMul.IN_ORDER_ROWS; batch++) {
            FloatTensor w = TensorTestData.quantized(type, TensorTestData.weights(20 + batch, rows * cols));
            float[] x = TensorTestData.activations(40 + batch, batch * cols);
            try {
                w.expectRepackingAhead(true);
                float[] inOrder = TensorTestData.products(w, x, batch, rows, cols);
                assertThat(w.repacked()).as("batch %d left the form to the repacking", batch).isFalse();
                w.expectRepackingAhead(false);
                float[] repacked = TensorTestData.products(w, x, batch, rows, cols);
                assertThat(w.repacked()).isTrue();
                assertThat(TensorTestData.bits(inOrder)).as("batch %d", batch).containsExactly(TensorTestData.bits(repacked));
            } finally {
                w.release();
            }
        }
    }

    /**
     * A first pass's last kernel compiled ahead ({@link MatMul#compileAhead}): only for a matrix
     * whose products will read its stored bytes and whose type the earlier matrices do not share;
     * its thread ends, and it makes no repacked form.
     */
    @Test
    void compilingAheadTakesOnlyAnUnsharedKernelAndMakesNoForm() throws InterruptedException {
        int rows = 64, cols = 512;
        FloatTensor output = TensorTestData.quantized(GgmlType.Q6_K, TensorTestData.weights(11, rows * cols));
        FloatTensor layer = TensorTestData.quantized(GgmlType.Q4_0, TensorTestData.weights(12, rows * cols));
        FloatTensor alike = TensorTestData.quantized(GgmlType.Q6_K, TensorTestData.weights(13, rows * cols));
        try {
            assertThat(MatMul.compileAhead(output, cols, layer)).as("its products will make the form, not read the stored bytes").isNull();
            output.expectRepackingAhead(true);
            assertThat(MatMul.compileAhead(output, cols, layer, alike)).as("an earlier matrix shares its kernel").isNull();
            Thread ahead = MatMul.compileAhead(output, cols, layer, null);
            assertThat(ahead).isNotNull();
            ahead.join(60_000);
            assertThat(ahead.isAlive()).isFalse();
            assertThat(output.repacked()).isFalse();
        } finally {
            output.release();
            layer.release();
            alike.release();
        }
    }

    /** A model closed under the thread (its weights' memory gone): the thread ends quietly. */
    @Test
    void compilingAheadEndsQuietlyWhenTheWeightsGoAway() throws InterruptedException {
        int rows = 16, cols = 256;
        byte[] bytes = Quantizer.quantize(GgmlType.Q6_K, TensorTestData.weights(14, rows * cols));
        java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared();
        java.lang.foreign.MemorySegment s = arena.allocate(bytes.length, 64);
        java.lang.foreign.MemorySegment.copy(java.lang.foreign.MemorySegment.ofArray(bytes), 0, s, 0, bytes.length);
        FloatTensor output = FloatTensor.of(GgmlType.Q6_K, s, (long) rows * cols);
        output.expectRepackingAhead(true);
        arena.close();
        var uncaught = new java.util.concurrent.atomic.AtomicReference<Throwable>();
        Thread.UncaughtExceptionHandler before = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> { // this thread's alone: another test's stray thread is not ours to judge
            if (t.getName().equals("genset-compile-ahead")) uncaught.set(e);
            else if (before != null) before.uncaughtException(t, e);
        });
        try {
            Thread ahead = MatMul.compileAhead(output, cols);
            assertThat(ahead).isNotNull();
            ahead.join(60_000);
            assertThat(ahead.isAlive()).isFalse();
        } finally {
            Thread.setDefaultUncaughtExceptionHandler(before);
        }
        assertThat(uncaught.get()).isNull();
    }

    /** Quants at their extremes (sums past a short for Q4_0's q * x, at a short's limit for (q - 8) * x) stay exact. */
    @Test
    void extremeQ4_0BlocksStayExact() {
        int rows = 16, batch = 3;
        Q4_0Tensor w = TensorTestData.extremeQ4_0(rows);
        try {
            w.expectRepackingAhead(true);
            float[] out = TensorTestData.products(w, TensorTestData.extremeActivations(batch), batch, rows, 64);
            assertThat(w.repacked()).isFalse();
            for (int b = 0; b < batch; b++)
                for (int r = 0; r < rows; r++) assertThat(out[b * rows + r]).as("b=%d r=%d", b, r).isEqualTo(TensorTestData.extremeQ4_0Product(r));
        } finally {
            w.release();
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void largerBatchesMakeTheFormRatherThanReadTheStoredBytes(GgmlType type) {
        int rows = 16, cols = 256, batch = MatMul.IN_ORDER_ROWS + 1;
        FloatTensor w = TensorTestData.quantized(type, TensorTestData.weights(7, rows * cols));
        try {
            w.expectRepackingAhead(true);
            TensorTestData.products(w, TensorTestData.activations(8, batch * cols), batch, rows, cols);
            assertThat(w.repacked()).isTrue();
        } finally {
            w.release();
        }
    }

    /** A tensor kept in its stored form, or whose rows are not whole groups of eight, has no repacked form to follow: its products are as without the call. */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K"})
    void storedOnlyTensorsAreUnchanged(GgmlType type) {
        int cols = 256, batch = 3;
        for (int rows : new int[] {16, 12}) {
            float[] values = TensorTestData.weights(9, rows * cols), x = TensorTestData.activations(10, batch * cols);
            FloatTensor plain = TensorTestData.quantized(type, values), told = TensorTestData.quantized(type, values);
            try {
                if (rows % 8 == 0) {
                    plain.keepStored();
                    told.keepStored();
                }
                told.expectRepackingAhead(true);
                assertThat(TensorTestData.bits(TensorTestData.products(told, x, batch, rows, cols)))
                        .containsExactly(TensorTestData.bits(TensorTestData.products(plain, x, batch, rows, cols)));
                assertThat(told.repacked()).isFalse();
            } finally {
                plain.release();
                told.release();
            }
        }
    }
}
