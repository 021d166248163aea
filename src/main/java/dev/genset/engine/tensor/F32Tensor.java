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

    /**
     * The canonical vector dot ({@link FloatTensor#dot}): whole chunks of L values fused into one
     * accumulator in order, its lanes summed in order, then the remaining values one by one.
     */
    static float dotVector(MemorySegment s, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i <= n - L; i += L) acc = FloatVector.fromMemorySegment(F, s, 4 * (offset + i), LE).fma(FloatVector.fromArray(F, x, xOffset + i), acc);
        float sum = Simd.sum(acc);
        for (; i < n; i++) sum += s.get(LE_FLOAT, 4 * (offset + i)) * x[xOffset + i];
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
