package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.genset.engine.tensor.Simd.B;
import static dev.genset.engine.tensor.Simd.F;
import static dev.genset.engine.tensor.Simd.I;
import static dev.genset.engine.tensor.Simd.L;
import static dev.genset.engine.tensor.Simd.LE;

/** Blocks of 32 values: fp16 scale d, then 32 signed bytes q; value = q * d. */
public final class Q8_0Tensor extends FloatTensor {
    static final int BLOCK = 32, BYTES = 34;

    Q8_0Tensor(MemorySegment segment, long size) {
        super(segment, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    @Override
    public float getFloat(long index) {
        long b = index / BLOCK * BYTES;
        return segment.get(ValueLayout.JAVA_BYTE, b + 2 + index % BLOCK) * Simd.f16(segment, b);
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
            for (int j = 0; j < BLOCK; j++) blockSum += s.get(ValueLayout.JAVA_BYTE, b + 2 + j) * x[xOffset + j];
            sum += blockSum * Simd.f16(s, b);
        }
        return sum;
    }

    static float dotVector(MemorySegment s, long offset, float[] x, int xOffset, int n) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        long b = offset / BLOCK * BYTES;
        int blocks = n / BLOCK, i = 0;
        // two blocks per step so the two accumulator chains overlap
        for (; i + 1 < blocks; i += 2, b += 2 * BYTES, xOffset += 2 * BLOCK) {
            acc0 = block(s, b, x, xOffset).fma(FloatVector.broadcast(F, Simd.f16(s, b)), acc0);
            acc1 = block(s, b + BYTES, x, xOffset + BLOCK).fma(FloatVector.broadcast(F, Simd.f16(s, b + BYTES)), acc1);
        }
        if (i < blocks) acc0 = block(s, b, x, xOffset).fma(FloatVector.broadcast(F, Simd.f16(s, b)), acc0);
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    /** Unscaled lane sums of q * x over the block at byte b. */
    private static FloatVector block(MemorySegment s, long b, float[] x, int xOffset) {
        FloatVector sum = FloatVector.zero(F);
        for (int j = 0; j < BLOCK; j += L) {
            var q = widen(s, b + 2 + j);
            sum = q.fma(FloatVector.fromArray(F, x, xOffset + j), sum);
        }
        return sum;
    }

    /** L signed bytes at off as floats (via int: the direct byte-to-float cast is not intrinsified for all shapes). */
    private static FloatVector widen(MemorySegment s, long off) {
        return (FloatVector) ByteVector.fromMemorySegment(B, s, off, LE).convertShape(VectorOperators.B2I, I, 0).convert(VectorOperators.I2F, 0);
    }

    static void dequantizeScalar(MemorySegment s, long block, float[] out, int outOffset, int blocks) {
        for (int i = 0; i < blocks; i++, outOffset += BLOCK) {
            long b = (block + i) * BYTES;
            float d = Simd.f16(s, b);
            for (int j = 0; j < BLOCK; j++) out[outOffset + j] = s.get(ValueLayout.JAVA_BYTE, b + 2 + j) * d;
        }
    }

    static void dequantizeVector(MemorySegment s, long block, float[] out, int outOffset, int blocks) {
        for (int i = 0; i < blocks; i++, outOffset += BLOCK) {
            long b = (block + i) * BYTES;
            float d = Simd.f16(s, b);
            for (int j = 0; j < BLOCK; j += L)
                (widen(s, b + 2 + j)).mul(d).intoArray(out, outOffset + j);
        }
    }
}
