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
 * <p>Layout, per group of 8 rows: first the headers of every super-block, 8 rows of 16 bytes each
 * (d, dmin and the 12 packed scale bytes, as stored), then per super-block and sub-block 128 bytes of
 * quants in {@link InterleavedQ4_0}'s chunk order (chunk c: values 4c .. 4c+3 of each row r in bytes
 * 2r, 2r + 1). Headers apart let a group's scales be unpacked in one pass over a few hundred bytes.
 * The bytes per super-block stay 144.
 */
final class InterleavedQ4_K {
    static final int ROWS = 8, HEADER = 16, SUB_BLOCK_BYTES = 128;

    final MemorySegment data;
    final int cols;
    private final Arena arena;

    private InterleavedQ4_K(MemorySegment data, int cols, Arena arena) {
        this.data = data;
        this.cols = cols;
        this.arena = arena;
    }

    void free() {
        arena.close();
    }

    private static final int GROUPS_PER_TASK = 16;
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(Simd.LE);
    private static final long NIBBLES = 0x0F0F0F0F0F0F0F0FL;

    /** Bytes of one group: 8 rows of {@code superBlocks} super-blocks. */
    static long groupBytes(int superBlocks) {
        return (long) ROWS * superBlocks * Q4_KTensor.BYTES;
    }

    /** Byte offset of the quants of sub-block k (counted over the row) in group g. */
    static long quants(long g, int superBlocks, int k) {
        return g * groupBytes(superBlocks) + (long) superBlocks * ROWS * HEADER + (long) k * SUB_BLOCK_BYTES;
    }

    static InterleavedQ4_K of(Q4_KTensor t, int cols, Parallel pool) {
        MemorySegment src = t.segment();
        int superBlocks = cols / Q4_KTensor.BLOCK;
        long groups = t.size() / cols / ROWS;
        Arena arena = Arena.ofShared();
        MemorySegment data = arena.allocate(groups * groupBytes(superBlocks), 64);
        int tasks = (int) ((groups + GROUPS_PER_TASK - 1) / GROUPS_PER_TASK);
        try {
            pool.forRange(tasks, (from, to) -> {
                long first = (long) from * GROUPS_PER_TASK, end = Math.min(groups, (long) to * GROUPS_PER_TASK);
                for (long g = first; g < end; g++) packGroup(src, g, superBlocks, data);
                if (src.isMapped()) src.asSlice(first * groupBytes(superBlocks), (end - first) * groupBytes(superBlocks)).unload();
            }, t.size());
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
        return new InterleavedQ4_K(data, cols, arena);
    }

    /**
     * Group g. Sub-blocks 2h and 2h + 1 of a super-block take the low and high nibbles of the same
     * 32 bytes, value j in byte j; each 8-byte word gives two chunks by {@link InterleavedQ4_0#packGroup}'s shifts.
     */
    static void packGroup(MemorySegment src, long g, int superBlocks, MemorySegment dst) {
        long base = g * groupBytes(superBlocks);
        for (int sb = 0; sb < superBlocks; sb++)
            for (int r = 0; r < ROWS; r++) {
                long in = ((g * ROWS + r) * superBlocks + sb) * Q4_KTensor.BYTES;
                MemorySegment.copy(src, in, dst, base + ((long) sb * ROWS + r) * HEADER, HEADER);
                for (int k = 0; k < 8; k++) {
                    long out = quants(g, superBlocks, 8 * sb + k) + 2 * r;
                    for (int m = 0; m < 4; m++) {
                        long word = src.get(LE_LONG, in + HEADER + 32 * (k >> 1) + 8 * m);
                        long x = ((k & 1) == 0 ? word : word >>> 4) & NIBBLES;
                        long y = x | (x >>> 16) << 4;
                        dst.set(Simd.LE_SHORT, out + 32 * m, (short) y);
                        dst.set(Simd.LE_SHORT, out + 32 * m + 16, (short) (y >>> 32));
                    }
                }
            }
    }

    /**
     * The scales of group g as floats, for sub-block k (over the row) and row r at [8k + r]: d * scale
     * to scales, dmin * min to mins (the same products {@link IntKernels#unpackQ4_K} makes).
     * {@code tmp} is scratch for 16 floats.
     */
    static void groupScales(MemorySegment p, long g, int superBlocks, float[] scales, float[] mins, float[] tmp) {
        long base = g * groupBytes(superBlocks);
        for (int sb = 0; sb < superBlocks; sb++)
            for (int r = 0; r < ROWS; r++) {
                IntKernels.unpackQ4_K(p, base + ((long) sb * ROWS + r) * HEADER, tmp, 0, tmp, 8);
                for (int k = 0; k < 8; k++) {
                    scales[8 * (8 * sb + k) + r] = tmp[k];
                    mins[8 * (8 * sb + k) + r] = tmp[8 + k];
                }
            }
    }

    /** The stored quant (0..15) of value j of sub-block k of row r of group g, read back (tests). */
    int quant(long g, int k, int r, int j) {
        int superBlocks = cols / Q4_KTensor.BLOCK;
        int c = j / 4, e = j % 2, high = (j % 4) / 2;
        int packed = data.get(ValueLayout.JAVA_BYTE, quants(g, superBlocks, k) + 16 * c + 2 * r + e) & 0xFF;
        return high == 0 ? packed & 0xF : packed >>> 4;
    }
}
