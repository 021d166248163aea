package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.genset.engine.tensor.Simd.F;
import static dev.genset.engine.tensor.Simd.I;
import static dev.genset.engine.tensor.Simd.L;
import static dev.genset.engine.tensor.Simd.LE;

/**
 * Blocks of 32 values: fp16 scale d, then 16 bytes whose low nibbles hold elements 0..15 and
 * high nibbles elements 16..31; value = (q - 8) * d.
 */
public final class Q4_0Tensor extends FloatTensor {
    static final int BLOCK = 32, BYTES = 18;

    Q4_0Tensor(MemorySegment segment, long size) {
        super(segment, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    @Override
    public float getFloat(long index) {
        long b = index / BLOCK * BYTES;
        int j = (int) (index % BLOCK);
        int packed = segment.get(ValueLayout.JAVA_BYTE, b + 2 + (j & 15)) & 0xFF;
        int q = j < 16 ? packed & 0xF : packed >>> 4;
        return (q - 8) * Simd.f16(segment, b);
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
            float blockSum = 0f;
            for (int j = 0; j < 16; j++) {
                int packed = s.get(ValueLayout.JAVA_BYTE, b + 2 + j) & 0xFF;
                blockSum += ((packed & 0xF) - 8) * x[xOffset + j] + ((packed >>> 4) - 8) * x[xOffset + j + 16];
            }
            sum += blockSum * Simd.f16(s, b);
        }
        return sum;
    }

    /**
     * One 16-byte load per block, widened to ints in parts; part numbers are literals and the
     * loop body is flat because C2 only emits single-instruction conversions for constant parts
     * and keeps vectors in registers only when everything inlines.
     */
    static float dotVector(MemorySegment s, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(F);
        long b = offset / BLOCK * BYTES;
        for (int i = 0; i < n; i += BLOCK, b += BYTES, xOffset += BLOCK) {
            var bytes = ByteVector.fromMemorySegment(ByteVector.SPECIES_128, s, b + 2, LE);
            var p0 = (IntVector) bytes.convertShape(VectorOperators.B2I, I, 0);
            var sum = ((FloatVector) p0.and(0xF).sub(8).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, x, xOffset));
            sum = ((FloatVector) p0.lanewise(VectorOperators.ASHR, 4).and(0xF).sub(8).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, x, xOffset + 16), sum);
            if (L == 8) {
                var p1 = (IntVector) bytes.convertShape(VectorOperators.B2I, I, 1);
                sum = ((FloatVector) p1.and(0xF).sub(8).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, x, xOffset + 8), sum);
                sum = ((FloatVector) p1.lanewise(VectorOperators.ASHR, 4).and(0xF).sub(8).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, x, xOffset + 24), sum);
            }
            acc = sum.fma(FloatVector.broadcast(F, Simd.f16(s, b)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    static void dequantizeScalar(MemorySegment s, long block, float[] out, int outOffset, int blocks) {
        for (int i = 0; i < blocks; i++, outOffset += BLOCK) {
            long b = (block + i) * BYTES;
            float d = Simd.f16(s, b);
            for (int j = 0; j < 16; j++) {
                int packed = s.get(ValueLayout.JAVA_BYTE, b + 2 + j) & 0xFF;
                out[outOffset + j] = ((packed & 0xF) - 8) * d;
                out[outOffset + j + 16] = ((packed >>> 4) - 8) * d;
            }
        }
    }

    static void dequantizeVector(MemorySegment s, long block, float[] out, int outOffset, int blocks) {
        for (int i = 0; i < blocks; i++, outOffset += BLOCK) {
            long b = (block + i) * BYTES;
            var d = FloatVector.broadcast(F, Simd.f16(s, b));
            var bytes = ByteVector.fromMemorySegment(ByteVector.SPECIES_128, s, b + 2, LE);
            var p0 = (IntVector) bytes.convertShape(VectorOperators.B2I, I, 0);
            ((FloatVector) p0.and(0xF).sub(8).convert(VectorOperators.I2F, 0)).mul(d).intoArray(out, outOffset);
            ((FloatVector) p0.lanewise(VectorOperators.ASHR, 4).and(0xF).sub(8).convert(VectorOperators.I2F, 0)).mul(d).intoArray(out, outOffset + 16);
            if (L == 8) {
                var p1 = (IntVector) bytes.convertShape(VectorOperators.B2I, I, 1);
                ((FloatVector) p1.and(0xF).sub(8).convert(VectorOperators.I2F, 0)).mul(d).intoArray(out, outOffset + 8);
                ((FloatVector) p1.lanewise(VectorOperators.ASHR, 4).and(0xF).sub(8).convert(VectorOperators.I2F, 0)).mul(d).intoArray(out, outOffset + 24);
            }
        }
    }
}
