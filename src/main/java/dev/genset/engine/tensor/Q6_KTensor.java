package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.genset.engine.tensor.Simd.B;
import static dev.genset.engine.tensor.Simd.F;
import static dev.genset.engine.tensor.Simd.I;
import static dev.genset.engine.tensor.Simd.L;
import static dev.genset.engine.tensor.Simd.LE;

/**
 * Super-blocks of 256 values with 6-bit quants (210 bytes): 128 bytes ql (low 4 bits), 64 bytes
 * qh (high 2 bits), 16 signed 8-bit scales (one per 16 values), fp16 d; value = d * scale * (q - 32).
 * Each half of 128 values uses 64 ql bytes, 32 qh bytes and 8 scales: for l in 0..31, ql[l] holds
 * values l (low nibble) and l+64 (high), ql[l+32] values l+32 and l+96, and qh[l] the high bits of
 * l, l+32, l+64, l+96 in its bit pairs 0, 2, 4, 6.
 */
public final class Q6_KTensor extends FloatTensor {
    static final int BLOCK = 256, BYTES = 210;

    Q6_KTensor(MemorySegment segment, long size) {
        super(segment, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
    }

    private static int u8(MemorySegment s, long off) {
        return s.get(ValueLayout.JAVA_BYTE, off) & 0xFF;
    }

    /** The 6-bit quant (0..63) of value e in [0, 256) of the block at byte b. */
    static int quant(MemorySegment s, long b, int e) {
        int half = e / 128, r = e % 128, l = r % 32, k = r / 32;
        int low = u8(s, b + 64 * half + l + (k & 1) * 32);
        low = k < 2 ? low & 0xF : low >>> 4;
        int high = u8(s, b + 128 + 32 * half + l) >>> (2 * k) & 3;
        return low | high << 4;
    }

    static int scale(MemorySegment s, long b, int e) {
        return s.get(ValueLayout.JAVA_BYTE, b + 192 + e / 16);
    }

    @Override
    public float getFloat(long index) {
        long b = index / BLOCK * BYTES;
        int e = (int) (index % BLOCK);
        return Simd.f16(segment, b + 208) * scale(segment, b, e) * (quant(segment, b, e) - 32);
    }

    @Override
    public float dot(long offset, float[] x, int xOffset, int n) {
        return Simd.ENABLED ? dotVector(segment, offset, x, xOffset, n) : dotScalar(segment, offset, x, xOffset, n);
    }

    @Override
    void dequantizeBlocks(long block, float[] out, int outOffset, int blocks) {
        if (Simd.ENABLED) dequantizeVector(segment, block, out, outOffset, blocks);
        else dequantizeScalar(segment, block, out, outOffset, blocks);
    }

    static float dotScalar(MemorySegment s, long offset, float[] x, int xOffset, int n) {
        float sum = 0f;
        for (int i = 0; i < n; i += BLOCK, xOffset += BLOCK) {
            long b = (offset + i) / BLOCK * BYTES;
            float d = Simd.f16(s, b + 208);
            for (int e = 0; e < BLOCK; e++) sum += d * scale(s, b, e) * (quant(s, b, e) - 32) * x[xOffset + e];
        }
        return sum;
    }

    static float dotVector(MemorySegment s, long offset, float[] x, int xOffset, int n) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        for (int i = 0; i < n; i += BLOCK, xOffset += BLOCK) {
            long b = (offset + i) / BLOCK * BYTES;
            float d = Simd.f16(s, b + 208);
            for (int h = 0; h < 2; h++) {
                long ql = b + 64 * h, qh = b + 128 + 32 * h, sc = b + 192 + 8 * h;
                int xo = xOffset + 128 * h;
                for (int g = 0; g < 2; g++) {  // scale groups of 16 values
                    FloatVector a1 = FloatVector.zero(F), a2 = a1, a3 = a1, a4 = a1;
                    for (int l = 16 * g; l < 16 * g + 16; l += L) {
                        var v0 = (IntVector) ByteVector.fromMemorySegment(B, s, ql + l, LE).convertShape(VectorOperators.B2I, I, 0);
                        var v1 = (IntVector) ByteVector.fromMemorySegment(B, s, ql + 32 + l, LE).convertShape(VectorOperators.B2I, I, 0);
                        var vh = (IntVector) ByteVector.fromMemorySegment(B, s, qh + l, LE).convertShape(VectorOperators.B2I, I, 0);
                        a1 = ((FloatVector) v0.and(0xF).or(vh.lanewise(VectorOperators.LSHL, 4).and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, x, xo + l), a1);
                        a2 = ((FloatVector) v1.and(0xF).or(vh.lanewise(VectorOperators.LSHL, 2).and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, x, xo + 32 + l), a2);
                        a3 = ((FloatVector) v0.lanewise(VectorOperators.ASHR, 4).and(0xF).or(vh.and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, x, xo + 64 + l), a3);
                        a4 = ((FloatVector) v1.lanewise(VectorOperators.ASHR, 4).and(0xF).or(vh.lanewise(VectorOperators.ASHR, 2).and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, x, xo + 96 + l), a4);
                    }
                    acc0 = a1.fma(FloatVector.broadcast(F, d * s.get(ValueLayout.JAVA_BYTE, sc + g)), acc0);
                    acc1 = a2.fma(FloatVector.broadcast(F, d * s.get(ValueLayout.JAVA_BYTE, sc + g + 2)), acc1);
                    acc0 = a3.fma(FloatVector.broadcast(F, d * s.get(ValueLayout.JAVA_BYTE, sc + g + 4)), acc0);
                    acc1 = a4.fma(FloatVector.broadcast(F, d * s.get(ValueLayout.JAVA_BYTE, sc + g + 6)), acc1);
                }
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    static void dequantizeScalar(MemorySegment s, long block, float[] out, int outOffset, int blocks) {
        for (int i = 0; i < blocks; i++, outOffset += BLOCK) {
            long b = (block + i) * BYTES;
            float d = Simd.f16(s, b + 208);
            for (int e = 0; e < BLOCK; e++) out[outOffset + e] = d * scale(s, b, e) * (quant(s, b, e) - 32);
        }
    }

    static void dequantizeVector(MemorySegment s, long block, float[] out, int outOffset, int blocks) {
        for (int i = 0; i < blocks; i++, outOffset += BLOCK) {
            long b = (block + i) * BYTES;
            float d = Simd.f16(s, b + 208);
            for (int h = 0; h < 2; h++) {
                long ql = b + 64 * h, qh = b + 128 + 32 * h, sc = b + 192 + 8 * h;
                int o = outOffset + 128 * h;
                for (int l = 0; l < 32; l += L) {
                    int g = l / 16;
                    var v0 = (IntVector) ByteVector.fromMemorySegment(B, s, ql + l, LE).convertShape(VectorOperators.B2I, I, 0);
                    var v1 = (IntVector) ByteVector.fromMemorySegment(B, s, ql + 32 + l, LE).convertShape(VectorOperators.B2I, I, 0);
                    var vh = (IntVector) ByteVector.fromMemorySegment(B, s, qh + l, LE).convertShape(VectorOperators.B2I, I, 0);
                    ((FloatVector) v0.and(0xF).or(vh.lanewise(VectorOperators.LSHL, 4).and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).mul(d * s.get(ValueLayout.JAVA_BYTE, sc + g)).intoArray(out, o + l);
                    ((FloatVector) v1.and(0xF).or(vh.lanewise(VectorOperators.LSHL, 2).and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).mul(d * s.get(ValueLayout.JAVA_BYTE, sc + g + 2)).intoArray(out, o + 32 + l);
                    ((FloatVector) v0.lanewise(VectorOperators.ASHR, 4).and(0xF).or(vh.and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).mul(d * s.get(ValueLayout.JAVA_BYTE, sc + g + 4)).intoArray(out, o + 64 + l);
                    ((FloatVector) v1.lanewise(VectorOperators.ASHR, 4).and(0xF).or(vh.lanewise(VectorOperators.ASHR, 2).and(0x30)).sub(32).convert(VectorOperators.I2F, 0)).mul(d * s.get(ValueLayout.JAVA_BYTE, sc + g + 6)).intoArray(out, o + 96 + l);
                }
            }
        }
    }
}
