package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A tensor repacked for the integer kernels: each value's integer quant as one signed byte, in
 * value order, and each 16-value group's scale as a float, so that value = scale * quant exactly.
 * Q6_K (q - 32, d * scale: an fp16 times an 8-bit integer) was the first of the types packed so;
 * its tensors now take {@link InterleavedQ6_K} where their rows come in whole groups of eight.
 * Q3_K and Q5_0, which {@link DecodedTensor} reads, pack the same way (their
 * values are a float scale times a small integer too) and then multiply at Q6_K's speed rather
 * than through decoded floats (about ten times slower), for the same price in memory: 10 bits per
 * value, 2 to 3 times their stored size, less the file pages released as they are packed. A model
 * whose repacked forms would not fit in the machine's memory keeps them stored (see the model's
 * weights; Q3_K then multiplies in place, at about half the speed, Q5_0 through decoded floats);
 * {@code -Dgenset.repack=false} always does.
 *
 * <p>For Q6_K: Q6_K spreads a value over a low nibble and two high bits stored 32 or 64 bytes apart
 * in patterns that change every 32 values; unpacking that inside the kernels cost about three
 * times the work of a Q8_0 block per block (more than C2's inlining budget allows in one loop
 * body, too). Unpacked once, a block multiplies like Q8_0 with two scales. The price is memory:
 * 10 bits per value instead of 6.5625; the mapped file's pages of the original are released as
 * each range is packed, so resident memory grows by about half the tensor's size.
 *
 * <p>Packing uses 64-bit words (16 values' low nibbles or 32 values' high bits at a time), so it
 * is fast even before the JIT has compiled anything vectorised.
 */
final class PackedQuants {
    /** The integer quant of each value (q - 32 for Q6_K), 32 per activation-sized block. */
    final MemorySegment quants;
    /** d * scale per 16-value group. */
    final float[] scales;
    /** Owns {@link #quants}: freed with the model (the collector would not notice native memory). */
    private final Arena arena;

    private PackedQuants(MemorySegment quants, float[] scales, Arena arena) {
        this.quants = quants;
        this.scales = scales;
        this.arena = arena;
    }

    void free() {
        arena.close();
    }

    /** A tensor's packed form, made once, on first use, and freed with the tensor. */
    static final class Slot {
        private PackedQuants packed;

        synchronized PackedQuants get(FloatTensor t, Parallel pool) {
            if (packed == null) packed = of(t, pool);
            return packed;
        }

        synchronized void free() {
            if (packed != null) packed.free();
            packed = null;
        }

        synchronized boolean made() {
            return packed != null;
        }
    }

    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(Simd.LE);
    private static final long NIBBLES = 0x0F0F0F0F0F0F0F0FL, TWO_BITS = 0x0303030303030303L, BIT5 = 0x2020202020202020L;

    /** Super-blocks packed per task: enough to be worth a hand-off. */
    private static final int SUPER_BLOCKS_PER_TASK = 64;

    /** Packs one stored block (its values from b * blockSize) of a type into quants and scales. */
    @FunctionalInterface
    interface Packer {
        void pack(MemorySegment src, long b, MemorySegment quants, float[] scales);
    }

    /** Whether tensors of this type can be packed (and so take the integer kernels). */
    static boolean packs(GgmlType type) {
        return packer(type) != null;
    }

    /** Bytes the packed form of a tensor of {@code size} values takes: a byte per value, a float per 16. */
    static long bytes(long size) {
        return size + size / 16 * Float.BYTES;
    }

    private static Packer packer(GgmlType type) {
        return switch (type) {
            case Q6_K -> PackedQuants::pack;
            case Q3_K -> PackedQuants::packQ3_K;
            case Q5_0 -> PackedQuants::packQ5_0;
            default -> null;
        };
    }

    /** Packs the whole tensor, of a type that {@link #packs}, on the pool's threads. */
    static PackedQuants of(FloatTensor t, Parallel pool) {
        MemorySegment src = t.segment();
        GgmlType type = t.type();
        Packer packer = packer(type);
        long blocks = t.size() / type.blockSize;
        if (t.size() / 16 > Integer.MAX_VALUE) throw new IllegalArgumentException(type + " tensor of " + t.size() + " values is too large to pack");
        Arena arena = Arena.ofShared();
        MemorySegment quants = UninitializedMemory.allocate(arena, t.size());
        float[] scales = new float[(int) (t.size() / 16)];
        int perTask = SUPER_BLOCKS_PER_TASK * 256 / type.blockSize;
        Repacking.run(pool, arena, t.stored(), blocks, type.typeSize, perTask, t.size(), b -> packer.pack(src, b, quants, scales));
        return new PackedQuants(quants, scales, arena);
    }

