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
 * Blocks of 32 values: fp16 scale d, then 16 bytes whose low nibbles hold elements 0..15 and
 * high nibbles elements 16..31; value = (q - 8) * d.
 */
public final class Q4_0Tensor extends FloatTensor {
    static final int BLOCK = 32, BYTES = 18;

    Q4_0Tensor(MemorySegment segment, long size) {
        super(segment, size);
    }

    /** The form the matrix products multiply, made on first use ({@link InterleavedQ4_0}). */
    private final InterleavedRows.Slot<Q4_0Tensor, InterleavedQ4_0> interleaved = new InterleavedRows.Slot<>();

    /**
     * The interleaved form for rows of {@code cols} values, made on first use with the pool's threads;
     * null when products stay on the stored bytes (rows not a multiple of 8, or {@link #keepStored}).
     */
    InterleavedQ4_0 interleaved(Parallel pool, int cols) {
        return interleaved.get(this, cols, pool, InterleavedQ4_0::of);
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
     * Values j .. j+L of the block at byte b (j a multiple of L) as floats q - 8, not yet scaled:
     * L packed bytes widened to ints, then the low nibbles for j < 16 and the high ones after.
     */
    private static FloatVector nibbles(MemorySegment s, long b, int j) {
        var p = (IntVector) ByteVector.fromMemorySegment(B, s, b + 2 + (j & 15), LE).convertShape(VectorOperators.B2I, I, 0);
        return nibbles(p, (j >> 4) << 2);
    }

    /** (p >> shift & 15) - 8 as floats. */
    private static FloatVector nibbles(IntVector p, int shift) {
        return (FloatVector) p.lanewise(VectorOperators.ASHR, shift).and(0xF).sub(8).convertShape(VectorOperators.I2F, F, 0);
    }

    /**
     * The canonical vector dot ({@link FloatTensor#dot}), in the block form of
     * {@link Q8_0Tensor#dotVector}: per block, the unscaled values q - 8 times x in a fresh chain
     * (fmas from zero, in element order), fused with the block scale into one of two
     * rotating accumulators. With 8 lanes the block's 16 packed bytes are read by two 8-byte loads,
     * each widened once and used for both its low nibbles (elements 0..15) and high ones (16..31).
     * (Matrix products in {@link MatMul} multiply Q8_0 and Q4_0 weights in integers instead: {@link IntKernels}.)
     */
    static float dotVector(MemorySegment s, long offset, float[] x, int xOffset, int n) {
        FloatVector zero = FloatVector.zero(F), a0 = zero, a1 = zero;
        long b0 = offset / BLOCK * BYTES;
        for (int blk = 0, blocks = n / BLOCK; blk < blocks; blk++) {
            // offsets from the int block counter (not a second, long induction variable) let C2 hoist bounds checks
            long b = b0 + (long) blk * BYTES;
            int xo = xOffset + blk * BLOCK;
            FloatVector sum;
            if (L == 8) {
                // a part-1 widening of one 16-byte load is not intrinsified (vectors get boxed): two loads
                var lo = (IntVector) ByteVector.fromMemorySegment(B, s, b + 2, LE).convertShape(VectorOperators.B2I, I, 0);
                var hi = (IntVector) ByteVector.fromMemorySegment(B, s, b + 10, LE).convertShape(VectorOperators.B2I, I, 0);
                sum = nibbles(lo, 0).fma(FloatVector.fromArray(F, x, xo), zero);
                sum = nibbles(hi, 0).fma(FloatVector.fromArray(F, x, xo + 8), sum);
                sum = nibbles(lo, 4).fma(FloatVector.fromArray(F, x, xo + 16), sum);
                sum = nibbles(hi, 4).fma(FloatVector.fromArray(F, x, xo + 24), sum);
            } else {
                sum = zero;
                for (int j = 0; j < BLOCK; j += L) sum = nibbles(s, b, j).fma(FloatVector.fromArray(F, x, xo + j), sum);
            }
            FloatVector t = sum.fma(FloatVector.broadcast(F, Simd.f16(s, b)), a1);
            a1 = a0;
            a0 = t;
        }
        return Simd.sum(a0, a1);
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
            for (int j = 0; j < BLOCK; j += L) nibbles(s, b, j).mul(d).intoArray(out, outOffset + j);
        }
    }
}
