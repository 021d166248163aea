package dev.genset.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Q4_K weights repacked once, on first use, with eight rows interleaved: {@link InterleavedQ4_0}'s
 * scheme for Q4_K's 32-value sub-blocks, multiplied by {@link IntKernels#dotQ4_Kx8}. Q4_K's stored
 * kernel reads each sub-block of each row on its own (about twice Q4_0's work per value); here a
 * sub-block of eight rows costs what a Q4_0 block of eight rows does, plus its scale and min.
 *
 * <p>Layout, per group of 8 rows: first a header per super-block (160 bytes): the 8 rows' d as fp16,
 * their dmin, then per sub-block the 8 rows' 6-bit scales and the 8 rows' mins, a byte each
 * (unpacked from the stored 12-byte form, so the kernels convert them 8 at a time); then per
 * super-block and sub-block 128 bytes of quants in {@link InterleavedQ4_0}'s chunk order (chunk c:
 * values 4c .. 4c+3 of each row r in bytes 2r, 2r + 1). 1,184 bytes per super-block of 8 rows
 * where the stored form has 1,152.
 */
final class InterleavedQ4_K extends InterleavedRows {
    static final int HEADER = 160, SUB_BLOCK_BYTES = 128, GROUP_SUPER_BLOCK_BYTES = HEADER + 8 * SUB_BLOCK_BYTES;

    private InterleavedQ4_K(MemorySegment data, int cols, Arena arena) {
        super(data, cols, arena);
    }

    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(Simd.LE);
    private static final long NIBBLES = 0x0F0F0F0F0F0F0F0FL;

    /** Bytes of one group: 8 rows of {@code superBlocks} super-blocks. */
    static long groupBytes(int superBlocks) {
        return (long) superBlocks * GROUP_SUPER_BLOCK_BYTES;
    }

    /** Bytes the interleaved form of a tensor of {@code size} values takes. */
    static long bytes(long size) {
        return size / (ROWS * Q4_KTensor.BLOCK) * GROUP_SUPER_BLOCK_BYTES;
    }

    /** Byte offset of super-block sb's header in group g. */
    static long header(long g, int superBlocks, int sb) {
        return g * groupBytes(superBlocks) + (long) sb * HEADER;
    }

    /** Byte offset of the quants of sub-block k (counted over the row) in group g. */
    static long quants(long g, int superBlocks, int k) {
        return g * groupBytes(superBlocks) + (long) superBlocks * HEADER + (long) k * SUB_BLOCK_BYTES;
    }

    static InterleavedQ4_K of(Q4_KTensor t, int cols, Parallel pool) {
        MemorySegment src = t.segment();
        int superBlocks = cols / Q4_KTensor.BLOCK;
        Arena arena = Arena.ofShared();
        return new InterleavedQ4_K(pack(t, cols, pool, groupBytes(superBlocks), arena, (dst, g) -> packGroup(src, g, superBlocks, dst)), cols, arena);
    }

    /**
     * Group g. The header's scales and mins are unpacked as {@link IntKernels#unpackQ4_K} does (three
     * 32-bit words hold all 16, a byte each). Sub-blocks 2h and 2h + 1 of a super-block take the low
     * and high nibbles of the same 32 bytes, value j in byte j; each 8-byte word gives two chunks by
     * {@link InterleavedQ4_0#packGroup}'s shifts.
     */
    static void packGroup(MemorySegment src, long g, int superBlocks, MemorySegment dst) {
        for (int sb = 0; sb < superBlocks; sb++) {
            long h = header(g, superBlocks, sb);
            for (int r = 0; r < ROWS; r++) {
                long in = ((g * ROWS + r) * superBlocks + sb) * Q4_KTensor.BYTES;
                dst.set(Simd.LE_SHORT, h + 2 * r, src.get(Simd.LE_SHORT, in));
                dst.set(Simd.LE_SHORT, h + 16 + 2 * r, src.get(Simd.LE_SHORT, in + 2));
                int u0 = src.get(Simd.LE_INT, in + 4), u1 = src.get(Simd.LE_INT, in + 8), u2 = src.get(Simd.LE_INT, in + 12);
                long scales = (u0 & 0x3F3F3F3FL) | ((long) ((u2 & 0x0F0F0F0F) | ((u0 >>> 6) & 0x03030303) << 4) << 32);
                long mins = (u1 & 0x3F3F3F3FL) | ((long) (((u2 >>> 4) & 0x0F0F0F0F) | ((u1 >>> 6) & 0x03030303) << 4) << 32);
                for (int k = 0; k < 8; k++) {
                    dst.set(ValueLayout.JAVA_BYTE, h + 32 + 16 * k + r, (byte) (scales >>> 8 * k));
                    dst.set(ValueLayout.JAVA_BYTE, h + 40 + 16 * k + r, (byte) (mins >>> 8 * k));
                    long out = quants(g, superBlocks, 8 * sb + k) + 2 * r;
                    for (int m = 0; m < 4; m++) {
                        long word = src.get(LE_LONG, in + 16 + 32 * (k >> 1) + 8 * m);
                        long x = ((k & 1) == 0 ? word : word >>> 4) & NIBBLES;
                        long y = x | (x >>> 16) << 4;
                        dst.set(Simd.LE_SHORT, out + 32 * m, (short) y);
                        dst.set(Simd.LE_SHORT, out + 32 * m + 16, (short) (y >>> 32));
                    }
                }
            }
        }
    }

    /** Row r's d * scale (index 0) and dmin * min (index 1) of sub-block k of group g, as the kernels form them (tests). */
    float[] scaleAndMin(long g, int k, int r) {
        int superBlocks = cols / Q4_KTensor.BLOCK;
        long h = header(g, superBlocks, k / 8);
        float d = Simd.f16(data, h + 2 * r), dmin = Simd.f16(data, h + 16 + 2 * r);
        return new float[] {d * data.get(ValueLayout.JAVA_BYTE, h + 32 + 16 * (k % 8) + r), dmin * data.get(ValueLayout.JAVA_BYTE, h + 40 + 16 * (k % 8) + r)};
    }

    /** The stored quant (0..15) of value j of sub-block k of row r of group g, read back (tests). */
    int quant(long g, int k, int r, int j) {
        int superBlocks = cols / Q4_KTensor.BLOCK;
        int c = j / 4, e = j % 2, high = (j % 4) / 2;
        int packed = data.get(ValueLayout.JAVA_BYTE, quants(g, superBlocks, k) + 16 * c + 2 * r + e) & 0xFF;
        return high == 0 ? packed & 0xF : packed >>> 4;
    }
}