    private static int u8(MemorySegment s, long off) {
        return s.get(ValueLayout.JAVA_BYTE, off) & 0xFF;
    }

    /** Q3_K (see {@link BlockDecoders#q3_K}): quant low - 4, or low if its high bit is set; scale d * (scale - 32). */
    static void packQ3_K(MemorySegment src, long b, MemorySegment quants, float[] scales) {
        long in = b * 110, out = b * 256;
        float d = Simd.f16(src, in + 108);
        for (int g = 0; g < 16; g++) scales[(int) (16 * b) + g] = d * (BlockDecoders.q3_KScale(src, in + 96, g) - 32);
        int bit = 0;
        for (int half = 0; half < 2; half++)
            for (int shift = 0; shift < 8; shift += 2, bit++)
                for (int l = 0; l < 32; l++) {
                    int low = u8(src, in + 32 + 32 * half + l) >>> shift & 3, high = u8(src, in + l) >>> bit & 1;
                    quants.set(ValueLayout.JAVA_BYTE, out++, (byte) (low - (high != 0 ? 0 : 4)));
                }
    }

    /** Q5_0 (see {@link BlockDecoders#q5_0}): quant q - 16, scale d for both 16-value groups. */
    static void packQ5_0(MemorySegment src, long b, MemorySegment quants, float[] scales) {
        long in = b * 22, out = b * 32;
        float d = Simd.f16(src, in);
        scales[(int) (2 * b)] = scales[(int) (2 * b) + 1] = d;
        int high = src.get(Simd.LE_INT, in + 2);
        for (int j = 0; j < 16; j++) {
            int packed = u8(src, in + 6 + j);
            quants.set(ValueLayout.JAVA_BYTE, out + j, (byte) (((packed & 0xF) | (high >>> j & 1) << 4) - 16));
            quants.set(ValueLayout.JAVA_BYTE, out + j + 16, (byte) (((packed >>> 4) | (high >>> (j + 16) & 1) << 4) - 16));
        }
    }

    /**
     * Super-block b: for half h and part j (values 128h + 32j ..+31), the low nibbles (j < 2) or
     * high nibbles of ql[64h + 32(j & 1) ..] and bits 2j, 2j + 1 of qh[32h ..] make q; q ^ 32 is
     * q - 32 as a 6-bit two's complement number, and copying its bit 5 into bits 6 and 7 (times 6
     * puts 0xC0 in each byte whose bit 5 is set, with no carry) makes it a signed byte.
     */
    static void pack(MemorySegment src, long b, MemorySegment quants, float[] scales) {
        long in = b * Q6_KTensor.BYTES;
        unpackQ6_K(src, in, quants, b * Q6_KTensor.BLOCK);
        float d = Simd.f16(src, in + 208);
        for (int g = 0; g < 16; g++) scales[(int) (16 * b) + g] = d * src.get(ValueLayout.JAVA_BYTE, in + 192 + g);
    }

    /** The 256 quants of the Q6_K super-block at byte {@code in}, as q - 32 in signed bytes, value order, to dst[out ..]. */
    static void unpackQ6_K(MemorySegment src, long in, MemorySegment dst, long out) {
        for (int h = 0; h < 2; h++)
            for (int j = 0; j < 4; j++)
                for (int c = 0; c < 32; c += 8) dst.set(LE_LONG, out + 128 * h + 32 * j + c, q6_KWord(src, in, h, j, c));
    }

    /** {@link #unpackQ6_K} into 32 little-endian words: word w holds values 8w .. 8w + 7. */
    static void unpackQ6_K(MemorySegment src, long in, long[] words) {
        for (int h = 0; h < 2; h++)
            for (int j = 0; j < 4; j++)
                for (int c = 0; c < 32; c += 8) words[(128 * h + 32 * j + c) / 8] = q6_KWord(src, in, h, j, c);
    }

    /** Values 128h + 32j + c .. + 7 of the super-block at byte {@code in}, as q - 32, a signed byte each (see {@link #pack}). */
    private static long q6_KWord(MemorySegment src, long in, int h, int j, int c) {
        long ql = src.get(LE_LONG, in + 64 * h + 32 * (j & 1) + c), qh = src.get(LE_LONG, in + 128 + 32 * h + c);
        long q = (ql >>> (4 * (j >> 1))) & NIBBLES | ((qh >>> (2 * j)) & TWO_BITS) << 4;
        long v = q ^ BIT5;
        return v | (v & BIT5) * 6;
    }
}
