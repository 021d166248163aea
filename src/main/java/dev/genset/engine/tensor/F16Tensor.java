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
import static dev.genset.engine.tensor.Simd.S;

/** IEEE half-precision values, little-endian. */
public final class F16Tensor extends FloatTensor {

    F16Tensor(MemorySegment segment, long size) {
        super(segment, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    @Override
    public float getFloat(long index) {
        return Simd.f16(segment, index * 2);
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
        for (int i = 0; i < n; i++) sum += Simd.f16(s, (offset + i) * 2) * x[xOffset + i];
        return sum;
    }

    /**
     * Widens L halves to floats with integer ops (the Vector API has no fp16 conversion): the
     * magnitude bits shifted into float position and scaled by 2^112 give zero, subnormal and
     * normal values exactly; infinities and NaNs get the all-ones exponent back explicitly.
     */
    static FloatVector widen(ShortVector h16) {
        IntVector h = (IntVector) h16.convertShape(VectorOperators.S2I, I, 0);
        IntVector mag = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
        IntVector bits = (IntVector) ((FloatVector) mag.reinterpretShape(F, 0)).mul(0x1p112f).reinterpretShape(I, 0);
        // exponent all ones (infinities, NaN) where the shifted magnitude reaches 0x7c00 << 13; the
        // sign extension put the half's sign in bit 31 already (two operations fewer than masking each)
        bits = bits.blend(mag.or(0x7f800000), mag.compare(VectorOperators.GE, 0x7c00 << 13));
        return (FloatVector) bits.or(h.and(0x80000000)).reinterpretShape(F, 0);
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
        for (; i < n; i++) sum += Simd.f16(s, 2 * (offset + i)) * x[xOffset + i];
        return sum;
    }

    static void dequantizeVector(MemorySegment s, long offset, float[] out, int outOffset, int n) {
        int i = 0;
        for (; i <= n - L; i += L) widen(ShortVector.fromMemorySegment(S, s, (offset + i) * 2, LE)).intoArray(out, outOffset + i);
        for (; i < n; i++) out[outOffset + i] = Simd.f16(s, (offset + i) * 2);
    }
}
