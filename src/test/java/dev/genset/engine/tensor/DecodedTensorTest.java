package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The types multiplied through decoded floats ({@link DecodedTensor}): every value of random blocks
 * against a reference computed element by element from ggml's block layouts (derived from the
 * element's index, not by walking the block as the decoders do), products against that reference
 * (the integer kernels' with the activations quantized as they quantize them), and single-row against batched
 * products bit for bit.
 */
class DecodedTensorTest {

    /** Byte offsets of a block's fp16 scales, which random bytes could make NaN or infinite. */
    private static int[] scaleOffsets(GgmlType type) {
        return switch (type) {
            case Q4_1, Q5_1, Q5_K -> new int[] {0, 2};
            case Q5_0, IQ4_NL, IQ4_XS -> new int[] {0};
            case Q2_K -> new int[] {80, 82};
            case Q3_K -> new int[] {108};
            default -> throw new IllegalArgumentException(type.toString());
        };
    }

    /** Random blocks with finite scales of either sign. */
    static byte[] randomBlocks(GgmlType type, int blocks, long seed) {
        var r = new SplittableRandom(seed);
        byte[] b = new byte[blocks * type.typeSize];
        for (int i = 0; i < b.length; i++) b[i] = (byte) r.nextInt(256);
        for (int k = 0; k < blocks; k++)
            for (int off : scaleOffsets(type)) {
                short h = Float.floatToFloat16((float) ((r.nextDouble() - 0.5) * 0.1));
                b[k * type.typeSize + off] = (byte) h;
                b[k * type.typeSize + off + 1] = (byte) (h >> 8);
            }
        return b;
    }

    private static int u8(byte[] b, int i) {
        return b[i] & 0xFF;
    }

    private static float f16(byte[] b, int i) {
        return Float.float16ToFloat((short) (u8(b, i) | u8(b, i + 1) << 8));
    }

    private static int u32(byte[] b, int i) {
        return u8(b, i) | u8(b, i + 1) << 8 | u8(b, i + 2) << 16 | u8(b, i + 3) << 24;
    }

    private static final int[] IQ4 = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    /** Value e of the block starting at byte p, from ggml's layout. */
    static float expected(GgmlType type, byte[] b, int p, int e) {
        int j = e % 16;
        switch (type) {
            case Q4_1 -> {
                int q = e < 16 ? u8(b, p + 4 + j) & 15 : u8(b, p + 4 + j) >>> 4;
                return q * f16(b, p) + f16(b, p + 2);
            }
            case Q5_0, Q5_1 -> {
                boolean one = type == GgmlType.Q5_1;
                int qs = p + (one ? 8 : 6), high = u32(b, p + (one ? 4 : 2)) >>> e & 1;  // value e's fifth bit is bit e
                int q = (e < 16 ? u8(b, qs + j) & 15 : u8(b, qs + j) >>> 4) | high << 4;
                return one ? q * f16(b, p) + f16(b, p + 2) : (q - 16) * f16(b, p);
            }
            case Q2_K, Q3_K -> {
                int half = e / 128, shift = 2 * (e % 128 / 32), part = e % 32 / 16, l = e % 16;
                int scaleIndex = 8 * half + shift + part;  // shift / 2 * 2 + part
                if (type == GgmlType.Q2_K) {
                    int q = u8(b, p + 16 + 32 * half + 16 * part + l) >>> shift & 3, sm = u8(b, p + scaleIndex);
                    return f16(b, p + 80) * (sm & 15) * q - f16(b, p + 82) * (sm >>> 4);
                }
                int low = u8(b, p + 32 + 32 * half + 16 * part + l) >>> shift & 3;
                int high = u8(b, p + 16 * part + l) >>> (4 * half + shift / 2) & 1;
                return f16(b, p + 108) * (q3Scales(b, p + 96)[scaleIndex] - 32) * (low - (high == 1 ? 0 : 4));
            }
            case Q5_K -> {
                int sub = e / 32, l = e % 32;
                int packed = u8(b, p + 48 + 32 * (sub / 2) + l);
                int q = (sub % 2 == 0 ? packed & 15 : packed >>> 4) | (u8(b, p + 16 + l) >>> sub & 1) << 4;
                int[] sm = scaleMinK4(b, p + 4, sub);
                return f16(b, p) * sm[0] * q - f16(b, p + 2) * sm[1];
            }
            case IQ4_NL -> {
                int q = e < 16 ? u8(b, p + 2 + j) & 15 : u8(b, p + 2 + j) >>> 4;
                return f16(b, p) * IQ4[q];
            }
            case IQ4_XS -> {
                int sub = e / 32, r = e % 32, packed = u8(b, p + 8 + 16 * sub + r % 16);
                int scale = (u8(b, p + 4 + sub / 2) >>> 4 * (sub % 2) & 15) | ((u8(b, p + 2) | u8(b, p + 3) << 8) >>> 2 * sub & 3) << 4;
                return f16(b, p) * (scale - 32) * IQ4[r < 16 ? packed & 15 : packed >>> 4];
            }
            default -> throw new IllegalArgumentException(type.toString());
        }
    }

    /** Q3_K's 16 scales as ggml unpacks them: three 32-bit words, masks and shifts, read as 16 bytes. */
    private static int[] q3Scales(byte[] b, int p) {
        int a0 = u32(b, p), a1 = u32(b, p + 4), tmp = u32(b, p + 8);
        int[] words = {
                (a0 & 0x0F0F0F0F) | (tmp & 0x03030303) << 4,
                (a1 & 0x0F0F0F0F) | (tmp >>> 2 & 0x03030303) << 4,
                (a0 >>> 4 & 0x0F0F0F0F) | (tmp >>> 4 & 0x03030303) << 4,
                (a1 >>> 4 & 0x0F0F0F0F) | (tmp >>> 6 & 0x03030303) << 4};
        int[] scales = new int[16];
        for (int i = 0; i < 16; i++) scales[i] = words[i / 4] >>> 8 * (i % 4) & 0xFF;
        return scales;
    }

    /** Q4_K and Q5_K's scale and min of sub-block k, as ggml's get_scale_min_k4. */
    private static int[] scaleMinK4(byte[] b, int p, int k) {
        if (k < 4) return new int[] {u8(b, p + k) & 63, u8(b, p + k + 4) & 63};
        return new int[] {(u8(b, p + k + 4) & 15) | (u8(b, p + k - 4) >>> 6) << 4, (u8(b, p + k + 4) >>> 4) | (u8(b, p + k) >>> 6) << 4};
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q5_K", "IQ4_NL", "IQ4_XS"})
    void everyValueDecodesAsGgmlDefinesIt(GgmlType type) {
        int blocks = 40;
        byte[] bytes = randomBlocks(type, blocks, type.id);
        FloatTensor t = TensorTestData.tensor(type, bytes, (long) blocks * type.blockSize);
        assertThat(t).isInstanceOf(DecodedTensor.class);
        float[] all = new float[blocks * type.blockSize];
        t.dequantize(0, all, 0, all.length);
        for (int k = 0; k < blocks; k++)
            for (int e = 0; e < type.blockSize; e++) {
                float want = expected(type, bytes, k * type.typeSize, e);
                int i = k * type.blockSize + e;
                assertThat(all[i]).as("%s block %d value %d", type, k, e).isEqualTo(want);
                if (e % 7 == 0) assertThat(t.getFloat(i)).isEqualTo(want);
            }
        // a range that starts and ends inside blocks
        float[] part = new float[type.blockSize + 5];
        t.dequantize(3, part, 0, part.length);
        assertThat(part).containsExactly(Arrays.copyOfRange(all, 3, 3 + part.length));
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q5_K", "IQ4_NL", "IQ4_XS"})
    void productsMatchTheReferenceAndAreBatchInvariant(GgmlType type) {
        int rows = 11, cols = 2 * 256;
        byte[] bytes = randomBlocks(type, rows * cols / type.blockSize, 7 + type.id);
        products(type, TensorTestData.tensor(type, bytes, (long) rows * cols), rows, cols);
        // kept in the stored form (not repacked), as when memory is short
        FloatTensor stored = TensorTestData.tensor(type, bytes, (long) rows * cols);
        stored.keepStored();
        assertThat(stored.repackedBytes()).isZero();
        products(type, stored, rows, cols);
    }

    private static void products(GgmlType type, FloatTensor w, int rows, int cols) {
        float[] values = new float[rows * cols];
        w.dequantize(0, values, 0, values.length);
        int batch = 5;
        float[] x = TensorTestData.activations(type.id, batch * cols);
        // Q5_K, Q3_K, IQ4_XS, IQ4_NL and Q5_0 take the integer kernels: activations quantized to 8 bits,
        // so they are held to the product with those; the others to the exact product of the decoded values
        boolean integer = IntKernels.handles(w);
        QuantizedRows xq = new QuantizedRows();
        xq.quantize(x, batch, cols);
        for (int threads : new int[] {1, 2})
            try (Parallel pool = new Parallel(threads)) {
                float[] out = new float[batch * rows];
                MatMul.matmul(pool, w, x, batch, out, rows, cols);
                for (int b = 0; b < batch; b++) {
                    float[] xb = Arrays.copyOfRange(x, b * cols, (b + 1) * cols);
                    float[] one = new float[rows];
                    MatMul.matvec(pool, w, xb, one, rows, cols);
                    for (int r = 0; r < rows; r++) {
                        double ref = 0, scale = 0, intScale = 0;
                        for (int c = 0; c < cols; c++) {
                            ref += (double) values[r * cols + c] * xb[c];
                            scale += Math.abs((double) values[r * cols + c] * xb[c]);
                            intScale += Math.abs((double) values[r * cols + c] * xq.value(b, c));
                        }
                        float dot = w.dot((long) r * cols, xb, 0, cols);
                        assertThat((double) dot).as("%s row %d, float dot", type, r).isCloseTo(ref, within(1e-5 * scale + 1e-7));
                        if (integer) {
                            // the decoded values times the 8-bit activations, exactly
                            double intRef = 0;
                            for (int c = 0; c < cols; c++) intRef += (double) values[r * cols + c] * xq.value(b, c);
                            assertThat((double) one[r]).as("%s row %d", type, r).isCloseTo(intRef, within(1e-5 * intScale + 1e-7));
                        } else {
                            assertThat(one[r]).as("%s row %d", type, r).isEqualTo(dot);
                        }
                        assertThat(Float.floatToRawIntBits(out[b * rows + r])).as("%s batch row %d, row %d", type, b, r)
                                .isEqualTo(Float.floatToRawIntBits(one[r]));
                    }
                }
            }
    }
}
