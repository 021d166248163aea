package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import org.junit.jupiter.api.Test;

import static dev.genset.engine.tensor.TensorTestData.tensor;
import static org.assertj.core.api.Assertions.assertThat;

/** Blocks written byte by byte with known scales and quants; decoded values must be exact. */
class HandBlockTest {

    /** Decodes with dequantize (fast path) and getFloat, checking both against expected. */
    private static void assertDecodes(FloatTensor t, float[] expected) {
        float[] out = new float[expected.length];
        t.dequantize(0, out, 0, expected.length);
        assertThat(out).containsExactly(expected);
        for (int i = 0; i < expected.length; i++) assertThat(t.getFloat(i)).as("getFloat(%d)", i).isEqualTo(expected[i]);
    }

    @Test
    void f16() {
        // 1, -2, 0.5, max normal, smallest subnormal, -0, +inf, -inf, then 1..8 for a second vector
        int[] bits = {0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x8000, 0x7C00, 0xFC00,
                0x3C00, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600, 0x4700, 0x4800};
        float[] expected = {1, -2, 0.5f, 65504, 0x1p-24f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
                1, 2, 3, 4, 5, 6, 7, 8};
        byte[] b = new byte[32];
        for (int i = 0; i < 16; i++) {
            b[2 * i] = (byte) bits[i];
            b[2 * i + 1] = (byte) (bits[i] >> 8);
        }
        assertDecodes(tensor(GgmlType.F16, b, 16), expected);
    }

    @Test
    void f16WideningMatchesJavaForEveryBitPattern() {
        byte[] b = new byte[2 * 65536];
        for (int i = 0; i < 65536; i++) {
            b[2 * i] = (byte) i;
            b[2 * i + 1] = (byte) (i >> 8);
        }
        float[] out = new float[65536];
        F16Tensor.dequantizeVector(java.lang.foreign.MemorySegment.ofArray(b), 0, out, 0, 65536);
        for (int i = 0; i < 65536; i++) {
            float want = Float.float16ToFloat((short) i);
            // NaN payload quieting differs between conversions; any NaN is fine there
            if (Float.isNaN(want)) assertThat(out[i]).as("half %04x", i).isNaN();
            else assertThat(Float.floatToRawIntBits(out[i])).as("half %04x", i).isEqualTo(Float.floatToRawIntBits(want));
        }
    }

