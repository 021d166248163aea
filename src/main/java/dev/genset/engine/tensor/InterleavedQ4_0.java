package dev.genset.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Q4_0 weights repacked once, on first use, with eight rows interleaved, the form
 * {@link IntKernels#dotQ4_0x8} multiplies (llama.cpp repacks Q4_0 for its AVX2 kernels too).
 *
 * <p>Why: the Vector API has no byte dot product, so the stored form's kernel widens each block to
 * 16-bit lanes, multiplies them with the activation quants and adds adjacent lanes into ints per
 * block and row: about 40 instructions a block. Interleaved, one 16-byte load holds four values of
 * each of eight rows; each activation pair (or step) is broadcast and multiplied with all eight rows
 * at once, the products summed in 16-bit lanes over the whole block (exact: see
 * {@link IntKernels#dotQ4_0x8}), and only then turned into ints and floats, once per block for
 * eight rows. The bytes per block stay 18, so memory traffic is the
 * stored form's.
 *
 * <p>Layout, per group of 8 rows: first the scales, 16 bytes per 32-value block (the 8 rows' fp16
 * scales), then the quants, 128 bytes per block: 8 chunks of 16 bytes; chunk c holds values
 * 4c .. 4c+3 of each row r in bytes 2r and 2r + 1: byte 2r + e has value 4c + e in its low nibble
 * and value 4c + 2 + e in its high nibble (the stored quants, 0..15). Groups follow each other,
 * blocks in column order within a group. Quants in one run make a chunk's address linear in its
 * index, which keeps the kernels' loops simple for C2 (with each block's scales before its quants,
 * products took 5 to 8% longer).
 */
final class InterleavedQ4_0 extends InterleavedRows {
    static final int GROUP_BLOCK_BYTES = ROWS * Q4_0Tensor.BYTES;

    private InterleavedQ4_0(MemorySegment data, int cols, Arena arena) {
        super(data, cols, arena);
    }

    /** Bytes of one group: 8 rows of {@code blocks} blocks, scales then quants. */
    static long groupBytes(int blocks) {
        return (long) blocks * GROUP_BLOCK_BYTES;
    }

    /** Byte offset of the scales of group g (16 bytes per block). */
    static long scales(long g, int blocks) {
        return g * blocks * GROUP_BLOCK_BYTES;
    }

    /** Byte offset of the quants of group g (128 bytes per block, chunk k of the row at 16k). */
    static long quants(long g, int blocks) {
        return g * blocks * GROUP_BLOCK_BYTES + 16L * blocks;
    }

    /** Repacks a tensor of rows of {@code cols} values (rows a multiple of 8) on the pool's threads. */
    static InterleavedQ4_0 of(Q4_0Tensor t, int cols, Parallel pool) {
        MemorySegment src = t.segment();
        int blocks = cols / Q4_0Tensor.BLOCK;
        Arena arena = Arena.ofShared();
        return new InterleavedQ4_0(pack(t, cols, pool, groupBytes(blocks), arena, (dst, g) -> packGroup(src, g, blocks, dst)), cols, arena);
    }

    private static final java.lang.foreign.ValueLayout.OfLong LE_LONG = java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED.withOrder(Simd.LE);
    private static final long NIBBLES = 0x0F0F0F0F0F0F0F0FL;

    /**
     * Group g: for each block and row, the scale copied, and the 16 packed bytes read as two
     * little-endian longs (byte i holds value i low and value i + 16 high). The low (or high)
     * nibbles of one long are eight consecutive values, a byte each; or-ing in the same long shifted
     * down two bytes and up one nibble puts values k and k + 2 into byte k, so bytes 0, 1 are chunk
     * 2m's pair for this row and bytes 4, 5 chunk 2m + 1's (nibbles never carry across bytes).
     */
    static void packGroup(MemorySegment src, long g, int blocks, MemorySegment dst) {
        for (int b = 0; b < blocks; b++) {
            long scales = scales(g, blocks) + 16L * b, out = quants(g, blocks) + 128L * b - 16;
            for (int r = 0; r < ROWS; r++) {
                long in = ((g * ROWS + r) * blocks + b) * Q4_0Tensor.BYTES;
                dst.set(Simd.LE_SHORT, scales + 2 * r, src.get(Simd.LE_SHORT, in));
                long lo = src.get(LE_LONG, in + 2), hi = src.get(LE_LONG, in + 10);
                // values 0-7, 8-15 (low nibbles) and 16-23, 24-31 (high nibbles): chunks 0-1, 2-3, 4-5, 6-7
                for (int m = 0; m < 4; m++) {
                    long word = (m & 1) == 0 ? lo : hi;
                    long x = (m < 2 ? word : word >>> 4) & NIBBLES;
                    long y = x | (x >>> 16) << 4;
                    dst.set(Simd.LE_SHORT, out + 16 + 32 * m + 2 * r, (short) y);
                    dst.set(Simd.LE_SHORT, out + 32 + 32 * m + 2 * r, (short) (y >>> 32));
                }
            }
        }
    }

    /** The fp16 scale of block b of row r of group g, as stored (tests). */
    short scale(long g, int b, int r) {
        return data.get(Simd.LE_SHORT, scales(g, cols / 32) + 16L * b + 2 * r);
    }

    /** The stored quant (0..15) of value j of block b of row r of group g, read back from the packed bytes (tests). */
    int quant(long g, int b, int r, int j) {
        int c = j / 4, e = j % 2, high = (j % 4) / 2;
        int packed = data.get(java.lang.foreign.ValueLayout.JAVA_BYTE, quants(g, cols / 32) + 128L * b + 16 * c + 2 * r + e) & 0xFF;
        return high == 0 ? packed & 0xF : packed >>> 4;
    }
}
