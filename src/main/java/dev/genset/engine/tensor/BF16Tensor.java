package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.genset.engine.tensor.Simd.F;
import static dev.genset.engine.tensor.Simd.I;
import static dev.genset.engine.tensor.Simd.L;
import static dev.genset.engine.tensor.Simd.LE;
import static dev.genset.engine.tensor.Simd.LE_SHORT;
import static dev.genset.engine.tensor.Simd.S;

/** bfloat16 values (the top half of a float), little-endian. */
public final class BF16Tensor extends FloatTensor {

    BF16Tensor(MemorySegment segment, long size) {
        super(segment, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.BF16;
    }

    static float bf16(MemorySegment s, long byteOffset) {
        return Float.intBitsToFloat(s.get(LE_SHORT, byteOffset) << 16);
    }

    @Override
    public float getFloat(long index) {
        return bf16(segment, index * 2);
    }

    @Override
    public float dot(long offset, float[] x, int xOffset, int n) {
        return Simd.ENABLED ? dotVector(segment, offset, x, xOffset, n) : dotScalar(segment, offset, x, xOffset, n);
    }

    @Override
    void dequantizeBlocks(long block, float[] out, int outOffset, int blocks) {
        if (Simd.ENABLED) dequantizeVector(segment, block, out, outOffset, blocks);
        else for (int i = 0; i < blocks; i++) out[outOffset + i] = getFloat(block + i);
    }

    static float dotScalar(MemorySegment s, long offset, float[] x, int xOffset, int n) {
        float sum = 0f;
        for (int i = 0; i < n; i++) sum += bf16(s, (offset + i) * 2) * x[xOffset + i];
        return sum;
    }

    static FloatVector widen(ShortVector h) {
        return (FloatVector) ((IntVector) h.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretShape(F, 0);
    }

    /**
     * The canonical vector dot ({@link FloatTensor#dot}): whole chunks of L values fused into one
     * accumulator in order, its lanes summed in order, then the remaining values one by one.
     */
    static float dotVector(MemorySegment s, long offset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i <= n - L; i += L) acc = widen(ShortVector.fromMemorySegment(S, s, 2 * (offset + i), LE)).fma(FloatVector.fromArray(F, x, xOffset + i), acc);
        float sum = Simd.sum(acc);
        for (; i < n; i++) sum += bf16(s, 2 * (offset + i)) * x[xOffset + i];
        return sum;
    }

    static void dequantizeVector(MemorySegment s, long offset, float[] out, int outOffset, int n) {
        int i = 0;
        for (; i <= n - L; i += L) widen(ShortVector.fromMemorySegment(S, s, (offset + i) * 2, LE)).intoArray(out, outOffset + i);
        for (; i < n; i++) out[outOffset + i] = bf16(s, (offset + i) * 2);
    }
}
