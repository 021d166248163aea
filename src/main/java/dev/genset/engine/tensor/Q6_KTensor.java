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
    static final int BLOCK = 256, BYTES = 210, GROUP = 16;

    Q6_KTensor(MemorySegment segment, long size) {
        super(segment, size);
    }

    private final PackedQuants.Slot packed = new PackedQuants.Slot();
    /** The form the matrix products multiply where rows come in whole groups of eight, made on first use. */
    private final InterleavedRows.Slot<Q6_KTensor, InterleavedQ6_K> interleaved = new InterleavedRows.Slot<>();

    /**
     * The interleaved form for rows of {@code cols} values, made on first use with the pool's threads;
     * null when rows are not a multiple of 8 (products then take the {@link #packed} form).
     */
    InterleavedQ6_K interleaved(Parallel pool, int cols) {
        return interleaved.get(this, cols, pool, InterleavedQ6_K::of);
    }

    @Override
    InterleavedRows.Slot<?, ?> interleavedSlot() {
        return interleaved;
    }

    @Override
    public void release() {
        packed.free();
        interleaved.free();
    }

    @Override
    public boolean repacked() {
        return interleaved.made() || packed.made();
    }

    /** The packed form's size, which bounds the interleaved form's (2,192 against 2,560 bytes per 8 x 256 values). */
    @Override
    public long repackedBytes() {
        return PackedQuants.bytes(size);
    }

    /** The form the matrix products multiply ({@link PackedQuants}), made on first use with the pool's threads. */
    PackedQuants packed(Parallel pool) {
        return packed.get(this, pool);
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

    /** Values e .. e+L (e a multiple of L) of the block at byte b as floats q - 32, not yet scaled. */
    static FloatVector quants(MemorySegment s, long b, int e) {
        int h = e >> 7, k = (e >> 5) & 3, l = e & 31;
        var vl = (IntVector) ByteVector.fromMemorySegment(B, s, b + 64 * h + l + (k & 1) * 32, LE).convertShape(VectorOperators.B2I, I, 0);
        var vh = (IntVector) ByteVector.fromMemorySegment(B, s, b + 128 + 32 * h + l, LE).convertShape(VectorOperators.B2I, I, 0);
        IntVector low = vl.lanewise(VectorOperators.ASHR, (k >> 1) << 2).and(0xF);
        IntVector high = vh.lanewise(VectorOperators.ASHR, 2 * k).and(3).lanewise(VectorOperators.LSHL, 4);
        return (FloatVector) low.or(high).sub(32).convertShape(VectorOperators.I2F, F, 0);
    }

    /** The scale of the 16-value group g (0..15) of the block at byte b: d * scale, exact in float. */
    static float groupScale(MemorySegment s, long b, int g) {
        return Simd.f16(s, b + 208) * s.get(ValueLayout.JAVA_BYTE, b + 192 + g);
    }

    /** Values e .. e+L of the block at byte b, decoded as the scalar code does: (d * scale) * (q - 32). */
    static FloatVector chunk(MemorySegment s, long b, int e) {
        return quants(s, b, e).mul(groupScale(s, b, e >> 4));
    }

    /** (low & 15 | (high & 3) << 4) - 32 as floats: one 6-bit quant per lane, unscaled. */
    private static FloatVector q6(IntVector low, IntVector high) {
        IntVector q = low.and(0xF).or(high.and(3).lanewise(VectorOperators.LSHL, 4));
        return (FloatVector) q.sub(32).convertShape(VectorOperators.I2F, F, 0);
    }

    private static IntVector bytes(MemorySegment s, long off) {
        return (IntVector) ByteVector.fromMemorySegment(B, s, off, LE).convertShape(VectorOperators.B2I, I, 0);
    }

    /**
     * The vector dot of float activations ({@link FloatTensor#dot}; matrix products take the
     * integer kernels, {@link IntKernels#dotQ6_K}), in the block form of {@link Q8_0Tensor#dotVector}:
     * per 16-value group, the unscaled values q - 32 times x in a fresh chain (fmas from zero, in
     * element order), then fused with the group's scale (d * scale) into one of two rotating
     * accumulators. (Reading ql and qh once for all four k overflows C2's inlining budget: vectors get boxed.)
     */
    static float dotVector(MemorySegment s, long offset, float[] x, int xOffset, int n) {
        FloatVector zero = FloatVector.zero(F), a0 = zero, a1 = zero;
        long b0 = offset / BLOCK * BYTES;
        // a part is 32 values: groups k = p and k = p + 2 of one half (h) and one 16-value run of l;
        // its offsets within the block come from tables (computing them inline cost more than the products)
        for (int part = 0, parts = n / 32; part < parts; part++) {
            int i = part & 7;
            long b = b0 + (long) (part >> 3) * BYTES;
            int xo = xOffset + (part >> 3) * BLOCK + PART_X[i];
            long ql0 = b + PART_QL[i], qh0 = b + PART_QH[i];
            boolean odd = (part & 1) != 0;
            FloatVector s0 = zero, s1 = zero;
            for (int j = 0; j < GROUP; j += L) {
                IntVector ql = bytes(s, ql0 + j), qh = bytes(s, qh0 + j);
                if (odd) qh = qh.lanewise(VectorOperators.ASHR, 2);  // a constant shift: variable ones measured slower
                s0 = q6(ql, qh).fma(FloatVector.fromArray(F, x, xo + j), s0);
                s1 = q6(ql.lanewise(VectorOperators.ASHR, 4), qh.lanewise(VectorOperators.ASHR, 4)).fma(FloatVector.fromArray(F, x, xo + 64 + j), s1);
            }
            long sc = b + PART_SCALE[i];
            float d = Simd.f16(s, b + 208);
            FloatVector t = s0.fma(FloatVector.broadcast(F, d * s.get(ValueLayout.JAVA_BYTE, sc)), a1);
            a1 = a0;
            a0 = t;
            t = s1.fma(FloatVector.broadcast(F, d * s.get(ValueLayout.JAVA_BYTE, sc + 4)), a1);
            a1 = a0;
            a0 = t;
        }
        return Simd.sum(a0, a1);
    }

    /**
     * Per part i (0..7) of a block, with h = i >> 2, l16 = 16 * ((i >> 1) & 1), p = i & 1: where
     * its x values, ql bytes, qh bytes and first scale are (x relative to the block's first value,
     * the others to the block's first byte).
     */
    private static final int[] PART_X = new int[8], PART_QL = new int[8], PART_QH = new int[8], PART_SCALE = new int[8];

    static {
        for (int i = 0; i < 8; i++) {
            int h = i >> 2, l16 = ((i >> 1) & 1) << 4, p = i & 1;
            PART_X[i] = 128 * h + 32 * p + l16;
            PART_QL[i] = 64 * h + 32 * p + l16;
            PART_QH[i] = 128 + 32 * h + l16;
            PART_SCALE[i] = 192 + 8 * h + 2 * p + (l16 >> 4);
        }
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
