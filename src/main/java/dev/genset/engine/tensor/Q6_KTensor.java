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

    /**
     * Values e .. e+L (e a multiple of L) of the block at byte b, decoded as the scalar code does:
     * (d * scale) * (q - 32).
     */
    static FloatVector chunk(MemorySegment s, long b, int e) {
        int h = e >> 7, k = (e >> 5) & 3, l = e & 31;
        var vl = (IntVector) ByteVector.fromMemorySegment(B, s, b + 64 * h + l + (k & 1) * 32, LE).convertShape(VectorOperators.B2I, I, 0);
        var vh = (IntVector) ByteVector.fromMemorySegment(B, s, b + 128 + 32 * h + l, LE).convertShape(VectorOperators.B2I, I, 0);
        IntVector low = k < 2 ? vl.and(0xF) : vl.lanewise(VectorOperators.ASHR, 4).and(0xF);
        IntVector high = vh.lanewise(VectorOperators.ASHR, 2 * k).and(3).lanewise(VectorOperators.LSHL, 4);
        float scale = Simd.f16(s, b + 208) * s.get(ValueLayout.JAVA_BYTE, b + 192 + (e >> 4));
        return ((FloatVector) low.or(high).sub(32).convert(VectorOperators.I2F, 0)).mul(scale);
    }

    /** The canonical vector dot ({@link FloatTensor#dot}): chunks in element order into one accumulator. */
    static float dotVector(MemorySegment s, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(F);
        long b = offset / BLOCK * BYTES;
        for (int i = 0; i < n; i += BLOCK, b += BYTES)
            for (int e = 0; e < BLOCK; e += L) acc = chunk(s, b, e).fma(FloatVector.fromArray(F, x, xOffset + i + e), acc);
        return Simd.sum(acc);
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
            for (int e = 0; e < BLOCK; e += L) chunk(s, b, e).intoArray(out, outOffset + e);
        }
    }
}
