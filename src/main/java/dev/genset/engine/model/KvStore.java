package dev.genset.engine.model;

import dev.genset.engine.tensor.Quantizer;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One layer's keys or values as a {@link KvCache} stores them ({@link KvType}): a flat run of
 * numbers in the order the cache lays them out. f32 is read in place; f16, q8_0 and q4_0 are
 * converted to f32 a tile of keys or a run of values at a time into the attention's scratch.
 *
 * <p>q8_0 is ggml's block ({@link Quantizer#q8_0Block}, ggml's reference rounding): 32 numbers
 * as 8-bit integers times one f16 scale, here 32 channels of one position (a head's size must be
 * a multiple of 32). A run of values holds a block as 32 consecutive numbers; a tile of keys,
 * which lays channel c of its positions side by side, holds a block's numbers {@link KvCache#TILE}
 * apart. Either way a tile or a position is whole blocks, and the scales are kept one per 32
 * numbers in the order the blocks start, so the numbers [from, from + n) of whole tiles of keys,
 * or whole positions of values, have their scales at [from / 32, (from + n) / 32): what
 * {@link #copy}, {@link #save} and {@link #restore} move.
 *
 * <p>q4_0 is ggml's block of 4-bit integers offset by 8 and an f16 scale
 * ({@link Quantizer#q4_0Block}), two numbers a byte: a block's numbers j and j + 16 share byte j,
 * as in ggml. In a tile of keys the byte of channels b * 32 + j and b * 32 + 16 + j at position p
 * is (b * 16 + j) * TILE + p, so that a run of a tile's bytes holds two channels' rows. Its scales
 * are kept as q8_0's, and the numbers [from, from + n) of whole tiles or positions lie in bytes
 * [from / 2, (from + n) / 2).
 */
final class KvStore {
    static final int BLOCK = 32;

    final KvType type;
    /** The numbers as f32, or null. */
    final float[] f32;
    /** As f16 bits, or null. */
    final short[] f16;
    /** As q8_0's or q4_0's integers and their scales' f16 bits, or null. */
    final byte[] quants;
    final short[] scales;

    KvStore(KvType type, int numbers) {
        this.type = type;
        this.f32 = type == KvType.F32 ? new float[numbers] : null;
        this.f16 = type == KvType.F16 ? new short[numbers] : null;
        boolean blocks = type == KvType.Q8_0 || type == KvType.Q4_0;
        this.quants = blocks ? new byte[quantBytes(numbers)] : null;
        this.scales = blocks ? new short[numbers / BLOCK] : null;
    }

    /** Bytes of integers that hold this many numbers (q8_0, q4_0). */
    private int quantBytes(int numbers) {
        return type == KvType.Q4_0 ? numbers / 2 : numbers;
    }

    /** Stores one position's value: {@code n} numbers from src[s] at [at, at + n) (whole blocks for q8_0 and q4_0). */
    void putRun(int at, float[] src, int s, int n) {
        switch (type) {
            case F32 -> System.arraycopy(src, s, f32, at, n);
            case F16 -> {
                for (int c = 0; c < n; c++) f16[at + c] = Float.floatToFloat16(src[s + c]);
            }
            case Q8_0 -> {
                for (int b = 0; b < n; b += BLOCK) scales[(at + b) / BLOCK] = Quantizer.q8_0Block(src, s + b, quants, at + b, 1);
            }
            case Q4_0 -> {
                for (int b = 0; b < n; b += BLOCK) scales[(at + b) / BLOCK] = Quantizer.q4_0Block(src, s + b, quants, (at + b) / 2, 1);
            }
        }
    }

    /**
     * Stores one position's key: {@code n} channels from src[s], channel c at
     * {@code tile + c * TILE + p} for the tile starting at {@code tile} and position p in it.
     */
    void putTiled(int tile, int p, float[] src, int s, int n) {
        int at = tile + p;
        switch (type) {
            case F32 -> {
                for (int c = 0; c < n; c++) f32[at + c * KvCache.TILE] = src[s + c];
            }
            case F16 -> {
                for (int c = 0; c < n; c++) f16[at + c * KvCache.TILE] = Float.floatToFloat16(src[s + c]);
            }
            case Q8_0 -> {  // block b of the tile's positions: scales [tile / 32 + b * TILE, + TILE)
                for (int b = 0; b < n / BLOCK; b++)
                    scales[tile / BLOCK + b * KvCache.TILE + p] = Quantizer.q8_0Block(src, s + b * BLOCK, quants, at + b * BLOCK * KvCache.TILE, KvCache.TILE);
            }
            case Q4_0 -> {
                for (int b = 0; b < n / BLOCK; b++)
                    scales[tile / BLOCK + b * KvCache.TILE + p] = Quantizer.q4_0Block(src, s + b * BLOCK, quants, tile / 2 + b * 16 * KvCache.TILE + p, KvCache.TILE);
            }
        }
    }

    /** The n numbers from {@code at}, a run of values (whole positions), as f32 in dst[0, n). */
    void runToFloat(int at, int n, float[] dst) {
        if (f16 != null) {
            ArrayMath.halfToFloat(f16, at, dst, 0, n);
            return;
        }
        for (int b = 0; b < n; b += BLOCK) {
            float d = Float.float16ToFloat(scales[(at + b) / BLOCK]);
            if (type == KvType.Q8_0) {
                ArrayMath.bytesTimes(quants, at + b, d, dst, b, BLOCK);
            } else {
                ArrayMath.nibblesTimes(quants, (at + b) / 2, false, d, dst, b, BLOCK / 2);
                ArrayMath.nibblesTimes(quants, (at + b) / 2, true, d, dst, b + BLOCK / 2, BLOCK / 2);
            }
        }
    }

    /**
     * The tile of keys starting at {@code tile} ({@code channels} channels of {@link KvCache#TILE}
     * positions) as f32 in dst, in its own layout; tileScales holds TILE floats of scratch.
     */
    void tileToFloat(int tile, int channels, float[] dst, float[] tileScales) {
        final int T = KvCache.TILE;
        if (f16 != null) {
            ArrayMath.halfToFloat(f16, tile, dst, 0, channels * T);
            return;
        }
        for (int b = 0; b < channels / BLOCK; b++) {
            ArrayMath.halfToFloat(scales, tile / BLOCK + b * T, tileScales, 0, T);
            if (type == KvType.Q8_0) {
                for (int c = b * BLOCK; c < (b + 1) * BLOCK; c++) ArrayMath.bytesTimes(quants, tile + c * T, tileScales, 0, dst, c * T, T);
            } else {
                for (int j = 0; j < BLOCK / 2; j++) {
                    int row = tile / 2 + (b * BLOCK / 2 + j) * T, c = b * BLOCK + j;
                    ArrayMath.nibblesTimes(quants, row, false, tileScales, 0, dst, c * T, T);
                    ArrayMath.nibblesTimes(quants, row, true, tileScales, 0, dst, (c + BLOCK / 2) * T, T);
                }
            }
        }
    }

    /** Copies numbers [from, from + n) (whole blocks) of another store of the same type. */
    void copy(KvStore other, int from, int n) {
        switch (type) {
            case F32 -> System.arraycopy(other.f32, from, f32, from, n);
            case F16 -> System.arraycopy(other.f16, from, f16, from, n);
            case Q8_0, Q4_0 -> {
                System.arraycopy(other.quants, quantBytes(from), quants, quantBytes(from), quantBytes(n));
                System.arraycopy(other.scales, from / BLOCK, scales, from / BLOCK, n / BLOCK);
            }
        }
    }

    /** Writes numbers [start, start + n) (whole blocks) to dst at {@code at}: {@code type.bytes(n)} bytes, as stored (q8_0, q4_0: the quants, then the scales). */
    void save(int start, int n, MemorySegment dst, long at) {
        switch (type) {
            case F32 -> MemorySegment.copy(f32, start, dst, ValueLayout.JAVA_FLOAT_UNALIGNED, at, n);
            case F16 -> MemorySegment.copy(f16, start, dst, ValueLayout.JAVA_SHORT_UNALIGNED, at, n);
            case Q8_0, Q4_0 -> {
                MemorySegment.copy(quants, quantBytes(start), dst, ValueLayout.JAVA_BYTE, at, quantBytes(n));
                MemorySegment.copy(scales, start / BLOCK, dst, ValueLayout.JAVA_SHORT_UNALIGNED, at + quantBytes(n), n / BLOCK);
            }
        }
    }

    /**
     * Reads numbers [start + from, start + from + n) (whole blocks) back from what {@link #save}
     * wrote at {@code at} of the numbers [start, start + saved).
     */
    void restore(MemorySegment src, long at, int start, int saved, int from, int n) {
        switch (type) {
            case F32 -> MemorySegment.copy(src, ValueLayout.JAVA_FLOAT_UNALIGNED, at + (long) from * Float.BYTES, f32, start + from, n);
            case F16 -> MemorySegment.copy(src, ValueLayout.JAVA_SHORT_UNALIGNED, at + (long) from * Short.BYTES, f16, start + from, n);
            case Q8_0, Q4_0 -> {
                MemorySegment.copy(src, ValueLayout.JAVA_BYTE, at + quantBytes(from), quants, quantBytes(start + from), quantBytes(n));
                MemorySegment.copy(src, ValueLayout.JAVA_SHORT_UNALIGNED, at + quantBytes(saved) + (long) from / BLOCK * Short.BYTES, scales, (start + from) / BLOCK, n / BLOCK);
            }
        }
    }
}