    @Test
    void bf16() {
        // 1, -3, pi rounded to bf16 (3.140625), 2^-126, then 1..12
        int[] bits = {0x3F80, 0xC040, 0x4049, 0x0080, 0x3F80, 0x4000, 0x4040, 0x4080,
                0x40A0, 0x40C0, 0x40E0, 0x4100, 0x4110, 0x4120, 0x4130, 0x4140};
        float[] expected = {1, -3, 3.140625f, 0x1p-126f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
        byte[] b = new byte[32];
        for (int i = 0; i < 16; i++) {
            b[2 * i] = (byte) bits[i];
            b[2 * i + 1] = (byte) (bits[i] >> 8);
        }
        assertDecodes(tensor(GgmlType.BF16, b, 16), expected);
    }

    @Test
    void q8_0() {
        // two blocks: d = 0.5 (fp16 0x3800) with q = j - 16; d = -2 (0xC000) with q = 127, -128, 0, ...
        byte[] b = new byte[68];
        b[0] = 0x00;
        b[1] = 0x38;
        for (int j = 0; j < 32; j++) b[2 + j] = (byte) (j - 16);
        b[34] = 0x00;
        b[35] = (byte) 0xC0;
        b[36] = 127;
        b[37] = -128;
        float[] expected = new float[64];
        for (int j = 0; j < 32; j++) expected[j] = (j - 16) * 0.5f;
        expected[32] = -254;
        expected[33] = 256;
        for (int j = 34; j < 64; j++) expected[j] = -0f;  // 0 * -2
        assertDecodes(tensor(GgmlType.Q8_0, b, 64), expected);
    }

    @Test
    void q4_0() {
        // d = 0.25 (0x3400); byte j holds element j in its low nibble and element j+16 in its high one
        byte[] b = new byte[18];
        b[0] = 0x00;
        b[1] = 0x34;
        for (int j = 0; j < 16; j++) b[2 + j] = (byte) (j | (15 - j) << 4);
        float[] expected = new float[32];
        for (int j = 0; j < 16; j++) {
            expected[j] = (j - 8) * 0.25f;
            expected[16 + j] = (7 - j) * 0.25f;
        }
        assertDecodes(tensor(GgmlType.Q4_0, b, 32), expected);
    }

    @Test
    void q4_K() {
        int[] sc = {1, 2, 3, 4, 17, 33, 48, 63};
        int[] mn = {0, 1, 2, 3, 16, 32, 47, 62};
        byte[] b = new byte[144];
        b[0] = 0x00; b[1] = 0x38;  // d = 0.5
        b[2] = 0x00; b[3] = 0x34;  // dmin = 0.25
        // bytes 0-3: scale j | top bits of scale j+4; 4-7: min j | top bits of min j+4;
        // 8-11: low nibble of scale j+4 | low nibble of min j+4 (worked out by hand from sc, mn)
        int[] packed = {0x41, 0x82, 0xC3, 0xC4, 0x40, 0x81, 0x82, 0xC3, 0x01, 0x01, 0xF0, 0xEF};
        for (int i = 0; i < 12; i++) b[4 + i] = (byte) packed[i];
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++) b[16 + 32 * c + l] = (byte) (l % 16 | ((l + c) % 16) << 4);
        float[] expected = new float[256];
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++) {
                expected[64 * c + l] = 0.5f * sc[2 * c] * (l % 16) - 0.25f * mn[2 * c];
                expected[64 * c + 32 + l] = 0.5f * sc[2 * c + 1] * ((l + c) % 16) - 0.25f * mn[2 * c + 1];
            }
        float[] scales = new float[8], mins = new float[8];
        IntKernels.unpackQ4_K(java.lang.foreign.MemorySegment.ofArray(b), 0, scales, 0, mins, 0);
        for (int j = 0; j < 8; j++) {
            assertThat(Q4_KTensor.scale(java.lang.foreign.MemorySegment.ofArray(b), 4, j)).isEqualTo(sc[j]);
            assertThat(Q4_KTensor.min(java.lang.foreign.MemorySegment.ofArray(b), 4, j)).isEqualTo(mn[j]);
            assertThat(scales[j]).isEqualTo(0.5f * sc[j]);
            assertThat(mins[j]).isEqualTo(0.25f * mn[j]);
        }
        assertDecodes(tensor(GgmlType.Q4_K, b, 256), expected);
    }

    @Test
    void q6_KSingleBytes() {
        // all quants 0 (value -32 * d * scale) except where ql[0] = 0x21 and qh[0] = 0b11_10_01_00:
        // element 0 = 1 | 0 << 4, element 32 = 0 | 1 << 4, element 64 = 2 | 2 << 4, element 96 = 0 | 3 << 4
        byte[] b = new byte[210];
        b[0] = 0x21;
        b[128] = (byte) 0xE4;
        for (int g = 0; g < 16; g++) b[192 + g] = 1;
        b[208] = 0x00; b[209] = 0x3C;  // d = 1
        float[] expected = new float[256];
        java.util.Arrays.fill(expected, -32);
        expected[0] = 1 - 32;
        expected[32] = 16 - 32;
        expected[64] = 34 - 32;
        expected[96] = 48 - 32;
        assertDecodes(tensor(GgmlType.Q6_K, b, 256), expected);
    }

    @Test
    void q6_KAllQuantsAndScales() {
        // quant of element e is e % 64; scale of group g is 17g - 128 (covers -128 .. 127); d = 0.125
        byte[] b = new byte[210];
        for (int h = 0; h < 2; h++)
            for (int l = 0; l < 32; l++) {
                int e = 128 * h + l;
                int q1 = e % 64, q2 = (e + 32) % 64, q3 = (e + 64) % 64, q4 = (e + 96) % 64;
                b[64 * h + l] = (byte) (q1 & 0xF | (q3 & 0xF) << 4);
                b[64 * h + l + 32] = (byte) (q2 & 0xF | (q4 & 0xF) << 4);
                b[128 + 32 * h + l] = (byte) (q1 >> 4 | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6);
            }
        for (int g = 0; g < 16; g++) b[192 + g] = (byte) (17 * g - 128);
        b[208] = 0x00; b[209] = 0x30;  // d = 0.125
        float[] expected = new float[256];
        for (int e = 0; e < 256; e++) expected[e] = 0.125f * (17 * (e / 16) - 128) * (e % 64 - 32);
        assertDecodes(tensor(GgmlType.Q6_K, b, 256), expected);
    }

    @Test
    void partialBlocksAtEitherEndUseGetFloat() {
        float[] v = TensorTestData.weights(7, 96);
        FloatTensor t = TensorTestData.quantized(GgmlType.Q8_0, v);
        float[] out = new float[50];
        t.dequantize(5, out, 0, 50);
        for (int i = 0; i < 50; i++) assertThat(out[i]).isEqualTo(t.getFloat(5 + i));
    }

    /** The word-at-a-time unpacking of Q4_K scales and mins, for one super-block and for a row of three, equals the byte-by-byte one, bit for bit, on random bytes. */
    @Test
    void q4kScalesUnpackedWordwiseEqualThoseReadByteByByte() {
        java.util.Random random = new java.util.Random(7);
        byte[] b = new byte[3 * 144];
        float[] scales = new float[8], mins = new float[8], rowScales = new float[3 + 24], rowMins = new float[5 + 24];
        for (int trial = 0; trial < 1000; trial++) {
            random.nextBytes(b);
            for (int g = 0; g < 3; g++) {
                b[144 * g + 1] &= 0x3F;  // finite d
                b[144 * g + 3] &= 0x3F;  // finite dmin
            }
            java.lang.foreign.MemorySegment s = java.lang.foreign.MemorySegment.ofArray(b);
            IntKernels.widenQ4_KScales(s, 0, 3, rowScales, 3, rowMins, 5);
            for (int g = 0; g < 3; g++) {
                IntKernels.unpackQ4_K(s, 144L * g, scales, 0, mins, 0);
                for (int j = 0; j < 8; j++) {
                    assertThat(scales[j]).isEqualTo(Simd.f16(s, 144L * g) * Q4_KTensor.scale(s, 144L * g + 4, j));
                    assertThat(mins[j]).isEqualTo(Simd.f16(s, 144L * g + 2) * Q4_KTensor.min(s, 144L * g + 4, j));
                    assertThat(rowScales[3 + 8 * g + j]).isEqualTo(scales[j]);
                    assertThat(rowMins[5 + 8 * g + j]).isEqualTo(mins[j]);
                }
            }
        }
    }

    /** Q6_K repacked for the kernels: every value's q - 32 as a signed byte and every group's d * scale, on random bytes (every quant and scale pattern occurs). */
    @Test
    void q6kPackedQuantsAndScalesEqualTheFormatsOwn() {
        java.util.Random random = new java.util.Random(11);
        byte[] b = new byte[5 * 210];
        for (int trial = 0; trial < 200; trial++) {
            random.nextBytes(b);
            for (int g = 0; g < 5; g++) b[210 * g + 209] &= 0x3B;  // finite d
            Q6_KTensor t = (Q6_KTensor) tensor(GgmlType.Q6_K, b, 5 * 256);
            java.lang.foreign.MemorySegment s = t.segment();
            PackedQuants p;
            try (Parallel pool = new Parallel(2)) {
                p = PackedQuants.of(t, pool);
            }
            for (int g = 0; g < 5; g++) {
                for (int e = 0; e < 256; e++)
                    assertThat((int) p.quants.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 256L * g + e)).as("block %d value %d", g, e)
                            .isEqualTo(Q6_KTensor.quant(s, 210L * g, e) - 32);
                for (int j = 0; j < 16; j++)
                    assertThat(p.scales[16 * g + j]).isEqualTo(Simd.f16(s, 210L * g + 208) * Q6_KTensor.scale(s, 210L * g, 16 * j));
            }
            p.free();
        }
    }

    /** A tensor's packed form is made once, and released with the model: its native memory is freed then, not when the collector gets to it. */
    @Test
    void q6kPackedFormIsSharedAndFreedOnRelease() {
        byte[] b = new byte[2 * 210];
        Q6_KTensor t = (Q6_KTensor) tensor(GgmlType.Q6_K, b, 2 * 256);
        try (Parallel pool = new Parallel(2)) {
            PackedQuants p = t.packed(pool);
            assertThat(t.packed(pool)).isSameAs(p);
            t.release();
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> p.quants.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0))
                    .isInstanceOf(IllegalStateException.class);
        }
    }
}
