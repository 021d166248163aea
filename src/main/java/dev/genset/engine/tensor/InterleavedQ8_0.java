package dev.genset.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Q8_0 weights repacked once, on first use, with eight rows interleaved, the form
 * {@link IntKernels#dotQ8_0x8} multiplies.
 *
 * <p>Why: in the stored form each block of each row is widened, multiplied with the activation
 * quants, and its 16-bit products turned into ints, floats and a scaled sum on its own. Interleaved,
 * one 16-byte load holds two values of each of eight rows; each activation pair is broadcast and
 * multiplied with all eight rows at once, and the turn to ints, floats and the scale is made once
 * per block for eight rows. The bytes per block stay 34, so memory traffic is the stored form's.
 *
 * <p>Layout, per group of 8 rows: first the scales, 16 bytes per 32-value block (the 8 rows'
 * fp16 scales), then the quants, 256 bytes per block: 16 chunks of 16 bytes; chunk c holds values
 * 2c and 2c + 1 of row r in bytes 2r and 2r + 1. Groups follow each other, blocks in column order
 * within a group (the layout of {@link InterleavedQ4_0} with a byte per value).
 */
final class InterleavedQ8_0 extends InterleavedRows {
    static final int GROUP_BLOCK_BYTES = ROWS * Q8_0Tensor.BYTES;

    private InterleavedQ8_0(MemorySegment data, int cols, Arena arena) {
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

    /** Byte offset of the quants of group g (256 bytes per block, chunk k of the row at 16k). */
    static long quants(long g, int blocks) {
        return g * blocks * GROUP_BLOCK_BYTES + 16L * blocks;
    }

    /** Repacks a tensor of rows of {@code cols} values (rows a multiple of 8) on the pool's threads. */
    static InterleavedQ8_0 of(Q8_0Tensor t, int cols, Parallel pool) {
        MemorySegment src = t.segment();
        int blocks = cols / Q8_0Tensor.BLOCK;
        Arena arena = Arena.ofShared();
        return new InterleavedQ8_0(pack(t, cols, pool, groupBytes(blocks), arena, (dst, g) -> packGroup(src, g, blocks, dst)), cols, arena);
    }

    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(Simd.LE);

    private static final long EVEN_SHORTS = 0x0000FFFF0000FFFFL, LOW_INTS = 0x00000000FFFFFFFFL;

    /**
     * Group g: the eight rows' scales copied block by block, then their quants transposed as pairs
     * (16-bit units): row r's pair c to chunk c. Four rows' longs (four pairs each) are transposed
     * as 4 x 4 blocks of pairs in registers, two steps of masks and shifts, into the two longs of
     * each chunk (rows 0-3, rows 4-7): about 1.5 times as fast as moving pair by pair, which
     * matters because the whole file is packed before the first token. Written as flat loops: with
     * nested constant loops, which C2 unrolls whole at the launcher's higher LoopUnrollLimit, this
     * method took a second to compile, all of it before the first token.
     */
    static void packGroup(MemorySegment src, long g, int blocks, MemorySegment dst) {
        long row0 = g * ROWS * blocks * Q8_0Tensor.BYTES, stride = (long) blocks * Q8_0Tensor.BYTES;
        long scales = scales(g, blocks), quants = quants(g, blocks);
        for (int i = 0; i < ROWS * blocks; i++) {  // block i / 8 of row i % 8
            int b = i >>> 3, r = i & 7;
            dst.set(Simd.LE_SHORT, scales + 16L * b + 2 * r, src.get(Simd.LE_SHORT, row0 + b * Q8_0Tensor.BYTES + r * stride));
        }
        for (int i = 0; i < 8 * blocks; i++) {
            int b = i >>> 3, half = i >>> 2 & 1, m = i & 3;  // rows 4 * half .. + 3, pairs 4m .. 4m + 3 of each row
            long in = row0 + b * Q8_0Tensor.BYTES + 4 * half * stride + 2 + 8 * m;
            long a = src.get(LE_LONG, in), bb = src.get(LE_LONG, in + stride);
            long c = src.get(LE_LONG, in + 2 * stride), d = src.get(LE_LONG, in + 3 * stride);
            // pairs (a0 b0 a2 b2), (a1 b1 a3 b3), (c0 d0 c2 d2), (c1 d1 c3 d3), low pair first
            long ab0 = a & EVEN_SHORTS | (bb & EVEN_SHORTS) << 16, ab1 = a >>> 16 & EVEN_SHORTS | bb & ~EVEN_SHORTS;
            long cd0 = c & EVEN_SHORTS | (d & EVEN_SHORTS) << 16, cd1 = c >>> 16 & EVEN_SHORTS | d & ~EVEN_SHORTS;
            long chunk = quants + 256L * b + 64L * m + 8 * half;
            dst.set(LE_LONG, chunk, ab0 & LOW_INTS | cd0 << 32);
            dst.set(LE_LONG, chunk + 16, ab1 & LOW_INTS | cd1 << 32);
            dst.set(LE_LONG, chunk + 32, ab0 >>> 32 | cd0 & ~LOW_INTS);
            dst.set(LE_LONG, chunk + 48, ab1 >>> 32 | cd1 & ~LOW_INTS);
        }
    }

    /** The fp16 scale of block b of row r of group g, as stored (tests). */
    short scale(long g, int b, int r) {
        return data.get(Simd.LE_SHORT, scales(g, cols / 32) + 16L * b + 2 * r);
    }

    /** The quant of value j of block b of row r of group g, read back from the packed bytes (tests). */
    byte quant(long g, int b, int r, int j) {
        return data.get(ValueLayout.JAVA_BYTE, quants(g, cols / 32) + 256L * b + 16 * (j / 2) + 2 * r + j % 2);
    }
}
