package dev.genset.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Q6_K weights repacked once, on first use, with eight rows interleaved, the form
 * {@link IntKernels#dotQ6_Kx8} multiplies: {@link InterleavedQ4_0}'s scheme with a signed byte
 * (q - 32) per value. {@link PackedQuants}, Q6_K's form for rows not in whole groups of eight,
 * multiplies one row at a time (about 22 vector operations per 32 values); here one 16-byte load
 * holds two values of each of eight rows, each activation pair is broadcast once for the eight rows,
 * and the products are summed in 16-bit lanes over each 16-value sub-block (8 products of at most
 * 32 * 127 a lane: 32,512, exact) before they become ints and floats.
 *
 * <p>Layout, per group of 8 rows: first a header per super-block (144 bytes): the 8 rows' d as fp16,
 * then per sub-block (16 values) the 8 rows' signed 8-bit scales; then the quants, 2,048 bytes per
 * super-block: chunk k (16 bytes) holds values 2k and 2k + 1 of each row r in bytes 2r and 2r + 1,
 * as q - 32. 2,192 bytes per super-block of 8 rows where the stored form has 1,680 and
 * {@link PackedQuants} 2,560.
 */
final class InterleavedQ6_K extends InterleavedRows {
    static final int HEADER = 16 + 16 * ROWS, QUANT_BYTES = ROWS * Q6_KTensor.BLOCK, GROUP_SUPER_BLOCK_BYTES = HEADER + QUANT_BYTES;

    private InterleavedQ6_K(MemorySegment data, int cols, Arena arena) {
        super(data, cols, arena);
    }

    static long groupBytes(int superBlocks) {
        return (long) superBlocks * GROUP_SUPER_BLOCK_BYTES;
    }

    /** Bytes of the interleaved form of a tensor of {@code size} values. */
    static long bytes(long size) {
        return size / (ROWS * Q6_KTensor.BLOCK) * GROUP_SUPER_BLOCK_BYTES;
    }

    /** Byte offset of super-block sb's header in group g. */
    static long header(long g, int superBlocks, int sb) {
        return g * groupBytes(superBlocks) + (long) sb * HEADER;
    }

    /** Byte offset of group g's quants (chunk k of the group at 16k). */
    static long quants(long g, int superBlocks) {
        return g * groupBytes(superBlocks) + (long) superBlocks * HEADER;
    }

    /** Repacks a tensor of rows of {@code cols} values (rows a multiple of 8) on the pool's threads. */
    static InterleavedQ6_K of(Q6_KTensor t, int cols, Parallel pool) {
        MemorySegment src = t.segment();
        int superBlocks = cols / Q6_KTensor.BLOCK;
        Arena arena = Arena.ofShared();
        return new InterleavedQ6_K(pack(t, cols, pool, groupBytes(superBlocks), arena, (dst, g) -> packGroup(src, g, superBlocks, dst)), cols, arena);
    }

    /**
     * Group g: per super-block, each row's d and scales copied into the header and its 256 quants
     * unpacked as {@link PackedQuants} unpacks them (signed bytes, value order, in 64-bit words);
     * then each chunk is put together from the eight rows' value pairs in two words. Word
     * operations keep this fast before the JIT has compiled it (it runs on a model's first token).
     */
    static void packGroup(MemorySegment src, long g, int superBlocks, MemorySegment dst) {
        long[][] rows = new long[ROWS][Q6_KTensor.BLOCK / 8];
        long[] scales = new long[2 * ROWS];
        long q = quants(g, superBlocks);
        for (int sb = 0; sb < superBlocks; sb++) {
            long h = header(g, superBlocks, sb);
            for (int r = 0; r < ROWS; r++) {
                long in = ((g * ROWS + r) * superBlocks + sb) * Q6_KTensor.BYTES;
                dst.set(Simd.LE_SHORT, h + 2 * r, src.get(Simd.LE_SHORT, in + 208));
                scales[2 * r] = src.get(LE_LONG, in + 192);
                scales[2 * r + 1] = src.get(LE_LONG, in + 200);
                PackedQuants.unpackQ6_K(src, in, rows[r]);
            }
            // sub-block j's scales, a byte per row: byte j of each row's 16 scale bytes
            for (int j = 0; j < 16; j++) {
                long word = 0;
                for (int r = 0; r < ROWS; r++) word |= (scales[2 * r + (j >> 3)] >>> (8 * (j & 7)) & 0xFF) << (8 * r);
                dst.set(LE_LONG, h + 16 + ROWS * j, word);
            }
            long out = q + (long) sb * QUANT_BYTES;
            for (int m = 0; m < Q6_KTensor.BLOCK / 2; m++) {
                // pair m of a row: bits 16 (m % 4) .. + 15 of its word m / 4
                int shift = 16 * (m & 3), w = m >> 2;
                long low = 0, high = 0;
                for (int r = 0; r < 4; r++) {
                    low |= (rows[r][w] >>> shift & 0xFFFF) << (16 * r);
                    high |= (rows[r + 4][w] >>> shift & 0xFFFF) << (16 * r);
                }
                dst.set(LE_LONG, out + 16L * m, low);
                dst.set(LE_LONG, out + 16L * m + 8, high);
            }
        }
    }

    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(Simd.LE);

    /** d of super-block sb of row r of group g, as stored (tests). */
    short d(long g, int sb, int r) {
        return data.get(Simd.LE_SHORT, header(g, cols / Q6_KTensor.BLOCK, sb) + 2 * r);
    }

    /** The scale of sub-block j of super-block sb of row r of group g (tests). */
    int scale(long g, int sb, int j, int r) {
        return data.get(ValueLayout.JAVA_BYTE, header(g, cols / Q6_KTensor.BLOCK, sb) + 16 + ROWS * j + r);
    }

    /** q - 32 of value e of super-block sb of row r of group g, read back from the packed bytes (tests). */
    int quant(long g, int sb, int r, int e) {
        int superBlocks = cols / Q6_KTensor.BLOCK;
        return data.get(ValueLayout.JAVA_BYTE, quants(g, superBlocks) + (long) sb * QUANT_BYTES + 16L * (e / 2) + 2 * r + (e & 1));
    }
}
