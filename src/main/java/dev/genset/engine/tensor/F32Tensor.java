package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.genset.engine.tensor.Simd.F;
import static dev.genset.engine.tensor.Simd.L;
import static dev.genset.engine.tensor.Simd.LE;

/** 32-bit float values, little-endian. */
public final class F32Tensor extends FloatTensor {
    static final ValueLayout.OfFloat LE_FLOAT = Simd.LE_FLOAT;

    F32Tensor(MemorySegment segment, long size) {
        super(segment, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.F32;
    }

    @Override
    public float getFloat(long index) {
        return segment.get(LE_FLOAT, index * 4);
    }

    @Override
    public float dot(long offset, float[] x, int xOffset, int n) {
        return Simd.ENABLED ? dotVector(segment, offset, x, xOffset, n) : dotScalar(segment, offset, x, xOffset, n);
    }

    static float dotScalar(MemorySegment s, long offset, float[] x, int xOffset, int n) {
        float sum = 0f;
        for (int i = 0; i < n; i++) sum += s.get(LE_FLOAT, (offset + i) * 4) * x[xOffset + i];
        return sum;
    }

    static float dotVector(MemorySegment s, long offset, float[] x, int xOffset, int n) {
        // four accumulators hide the fma latency
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        long base = offset * 4;
        int i = 0, upper = n - 4 * L;
        for (; i <= upper; i += 4 * L) {
            a0 = FloatVector.fromMemorySegment(F, s, base + 4L * i, LE).fma(FloatVector.fromArray(F, x, xOffset + i), a0);
            a1 = FloatVector.fromMemorySegment(F, s, base + 4L * (i + L), LE).fma(FloatVector.fromArray(F, x, xOffset + i + L), a1);
            a2 = FloatVector.fromMemorySegment(F, s, base + 4L * (i + 2 * L), LE).fma(FloatVector.fromArray(F, x, xOffset + i + 2 * L), a2);
            a3 = FloatVector.fromMemorySegment(F, s, base + 4L * (i + 3 * L), LE).fma(FloatVector.fromArray(F, x, xOffset + i + 3 * L), a3);
        }
        for (; i <= n - L; i += L)
            a0 = FloatVector.fromMemorySegment(F, s, base + 4L * i, LE).fma(FloatVector.fromArray(F, x, xOffset + i), a0);
        float sum = a0.add(a1).add(a2.add(a3)).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
        for (; i < n; i++) sum += s.get(LE_FLOAT, base + 4L * i) * x[xOffset + i];
        return sum;
    }

    @Override
    public void dequantize(long offset, float[] out, int outOffset, int n) {
        MemorySegment.copy(segment, LE_FLOAT, offset * 4, out, outOffset, n);
    }

    @Override
    void dequantizeBlocks(long block, float[] out, int outOffset, int blocks) {
        dequantize(block, out, outOffset, blocks);
    }
}
