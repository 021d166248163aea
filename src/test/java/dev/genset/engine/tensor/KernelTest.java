package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.MemorySegment;

import static org.assertj.core.api.Assertions.assertThat;

/** The vector kernels against their scalar references and against each other. */
class KernelTest {
    private static final int ROWS = 3;

    private static int[] lengths(GgmlType type) {
        return type.blockSize == 256 ? new int[] {256, 512, 2816, 4096} : new int[] {32, 64, 96, 1056, 2048, 4096};
    }

    /**
     * Vector and scalar dot products sum in different orders; both must be within 1e-5 of the
     * sum of |w_i x_i| of the exact (double) product of the decoded weights and x.
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void vectorDotAgreesWithScalarReference(GgmlType type) {
        for (int n : lengths(type)) {
            float[] w = TensorTestData.weights(n, ROWS * n);
            FloatTensor t = TensorTestData.quantized(type, w);
            float[] decoded = new float[ROWS * n];
            t.dequantize(0, decoded, 0, ROWS * n);
            int xOffset = 5;
            float[] x = TensorTestData.activations(n + 1, n + xOffset);
            MemorySegment s = t.segment();
            for (int r = 0; r < ROWS; r++) {
                double exact = 0, magnitude = 0;
                for (int i = 0; i < n; i++) {
                    exact += (double) decoded[r * n + i] * x[xOffset + i];
                    magnitude += Math.abs((double) decoded[r * n + i] * x[xOffset + i]);
                }
                float scalar = TensorTestData.scalarDot(type).dot(s, (long) r * n, x, xOffset, n);
                float vector = TensorTestData.vectorDot(type).dot(s, (long) r * n, x, xOffset, n);
                float viaApi = t.dot((long) r * n, x, xOffset, n);
                double tol = 1e-5 * magnitude;
                assertThat((double) scalar).as("%s n=%d row %d scalar", type, n, r).isCloseTo(exact, org.assertj.core.data.Offset.offset(tol));
                assertThat((double) vector).as("%s n=%d row %d vector", type, n, r).isCloseTo(exact, org.assertj.core.data.Offset.offset(tol));
                assertThat(viaApi).isEqualTo(Simd.ENABLED ? vector : scalar);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void dequantizeAgreesWithGetFloatExactly(GgmlType type) {
        int n = 4096;
        FloatTensor t = TensorTestData.quantized(type, TensorTestData.weights(21, n));
        float[] out = new float[n + 7];
        t.dequantize(0, out, 7, n);
        for (int i = 0; i < n; i++) assertThat(out[7 + i]).as("%s element %d", type, i).isEqualTo(t.getFloat(i));
        // a row in the middle
        int from = type.blockSize == 256 ? 1024 : 64;
        float[] row = new float[1024];
        t.dequantize(from, row, 0, 1024);
        for (int i = 0; i < 1024; i++) assertThat(row[i]).isEqualTo(out[7 + from + i]);
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void vectorAndScalarDequantizeAreIdentical(GgmlType type) {
        int n = 4096;
        FloatTensor t = TensorTestData.quantized(type, TensorTestData.weights(5, n));
        MemorySegment s = t.segment();
        float[] a = new float[n], b = new float[n];
        int blocks = n / type.blockSize;
        switch (type) {
            case Q8_0 -> { Q8_0Tensor.dequantizeScalar(s, 0, a, 0, blocks); Q8_0Tensor.dequantizeVector(s, 0, b, 0, blocks); }
            case Q4_0 -> { Q4_0Tensor.dequantizeScalar(s, 0, a, 0, blocks); Q4_0Tensor.dequantizeVector(s, 0, b, 0, blocks); }
            case Q4_K -> { Q4_KTensor.dequantizeScalar(s, 0, a, 0, blocks); Q4_KTensor.dequantizeVector(s, 0, b, 0, blocks); }
            case Q6_K -> { Q6_KTensor.dequantizeScalar(s, 0, a, 0, blocks); Q6_KTensor.dequantizeVector(s, 0, b, 0, blocks); }
            default -> throw new IllegalStateException();
        }
        assertThat(b).containsExactly(a);
    }
}
