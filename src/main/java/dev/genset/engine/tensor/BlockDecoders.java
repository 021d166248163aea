package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Decoders for the block-quantized ggml types that {@link DecodedTensor} multiplies through floats:
 * each writes one block's values, in order, from the block at byte {@code b}. The layouts are
 * ggml's (block structs in ggml-common.h); every value is computed with the same float operations,
 * in the same order, as ggml's reference dequantization, so that files read here mean what they mean there.
 */
final class BlockDecoders {
    private BlockDecoders() {}

    /** Writes the block at byte b to out[o .. o + blockSize). */
    @FunctionalInterface
    interface Decoder {
        void decode(MemorySegment s, long b, float[] out, int o);
    }

    /** The decoder of a type {@link DecodedTensor} handles, or null. */
    static Decoder of(GgmlType type) {
        return switch (type) {
            case Q4_1 -> BlockDecoders::q4_1;
            case Q5_0 -> BlockDecoders::q5_0;
            case Q5_1 -> BlockDecoders::q5_1;
            case Q2_K -> BlockDecoders::q2_K;
            case Q3_K -> BlockDecoders::q3_K;
            case Q5_K -> BlockDecoders::q5_K;
            case IQ4_NL -> BlockDecoders::iq4_nl;
            case IQ4_XS -> BlockDecoders::iq4_xs;
            default -> null;
        };
    }

    private static int u8(MemorySegment s, long off) {
        return s.get(ValueLayout.JAVA_BYTE, off) & 0xFF;
    }

    private static float f16(MemorySegment s, long off) {
        return Simd.f16(s, off);
    }

    /** Q4_1, 20 bytes: fp16 d, fp16 m, 16 bytes of nibbles (low: values 0..15, high: 16..31); value = q * d + m. */
    static void q4_1(MemorySegment s, long b, float[] out, int o) {
        float d = f16(s, b), m = f16(s, b + 2);
        for (int j = 0; j < 16; j++) {
            int packed = u8(s, b + 4 + j);
            out[o + j] = (packed & 0xF) * d + m;
            out[o + j + 16] = (packed >>> 4) * d + m;
        }
    }

    /**
     * Q5_0, 22 bytes: fp16 d, 32 high bits (bit j belongs to value j), 16 bytes of low nibbles as in
     * Q4_0; value = (q - 16) * d with q of 5 bits.
     */
    static void q5_0(MemorySegment s, long b, float[] out, int o) {
        float d = f16(s, b);
        int high = s.get(Simd.LE_INT, b + 2);
        for (int j = 0; j < 16; j++) {
            int packed = u8(s, b + 6 + j);
            int q0 = (packed & 0xF) | (high >>> j & 1) << 4, q1 = (packed >>> 4) | (high >>> (j + 16) & 1) << 4;
            out[o + j] = (q0 - 16) * d;
            out[o + j + 16] = (q1 - 16) * d;
        }
    }

    /** Q5_1, 24 bytes: fp16 d, fp16 m, then Q5_0's high bits and nibbles; value = q * d + m. */
    static void q5_1(MemorySegment s, long b, float[] out, int o) {
        float d = f16(s, b), m = f16(s, b + 2);
        int high = s.get(Simd.LE_INT, b + 4);
        for (int j = 0; j < 16; j++) {
            int packed = u8(s, b + 8 + j);
            int q0 = (packed & 0xF) | (high >>> j & 1) << 4, q1 = (packed >>> 4) | (high >>> (j + 16) & 1) << 4;
            out[o + j] = q0 * d + m;
            out[o + j + 16] = q1 * d + m;
        }
    }

    /**
     * Q2_K, 84 bytes per 256 values: 16 bytes of 4-bit scale (low) and min (high) per 16 values,
     * 64 bytes of 2-bit quants, fp16 d, fp16 dmin. Each half of 128 values takes 32 quant bytes;
     * its four 32-value parts take bits 0-1, 2-3, 4-5, 6-7 of them, 16 values per scale.
     * value = d * scale * q - dmin * min.
     */
    static void q2_K(MemorySegment s, long b, float[] out, int o) {
        float d = f16(s, b + 80), dmin = f16(s, b + 82);
        int scale = 0;
        for (int half = 0; half < 2; half++) {
            long q = b + 16 + 32 * half;
            for (int shift = 0; shift < 8; shift += 2) {
                for (int part = 0; part < 2; part++, scale++) {
                    int sm = u8(s, b + scale);
                    float dl = d * (sm & 0xF), ml = dmin * (sm >>> 4);
                    for (int l = 0; l < 16; l++) out[o++] = dl * (u8(s, q + 16 * part + l) >>> shift & 3) - ml;
                }
            }
        }
    }

