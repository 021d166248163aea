package dev.genset.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A Q6_K tensor repacked for the integer kernels: each value's q - 32 as one signed byte, in
 * value order, and each 16-value group's d * scale as a float (exact: an fp16 times an 8-bit
 * integer). Q6_K spreads a value over a low nibble and two high bits stored 32 or 64 bytes apart
 * in patterns that change every 32 values; unpacking that inside the kernels cost about three
 * times the work of a Q8_0 block per block (more than C2's inlining budget allows in one loop
 * body, too). Unpacked once, a block multiplies like Q8_0 with two scales. The price is memory:
 * 10 bits per value instead of 6.5625; the mapped file's pages of the original are released as
 * each range is packed, so resident memory grows by about half the tensor's size.
 *
 * <p>Packing uses 64-bit words (16 values' low nibbles or 32 values' high bits at a time), so it
 * is fast even before the JIT has compiled anything vectorised.
 */
final class Q6_KPacked {
    /** q - 32 per value, 32 per activation-sized block. */
    final MemorySegment quants;
    /** d * scale per 16-value group. */
    final float[] scales;
    /** Owns {@link #quants}: freed with the model (the collector would not notice native memory). */
    private final Arena arena;

    private Q6_KPacked(MemorySegment quants, float[] scales, Arena arena) {
        this.quants = quants;
        this.scales = scales;
        this.arena = arena;
    }

    void free() {
        arena.close();
    }

    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(Simd.LE);
    private static final long NIBBLES = 0x0F0F0F0F0F0F0F0FL, TWO_BITS = 0x0303030303030303L, BIT5 = 0x2020202020202020L;

    /** Super-blocks packed per task: enough to be worth a hand-off. */
    private static final int SUPER_BLOCKS_PER_TASK = 64;

    /** Packs the whole tensor on the pool's threads. */
    static Q6_KPacked of(Q6_KTensor t, Parallel pool) {
        MemorySegment src = t.segment();
        long superBlocks = t.size() / Q6_KTensor.BLOCK;
        if (superBlocks * 16 > Integer.MAX_VALUE) throw new IllegalArgumentException("Q6_K tensor of " + t.size() + " values is too large to pack");
        Arena arena = Arena.ofShared();
        MemorySegment quants = arena.allocate(superBlocks * Q6_KTensor.BLOCK, 64);
        float[] scales = new float[(int) (superBlocks * 16)];
        int tasks = (int) ((superBlocks + SUPER_BLOCKS_PER_TASK - 1) / SUPER_BLOCKS_PER_TASK);
        try {
            pool.forRange(tasks, (from, to) -> {
                long first = (long) from * SUPER_BLOCKS_PER_TASK, end = Math.min(superBlocks, (long) to * SUPER_BLOCKS_PER_TASK);
                for (long b = first; b < end; b++) pack(src, b, quants, scales);
                // the original bytes are not read again by the kernels: let the kernel drop their pages
                if (src.isMapped()) src.asSlice(first * Q6_KTensor.BYTES, (end - first) * Q6_KTensor.BYTES).unload();
            }, t.size());
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
        return new Q6_KPacked(quants, scales, arena);
    }

    /**
     * Super-block b: for half h and part j (values 128h + 32j ..+31), the low nibbles (j < 2) or
     * high nibbles of ql[64h + 32(j & 1) ..] and bits 2j, 2j + 1 of qh[32h ..] make q; q ^ 32 is
     * q - 32 as a 6-bit two's complement number, and copying its bit 5 into bits 6 and 7 (times 6
     * puts 0xC0 in each byte whose bit 5 is set, with no carry) makes it a signed byte.
     */
    static void pack(MemorySegment src, long b, MemorySegment quants, float[] scales) {
        long in = b * Q6_KTensor.BYTES, out = b * Q6_KTensor.BLOCK;
        for (int h = 0; h < 2; h++)
            for (int j = 0; j < 4; j++)
                for (int c = 0; c < 32; c += 8) {
                    long ql = src.get(LE_LONG, in + 64 * h + 32 * (j & 1) + c), qh = src.get(LE_LONG, in + 128 + 32 * h + c);
                    long q = (ql >>> (4 * (j >> 1))) & NIBBLES | ((qh >>> (2 * j)) & TWO_BITS) << 4;
                    long v = q ^ BIT5;
                    quants.set(LE_LONG, out + 128 * h + 32 * j + c, v | (v & BIT5) * 6);
                }
        float d = Simd.f16(src, in + 208);
        for (int g = 0; g < 16; g++) scales[(int) (16 * b) + g] = d * src.get(ValueLayout.JAVA_BYTE, in + 192 + g);
    }
}
