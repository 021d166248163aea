package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

/** Shared helpers: deterministic data, tensors over byte arrays, the per-type kernel entry points. */
final class TensorTestData {
    private TensorTestData() {}

    static final GgmlType[] TYPES = {GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K};

    /** Gaussian values with an occasional outlier, like trained weights. */
    static float[] weights(long seed, int n) {
        var r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            double g = gaussian(r) * 0.02;
            if (r.nextInt(64) == 0) g *= 8;
            v[i] = (float) g;
        }
        return v;
    }

    static float[] activations(long seed, int n) {
        var r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) gaussian(r);
        return v;
    }

    private static double gaussian(SplittableRandom r) {
        double u = r.nextDouble(), w = r.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * w);
    }

    /**
     * The bytes as a tensor in native memory, as a mapped model file is: kernels that also saw
     * heap segments would be compiled for both, and tests should measure what models run.
     */
    static FloatTensor tensor(GgmlType type, byte[] bytes, long size) {
        MemorySegment s = java.lang.foreign.Arena.ofAuto().allocate(Math.max(1, bytes.length), 64);
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, s, 0, bytes.length);
        return FloatTensor.of(type, s.asSlice(0, bytes.length), size);
    }

    static FloatTensor quantized(GgmlType type, float[] values) {
        return tensor(type, Quantizer.quantize(type, values), values.length);
    }

    /** Raw bits of each float, for comparisons that must be bit for bit (NaN and -0 included). */
    static int[] bits(float[] a) {
        int[] b = new int[a.length];
        for (int i = 0; i < a.length; i++) b[i] = Float.floatToRawIntBits(a[i]);
        return b;
    }

    /**
     * A batched product of {@code type} weights through {@link MatMul}, on one and three threads,
     * with a path switched on and then off ({@code path} sets it): the same bits both ways, and
     * not all zero. Rows past whole panels (of either batched path: {@link ShortGemm}'s are the
     * wider) and a batch past whole tiles.
     */
    static void assertSameBitsOnAndOff(GgmlType type, java.util.function.Consumer<Boolean> path) {
        int rows = 3 * ShortGemm.PANEL + 8, cols = type.blockSize == 256 ? 512 : 320, batch = 17;
        FloatTensor w = quantized(type, weights(5, rows * cols));
        float[] x = activations(6, batch * cols);
        try {
            for (int threads : new int[] {1, 3})
                try (Parallel pool = new Parallel(threads)) {
                    float[] on = new float[batch * rows], off = new float[batch * rows];
                    path.accept(true);
                    MatMul.matmul(pool, w, x, batch, on, rows, cols);
                    path.accept(false);
                    MatMul.matmul(pool, w, x, batch, off, rows, cols);
                    org.assertj.core.api.Assertions.assertThat(bits(on)).as("%s threads=%d", type, threads).containsExactly(bits(off));
                    org.assertj.core.api.Assertions.assertThat(on).as("not all zero").isNotEqualTo(new float[batch * rows]);
                }
        } finally {
            w.release();
        }
    }

    /**
     * Q4_0 weights at their extremes, two blocks a row: rows alternate stored quants 0 (value -8)
     * and 15 (value 7), every block's scale 0.5. Against {@link #extremeActivations}, a block's sum
     * of q * x reaches 60,960 (past a short) and of (q - 8) * x 32,512 (a short's limit less 255).
     */
    static Q4_0Tensor extremeQ4_0(int rows) {
        int blocks = 2;
        byte[] bytes = new byte[rows * blocks * Q4_0Tensor.BYTES];
        for (int blk = 0; blk < rows * blocks; blk++) {
            putF16(bytes, blk * Q4_0Tensor.BYTES, 0.5f);
            // block blk is row blk / 2's block blk % 2
            java.util.Arrays.fill(bytes, blk * Q4_0Tensor.BYTES + 2, (blk + 1) * Q4_0Tensor.BYTES, (byte) (blk / 2 % 2 == 0 ? 0x00 : 0xFF));
        }
        return (Q4_0Tensor) tensor(GgmlType.Q4_0, bytes, (long) rows * 64);
    }

    /** Rows of 64 activations: the first block quantizes to -127 (scale 1/127), the second to 127 (scale 0.5/127). */
    static float[] extremeActivations(int rows) {
        float[] x = new float[rows * 64];
        for (int i = 0; i < x.length; i++) x[i] = i % 64 < 32 ? -1f : 0.5f;
        return x;
    }

    /** Row r of {@link #extremeQ4_0} against a row of {@link #extremeActivations}, as the integer kernels compute it. */
    static float extremeQ4_0Product(int r) {
        int q = r % 2 == 0 ? -8 : 7;
        float dx0 = Float.float16ToFloat(Float.floatToFloat16(1f / 127f)), dx1 = Float.float16ToFloat(Float.floatToFloat16(0.5f / 127f));
        float want = Math.fma((float) (q * -127 * 32), 0.5f * dx0, 0f);
        return Math.fma((float) (q * 127 * 32), 0.5f * dx1, want);
    }

    interface Dot {
        float dot(MemorySegment s, long offset, float[] x, int xOffset, int n);
    }

    static Dot scalarDot(GgmlType type) {
        return switch (type) {
            case F32 -> F32Tensor::dotScalar;
            case F16 -> F16Tensor::dotScalar;
            case BF16 -> BF16Tensor::dotScalar;
            case Q8_0 -> Q8_0Tensor::dotScalar;
            case Q4_0 -> Q4_0Tensor::dotScalar;
            case Q4_K -> Q4_KTensor::dotScalar;
            case Q6_K -> Q6_KTensor::dotScalar;
            default -> throw new IllegalArgumentException(type.toString());
        };
    }

    static Dot vectorDot(GgmlType type) {
        return switch (type) {
            case F32 -> F32Tensor::dotVector;
            case F16 -> F16Tensor::dotVector;
            case BF16 -> BF16Tensor::dotVector;
            case Q8_0 -> Q8_0Tensor::dotVector;
            case Q4_0 -> Q4_0Tensor::dotVector;
            case Q4_K -> Q4_KTensor::dotVector;
            case Q6_K -> Q6_KTensor::dotVector;
            default -> throw new IllegalArgumentException(type.toString());
        };
    }

    static void putF16(byte[] b, int off, float v) {
        short h = Float.floatToFloat16(v);
        b[off] = (byte) h;
        b[off + 1] = (byte) (h >> 8);
    }

    /** The product a test writes out for one (weight row, activation row) pair from the quantized activations. */
    @FunctionalInterface
    interface Reference {
        float product(int row, QuantizedRows x, int xRow);
    }

    /** w (rows x cols) times the batch x, on two threads: out[b * rows + r]. */
    static float[] products(FloatTensor w, float[] x, int batch, int rows, int cols) {
        float[] out = new float[batch * rows];
        try (Parallel pool = new Parallel(2)) {
            MatMul.matmul(pool, w, x, batch, out, rows, cols);
        }
        return out;
    }

    /** Multiplies w with the batch x on two threads and checks every output against the reference, bit for bit. */
    static void assertProductsFollow(FloatTensor w, float[] x, int batch, int rows, int cols, Reference reference) {
        QuantizedRows q = new QuantizedRows();
        q.quantize(x, batch, cols);
        float[] out = products(w, x, batch, rows, cols);
        for (int b = 0; b < batch; b++)
            for (int r = 0; r < rows; r++)
                org.assertj.core.api.Assertions.assertThat(Float.floatToRawIntBits(out[b * rows + r])).as("b=%d r=%d", b, r)
                        .isEqualTo(Float.floatToRawIntBits(reference.product(r, q, b)));
    }
}