    /**
     * Q3_K, 110 bytes per 256 values: 32 bytes of high bits, 64 bytes of 2-bit low quants (laid out
     * as Q2_K's), 12 bytes holding 16 6-bit scales, fp16 d. Value = d * (scale - 32) * q with
     * q = low - 4, plus 4 when the value's high bit is set (bit k of hmask[l] for the k-th 32-value part).
     */
    static void q3_K(MemorySegment s, long b, float[] out, int o) {
        float d = f16(s, b + 108);
        int scale = 0, bit = 0;
        for (int half = 0; half < 2; half++) {
            long q = b + 32 + 32 * half;
            for (int shift = 0; shift < 8; shift += 2, bit++) {
                for (int part = 0; part < 2; part++, scale++) {
                    float dl = d * (q3_KScale(s, b + 96, scale) - 32);
                    for (int l = 0; l < 16; l++) {
                        int idx = 16 * part + l;
                        int low = u8(s, q + idx) >>> shift & 3;
                        int high = u8(s, b + idx) >>> bit & 1;
                        out[o++] = dl * (low - (high != 0 ? 0 : 4));
                    }
                }
            }
        }
    }

    /**
     * Scale i (0..15, 6 bits) of a Q3_K block from its 12 bytes at p: the low 4 bits from byte i (low
     * nibble, i < 8) or byte i - 8 (high nibble), the top 2 from byte 8 + i % 4, bits 2 * (i / 4) and up.
     */
    static int q3_KScale(MemorySegment s, long p, int i) {
        int low = i < 8 ? u8(s, p + i) & 0xF : u8(s, p + i - 8) >>> 4;
        int high = u8(s, p + 8 + i % 4) >>> (2 * (i / 4)) & 3;
        return low | high << 4;
    }

    /**
     * Q5_K, 176 bytes per 256 values: fp16 d, fp16 dmin, Q4_K's 12 bytes of 6-bit scales and
     * mins, 32 bytes of high bits, 128 bytes of nibbles laid out as Q4_K's. The fifth bit of value l
     * of 32-value part k is bit k of qh[l]. value = d * scale * q - dmin * min.
     */
    static void q5_K(MemorySegment s, long b, float[] out, int o) {
        float d = f16(s, b), dmin = f16(s, b + 2);
        for (int pair = 0; pair < 4; pair++) {
            long q = b + 48 + 32 * pair;
            for (int part = 0; part < 2; part++) {
                int k = 2 * pair + part;
                float dl = d * Q4_KTensor.scale(s, b + 4, k), ml = dmin * Q4_KTensor.min(s, b + 4, k);
                for (int l = 0; l < 32; l++) {
                    int packed = u8(s, q + l);
                    int low = part == 0 ? packed & 0xF : packed >>> 4;
                    int high = u8(s, b + 16 + l) >>> k & 1;
                    out[o++] = dl * (low | high << 4) - ml;
                }
            }
        }
    }

    /** The 16 values a 4-bit IQ4 index selects (ggml's kvalues_iq4nl). */
    static final byte[] IQ4_VALUES = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    /** IQ4_NL, 18 bytes: fp16 d, 16 bytes of 4-bit indices laid out as Q4_0's; value = d * IQ4_VALUES[index]. */
    static void iq4_nl(MemorySegment s, long b, float[] out, int o) {
        float d = f16(s, b);
        for (int j = 0; j < 16; j++) {
            int packed = u8(s, b + 2 + j);
            out[o + j] = d * IQ4_VALUES[packed & 0xF];
            out[o + j + 16] = d * IQ4_VALUES[packed >>> 4];
        }
    }

    /**
     * IQ4_XS, 136 bytes per 256 values: fp16 d, 16 bits holding the top 2 bits of 8 scales, 4 bytes
     * holding their low 4 bits (two per byte), then per 32-value part 16 bytes of indices laid out as
     * IQ4_NL's. value = d * (scale - 32) * IQ4_VALUES[index].
     */
    static void iq4_xs(MemorySegment s, long b, float[] out, int o) {
        float d = f16(s, b);
        int scalesHigh = s.get(Simd.LE_SHORT, b + 2) & 0xFFFF;
        for (int part = 0; part < 8; part++) {
            int scale = (u8(s, b + 4 + part / 2) >>> 4 * (part % 2) & 0xF) | (scalesHigh >>> 2 * part & 3) << 4;
            float dl = d * (scale - 32);
            long q = b + 8 + 16 * part;
            for (int j = 0; j < 16; j++) {
                int packed = u8(s, q + j);
                out[o + j] = dl * IQ4_VALUES[packed & 0xF];
                out[o + j + 16] = dl * IQ4_VALUES[packed >>> 4];
            }
            o += 32;
        }
    }
}
