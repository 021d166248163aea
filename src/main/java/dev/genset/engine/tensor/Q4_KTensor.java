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
 * Super-blocks of 256 values in 8 sub-blocks of 32. Layout (144 bytes): fp16 d, fp16 dmin, 12
 * bytes packing a 6-bit scale and a 6-bit min per sub-block, then 128 bytes of nibbles. Each
 * 32-byte run of nibbles covers 64 values: low nibbles sub-block 2c, high nibbles sub-block
 * 2c + 1. value = d * scale * q - dmin * min.
 */
public final class Q4_KTensor extends FloatTensor {
    static final int BLOCK = 256, BYTES = 144;

    Q4_KTensor(MemorySegment segment, long size) {
        super(segment, size);
    }

    /** The form the matrix products multiply, made on first use ({@link InterleavedQ4_K}). */
    private final InterleavedRows.Slot<Q4_KTensor, InterleavedQ4_K> interleaved = new InterleavedRows.Slot<>();

    /**
     * The interleaved form for rows of {@code cols} values, made on first use with the pool's threads;
     * null when products stay on the stored bytes (rows not a multiple of 8, or {@link #keepStored}).
     */
    InterleavedQ4_K interleaved(Parallel pool, int cols) {
        return interleaved.get(this, cols, pool, InterleavedQ4_K::of);
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
        return interleaved.keepsStored() ? 0 : InterleavedQ4_K.bytes(size);
    }

    @Override
    public void keepStored() {
        interleaved.keepStored();
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_K;
    }

    private static int u8(MemorySegment s, long off) {
        return s.get(ValueLayout.JAVA_BYTE, off) & 0xFF;
    }

    /**
     * The 6-bit scale of sub-block j from the 12 packed bytes at p: sub-blocks 0..3 keep scale
     * and min in the low 6 bits of bytes j and j+4; sub-blocks 4..7 keep their low 4 bits in the
     * nibbles of byte j+4 and their top 2 bits in the spare top bits of bytes j-4 (scale) and j (min).
     */
    static int scale(MemorySegment s, long p, int j) {
        return j < 4 ? u8(s, p + j) & 63 : (u8(s, p + j + 4) & 0xF) | (u8(s, p + j - 4) >>> 6) << 4;
    }

    static int min(MemorySegment s, long p, int j) {
        return j < 4 ? u8(s, p + j + 4) & 63 : (u8(s, p + j + 4) >>> 4) | (u8(s, p + j) >>> 6) << 4;
    }

    @Override
    public float getFloat(long index) {
        long b = index / BLOCK * BYTES;
        int e = (int) (index % BLOCK), sub = e / 32, chunk = e / 64, l = e % 32;
        int packed = u8(segment, b + 16 + 32 * chunk + l);
        int q = (sub & 1) == 0 ? packed & 0xF : packed >>> 4;
        return Simd.f16(segment, b) * scale(segment, b + 4, sub) * q - Simd.f16(segment, b + 2) * min(segment, b + 4, sub);
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
            float d = Simd.f16(s, b), dmin = Simd.f16(s, b + 2);
            for (int c = 0; c < 4; c++) {
                float d1 = d * scale(s, b + 4, 2 * c), m1 = dmin * min(s, b + 4, 2 * c);
                float d2 = d * scale(s, b + 4, 2 * c + 1), m2 = dmin * min(s, b + 4, 2 * c + 1);
                for (int l = 0; l < 32; l++) {
                    int packed = u8(s, b + 16 + 32 * c + l);
                    sum += (d1 * (packed & 0xF) - m1) * x[xOffset + 64 * c + l];
                    sum += (d2 * (packed >>> 4) - m2) * x[xOffset + 64 * c + 32 + l];
                }
            }
        }
        return sum;
    }

    /** Values e .. e+L (e a multiple of L) of the block at byte b, decoded as the scalar code does: d1 * q - m1. */
    static FloatVector chunk(MemorySegment s, long b, int e) {
        int sub = e >> 5;
        var packed = (IntVector) ByteVector.fromMemorySegment(B, s, b + 16 + 32 * (e >> 6) + (e & 31), LE).convertShape(VectorOperators.B2I, I, 0);
        IntVector q = (sub & 1) == 0 ? packed.and(0xF) : packed.lanewise(VectorOperators.ASHR, 4).and(0xF);
        float d = Simd.f16(s, b) * scale(s, b + 4, sub), m = Simd.f16(s, b + 2) * min(s, b + 4, sub);
        return ((FloatVector) q.convertShape(VectorOperators.I2F, F, 0)).mul(d).sub(m);
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
            float d = Simd.f16(s, b), dmin = Simd.f16(s, b + 2);
            for (int c = 0; c < 4; c++) {
                float d1 = d * scale(s, b + 4, 2 * c), m1 = dmin * min(s, b + 4, 2 * c);
                float d2 = d * scale(s, b + 4, 2 * c + 1), m2 = dmin * min(s, b + 4, 2 * c + 1);
                for (int l = 0; l < 32; l++) {
                    int packed = u8(s, b + 16 + 32 * c + l);
                    out[outOffset + 64 * c + l] = d1 * (packed & 0xF) - m1;
                    out[outOffset + 64 * c + 32 + l] = d2 * (packed >>> 4) - m2;
                }
            }
        }
    }

    static void dequantizeVector(MemorySegment s, long block, float[] out, int outOffset, int blocks) {
        for (int i = 0; i < blocks; i++, outOffset += BLOCK) {
            long b = (block + i) * BYTES;
            for (int e = 0; e < BLOCK; e += L) chunk(s, b, e).intoArray(out, outOffset + e);
        }
    }
}
