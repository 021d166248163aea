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

    /** The form the matrix products multiply, made on first use ({@link InterleavedQ8_0}). */
    private final InterleavedRows.Slot<Q8_0Tensor, InterleavedQ8_0> interleaved = new InterleavedRows.Slot<>();

    /**
     * The interleaved form for rows of {@code cols} values, made on first use with the pool's threads;
     * null when products stay on the stored bytes (rows not a multiple of 8, or {@link #keepStored}).
     */
    InterleavedQ8_0 interleaved(Parallel pool, int cols) {
        return interleaved.get(this, cols, pool, InterleavedQ8_0::of);
    }

    @Override
    InterleavedRows.Slot<?, ?> interleavedSlot() {
        return interleaved;
    }

    @Override
    public void release() {
        interleaved.free();
    }

    @Override
    public boolean repacked() {
        return interleaved.made();
    }

    @Override
    public long repackedBytes() {
        return interleaved.keepsStored() ? 0 : size / BLOCK * BYTES;
    }

    @Override
    public void keepStored() {
        interleaved.keepStored();
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

    /**
     * The canonical vector dot ({@link FloatTensor#dot}), in block form: per block, the unscaled
     * quants times x summed in a fresh chain (fmas from zero, chunk by chunk in element order),
     * then fused with the block scale into one of two accumulators that take turns
     * (block i adds to the sum of block i - 2), so two independent fma chains are in flight and
     * the loop is not bound by fma latency; at the end {@link Simd#sum(FloatVector, FloatVector)}.
     * (Matrix products in {@link MatMul} multiply Q8_0 and Q4_0 weights in integers instead: {@link IntKernels}.)
     */
    static float dotVector(MemorySegment s, long offset, float[] x, int xOffset, int n) {
        FloatVector zero = FloatVector.zero(F), a0 = zero, a1 = zero;
        long b0 = offset / BLOCK * BYTES;
        for (int blk = 0, blocks = n / BLOCK; blk < blocks; blk++) {
            // offsets from the int block counter (not a second, long induction variable) let C2 hoist bounds checks
            long b = b0 + (long) blk * BYTES;
            int xo = xOffset + blk * BLOCK;
            FloatVector sum = zero;
            for (int j = 0; j < BLOCK; j += L) sum = widen(s, b + 2 + j).fma(FloatVector.fromArray(F, x, xo + j), sum);
            FloatVector t = sum.fma(FloatVector.broadcast(F, Simd.f16(s, b)), a1);
            a1 = a0;
            a0 = t;
        }
        return Simd.sum(a0, a1);
    }


    /** L signed bytes at off as floats (via int: the direct byte-to-float cast is not intrinsified for all shapes). */
    private static FloatVector widen(MemorySegment s, long off) {
        return (FloatVector) ByteVector.fromMemorySegment(B, s, off, LE).convertShape(VectorOperators.B2I, I, 0).convertShape(VectorOperators.I2F, F, 0);
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
            var dv = FloatVector.broadcast(F, d);
            for (int j = 0; j < BLOCK; j += L)
                widen(s, b + 2 + j).mul(dv).intoArray(out, outOffset + j);
        }
    }
}
