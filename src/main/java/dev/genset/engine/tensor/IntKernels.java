package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.genset.engine.tensor.Simd.LE;

/**
 * Products of Q8_0, Q4_0, Q4_K, Q5_K, Q6_K, IQ4_NL and IQ4_XS weights (and of the types packed as Q6_K
 * is, {@link PackedQuants}) with {@link QuantizedRows} activations in integer arithmetic,
 * as llama.cpp computes them: per 32-value block an exact integer dot product of weight and
 * activation quants, then one fma of that with the product of the two block scales.
 *
 * <p>The canonical sequence for one (weight row, activation row) pair, which the single-row
 * kernels ({@link #dotQ8_0}, {@link #dotQ4_0}, {@link #dotQ4_K}) and the tile kernels
 * ({@link #tileDot}, {@link #tileDot2x2}) all follow, so that results are batch-invariant (Q4_K
 * adds its min terms, see {@link #dotQ4_K}): for each block in column
 * order, 16-bit products of the two 16-value halves added lane by lane (|sum| at most
 * 2 * 128 * 127, so exact), adjacent 16-bit lanes added into 8 int lanes, those converted to float
 * and fused into one accumulator with the scale product dw * dx; at the end the 8 lanes summed in
 * lane order. Integer steps are exact, so only the float steps fix the order, and they are the
 * same everywhere. The interleaved forms ({@link InterleavedQ8_0}, {@link InterleavedQ4_0},
 * {@link InterleavedQ4_K}, {@link InterleavedQ6_K}) have sequences of their own, given with their
 * one-group kernels ({@link #dotQ8_0x8}, {@link #dotQ4_0x8}, {@link #dotQ4_Kx8}, {@link #dotQ6_Kx8}),
 * which the two-group and four-row kernels repeat.
 *
 * <p>Every conversion and reinterpretation names its species (convertShape, reinterpretShape), and
 * sums carried around a loop add with {@code lanewise(ADD, ...)}: the shorter forms (convert,
 * reinterpretAsInts, add) dispatch inside the JDK at calls whose recorded receiver types a
 * process's 256- and 512-bit callers share, which cost {@link ShortGemm}'s tiles their speed in
 * some processes (BENCHMARKS.md, round 29).
 *
 * <p>AVX2 has no byte dot-product instruction the Vector API reaches (vpmaddubsw), so widening
 * to 16 bits and multiplying 16 lanes at a time is the cheapest exact form found; it takes fewer
 * instructions per block than widening to float (about 19 against 35 in the compiled Q8_0 loops
 * compared). The kernels use 256-bit vectors whatever the preferred width.
 */
final class IntKernels {
    private IntKernels() {}

    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final VectorSpecies<Short> S8 = ShortVector.SPECIES_128;
    private static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;

    /**
     * Whether single activation rows (decoding) are multiplied with interleaved Q4_0 and Q4_K weights
     * by the 512-bit kernels ({@link #dotQ4_0x16w}, {@link #dotQ4_Kx16w}), which do two chunks' work
     * per instruction: by default where the CPU prefers 512-bit vectors (Q4_0 generation 1.12x to
     * 1.19x on AVX-512, BENCHMARKS.md round 25; Q4_K's product 1.32x in cache, round 27), the property
     * {@code genset.wideKernels} overriding. The rest of the kernels keep their 256-bit shapes
     * ({@link Simd} says why).
     */
    static final boolean WIDE_Q4 = Simd.ENABLED && (Simd.L == 16 || Boolean.parseBoolean(System.getProperty("genset.wideKernels",
            String.valueOf(FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512))));
    /**
     * The same for Q8_0 ({@link #dotQ8_0x16w}), on the same terms as {@link #WIDE_Q4}. Round 25
     * measured it slower than the 256-bit kernel (generation 0.94x to 0.96x); since rounds 28 and 29
     * (kernels compiled after their profiles, Vector API calls dispatched at the kernels' own call
     * sites) it measures faster: Q8_0 generation 1.06x (medians of five alternating pairs, twice;
     * faster in 9 of 10), BENCHMARKS.md round 30.
     */
    static final boolean WIDE_Q8_0 = WIDE_Q4;
    /**
     * The same for Q6_K ({@link #dotQ6_Kx16w}), on the same terms as {@link #WIDE_Q4}. It had
     * measured no faster than the 256-bit kernel (a Q4_K file with its Q6_K tensors 0.93x to 0.99x
     * in round 25; a Q4_0 file's Q6_K output 0.99x in round 30) until it finished both groups' rows
     * in one vector: Q4_K_M generation 1.025x (medians of six alternating pairs, twice),
     * BENCHMARKS.md round 33.
     */
    static final boolean WIDE_Q6_K = WIDE_Q4;
    private static final VectorSpecies<Byte> B32 = ByteVector.SPECIES_256;
    private static final VectorSpecies<Short> S32 = ShortVector.SPECIES_512;
    private static final VectorSpecies<Integer> I16 = IntVector.SPECIES_512;

    static final int BLOCK = 32, Q8_0_BYTES = 34, Q4_0_BYTES = 18, Q4_K_BYTES = 144, Q5_K_BYTES = 176, Q6_K_BYTES = 210,
            IQ4_NL_BYTES = 18, IQ4_XS_BYTES = 136, Q3_K_BYTES = 110;

    /** Whether products of this type go through these kernels (on the vector path). */
    static boolean handles(FloatTensor w) {
        return Simd.ENABLED && (w instanceof Q8_0Tensor || w instanceof Q4_0Tensor || w instanceof Q4_KTensor || w instanceof Q6_KTensor
                || isQ5_K(w) || isIq4(w) || isQ3_K(w) || w instanceof DecodedTensor d && d.packs());
    }

    /**
     * Q3_K is read through {@link DecodedTensor} but multiplied here: repacked ({@link PackedQuants})
     * where memory allows, else in place, widened to 16-bit quants ({@link #widenQ3_K}) and multiplied
     * with Q6_K's operations ({@link #tileDotQ6_K}), each 16-value half with its own scale
     * d * (scale - 32) (about half the repacked form's speed, at a third of its memory). Quants times
     * 8-bit activations stay under 2^15 in adjacent pairs, as Q6_K's do.
     */
    static boolean isQ3_K(FloatTensor w) {
        return w instanceof DecodedTensor && w.type() == GgmlType.Q3_K;
    }

    /** The 16 scales d * (scale - 32) of {@code superBlocks} Q3_K super-blocks from {@code block}, to sc[so ..]. */
    static void widenQ3_KScales(MemorySegment s, long block, int superBlocks, float[] sc, int so) {
        for (int g = 0; g < superBlocks; g++) {
            long b = (block + g) * Q3_K_BYTES;
            float d = Simd.f16(s, b + 108);
            for (int i = 0; i < 16; i++) sc[so + 16 * g + i] = d * (BlockDecoders.q3_KScale(s, b + 96, i) - 32);
        }
    }

    /**
     * Widens {@code superBlocks} Q3_K super-blocks from {@code block} to tile[tOff ..] (their quants,
     * -4..3, 256 shorts each). Value l of 32-value part j takes 2 low bits from bits 2 * (j % 4) of
     * quant byte l of half j / 4, and a high bit from bit j of high-bit byte l: q = low + 4 * high - 4.
     * Each byte is loaded and widened once per super-block and shifted for every part it serves.
     */
    static void widenQ3_K(MemorySegment s, long block, int superBlocks, short[] tile, int tOff) {
        for (int g = 0; g < superBlocks; g++) {
            long b = (block + g) * Q3_K_BYTES;
            ShortVector h0 = widen(ByteVector.fromMemorySegment(B16, s, b, LE)), h1 = widen(ByteVector.fromMemorySegment(B16, s, b + 16, LE));
            for (int half = 0; half < 2; half++) {
                ShortVector q0 = widen(ByteVector.fromMemorySegment(B16, s, b + 32 + 32 * half, LE));
                ShortVector q1 = widen(ByteVector.fromMemorySegment(B16, s, b + 48 + 32 * half, LE));
                for (int p = 0; p < 4; p++) {
                    int j = 4 * half + p, t = tOff + 256 * g + 32 * j;
                    q0.lanewise(VectorOperators.ASHR, 2 * p).and((short) 3).or(h0.lanewise(VectorOperators.ASHR, j).and((short) 1).lanewise(VectorOperators.LSHL, 2))
                            .sub((short) 4).intoArray(tile, t);
                    q1.lanewise(VectorOperators.ASHR, 2 * p).and((short) 3).or(h1.lanewise(VectorOperators.ASHR, j).and((short) 1).lanewise(VectorOperators.LSHL, 2))
                            .sub((short) 4).intoArray(tile, t + 16);
                }
            }
        }
    }

    /** IQ4_NL and IQ4_XS are read through {@link DecodedTensor} but multiplied here, in place. */
    static boolean isIq4(FloatTensor w) {
        return w instanceof DecodedTensor && (w.type() == GgmlType.IQ4_NL || w.type() == GgmlType.IQ4_XS);
    }

    /** The 16 IQ4 values as byte lanes: a 4-bit index selects one with a byte shuffle (pshufb). */
    private static final ByteVector IQ4_TABLE = ByteVector.fromArray(B16, BlockDecoders.IQ4_VALUES, 0);

    /** The IQ4 values of 16 packed index bytes: low nibbles (the block's values 0..15), widened to 16-bit lanes. */
    private static ShortVector iq4Low(ByteVector packed) {
        return widen(packed.and((byte) 0x0F).selectFrom(IQ4_TABLE));
    }

    /** The same for the high nibbles (values 16..31); a logical shift of a byte lane brings in zeros. */
    private static ShortVector iq4High(ByteVector packed) {
        return widen(packed.lanewise(VectorOperators.LSHR, 4).selectFrom(IQ4_TABLE));
    }

    /**
     * IQ4_NL weights (fp16 d, 16 bytes of 4-bit indices into {@link BlockDecoders#IQ4_VALUES}, laid
     * out as Q4_0's nibbles), in place: Q8_0's block step on the looked-up values (at most 127 in
     * magnitude, as Q8_0's quants), scale d * dx.
     */
    static float dotIQ4_NL(MemorySegment s, long wBlock, short[] xq, float[] xd, int xBlock, int blocks) {
        FloatVector acc = FloatVector.zero(F8);
        long b0 = wBlock * IQ4_NL_BYTES;
        for (int g = 0; g < blocks; g++) {
            long b = b0 + (long) g * IQ4_NL_BYTES;
            ByteVector packed = ByteVector.fromMemorySegment(B16, s, b + 2, LE);
            acc = blockStep(iq4Low(packed), iq4High(packed), xq, (xBlock + g) * BLOCK, Simd.f16(s, b) * xd[xBlock + g], acc);
        }
        return sum(acc);
    }

    /**
     * IQ4_XS weights, in place: per 256 values an fp16 d and 8 6-bit scales, then per 32 values
     * IQ4_NL's 16 index bytes. The row's scales d * (scale - 32) come unpacked
     * ({@link #widenIQ4_XSScales}, 8 per super-block from index 0); one 32-value part per loop step.
     */
    static float dotIQ4_XS(MemorySegment s, long wBlock, short[] xq, float[] xd, int xBlock, int superBlocks, float[] scales) {
        FloatVector acc = FloatVector.zero(F8);
        for (int k = 0, parts = 8 * superBlocks; k < parts; k++) {
            long q = (wBlock + (k >> 3)) * IQ4_XS_BYTES + 8 + 16 * (k & 7);
            ByteVector packed = ByteVector.fromMemorySegment(B16, s, q, LE);
            acc = blockStep(iq4Low(packed), iq4High(packed), xq, (xBlock + k) * BLOCK, scales[k] * xd[xBlock + k], acc);
        }
        return sum(acc);
    }

    /** The 8 part scales d * (scale - 32) of {@code superBlocks} IQ4_XS super-blocks from {@code block}, to scales[so ..]. */
    static void widenIQ4_XSScales(MemorySegment s, long block, int superBlocks, float[] scales, int so) {
        for (int g = 0; g < superBlocks; g++) {
            long b = (block + g) * IQ4_XS_BYTES;
            float d = Simd.f16(s, b);
            int high = s.get(Simd.LE_SHORT, b + 2) & 0xFFFF, low = s.get(Simd.LE_INT, b + 4);
            for (int part = 0; part < 8; part++)
                scales[so + 8 * g + part] = d * (((low >>> 4 * part & 0xF) | (high >>> 2 * part & 3) << 4) - 32);
        }
    }

    /** Widens {@code blocks} IQ4_NL blocks from {@code block} to tile[tOff ..] (the values, 32 shorts each) and their d to d[dOff ..]. */
    static void widenIQ4_NL(MemorySegment s, long block, int blocks, short[] tile, int tOff, float[] d, int dOff) {
        for (int g = 0; g < blocks; g++, tOff += BLOCK) {
            long b = (block + g) * IQ4_NL_BYTES;
            d[dOff + g] = Simd.f16(s, b);
            ByteVector packed = ByteVector.fromMemorySegment(B16, s, b + 2, LE);
            iq4Low(packed).intoArray(tile, tOff);
            iq4High(packed).intoArray(tile, tOff + 16);
        }
    }

    /** Widens {@code superBlocks} IQ4_XS super-blocks from {@code block} to tile[tOff ..] (256 values each) and their part scales to d[dOff ..]. */
    static void widenIQ4_XS(MemorySegment s, long block, int superBlocks, short[] tile, int tOff, float[] d, int dOff) {
        widenIQ4_XSScales(s, block, superBlocks, d, dOff);
        for (int g = 0; g < superBlocks; g++)
            for (int part = 0; part < 8; part++) {
                ByteVector packed = ByteVector.fromMemorySegment(B16, s, (block + g) * IQ4_XS_BYTES + 8 + 16 * part, LE);
                int t = tOff + 256 * g + 32 * part;
                iq4Low(packed).intoArray(tile, t);
                iq4High(packed).intoArray(tile, t + 16);
            }
    }

    /** Q5_K is read through {@link DecodedTensor} but multiplied here. */
    static boolean isQ5_K(FloatTensor w) {
        return w instanceof DecodedTensor && w.type() == GgmlType.Q5_K;
    }

    // ---- single activation row, weights read in place -------------------------------------

    /** Weight row starting at block {@code wBlock} times activation row starting at block {@code xBlock}; {@code blocks} blocks. */
    static float dotQ8_0(MemorySegment s, long wBlock, short[] xq, float[] xd, int xBlock, int blocks) {
        FloatVector acc = FloatVector.zero(F8);
        long b0 = wBlock * Q8_0_BYTES;
        for (int g = 0; g < blocks; g++) {
            long b = b0 + (long) g * Q8_0_BYTES;
            int xo = (xBlock + g) * BLOCK;
            ShortVector w0 = widen(ByteVector.fromMemorySegment(B16, s, b + 2, LE));
            ShortVector w1 = widen(ByteVector.fromMemorySegment(B16, s, b + 18, LE));
            acc = blockStep(w0, w1, xq, xo, Simd.f16(s, b) * xd[xBlock + g], acc);
        }
        return sum(acc);
    }

    static float dotQ4_0(MemorySegment s, long wBlock, short[] xq, float[] xd, int xBlock, int blocks) {
        FloatVector acc = FloatVector.zero(F8);
        long b0 = wBlock * Q4_0_BYTES;
        for (int g = 0; g < blocks; g++) {
            long b = b0 + (long) g * Q4_0_BYTES;
            int xo = (xBlock + g) * BLOCK;
            ShortVector packed = widen(ByteVector.fromMemorySegment(B16, s, b + 2, LE));
            acc = blockStep(lowNibbles(packed), highNibbles(packed), xq, xo, Simd.f16(s, b) * xd[xBlock + g], acc);
        }
        return sum(acc);
    }

    /**
     * {@link #dotQ8_0} in the interleaved kernels' order ({@link #dotQ8_0x8}): per block, in column
     * order, the exact integer dot product, converted to float and fused into one accumulator with
     * the scale product dw * dx. Bit for bit what a repacked matrix gives for this row, read from
     * the stored bytes: a product can take it before the matrix is repacked without its results
     * depending on whether the repacking had finished.
     *
     * <p>The in-order kernels dispatch every vector operation at their own calls ({@code lanewise}
     * with vector operands, as {@link ShortGemm}'s tiles do, round 29), not through the shorter
     * forms that dispatch inside the JDK at calls all callers share. Shifts take a scalar count:
     * AVX2 has no 16-bit shift by a vector of counts, and C2 emulated one through 32-bit lanes, a
     * dozen instructions for one (the Q4_0 kernel 1.49x faster with counts, round 38). Even so,
     * with them run first in a process the batched Q4_K kernels were compiled slower in about one
     * process in five (BENCHMARKS.md, round 32), so a model's warm-up runs on the repacked forms.
     */
    static float dotQ8_0InOrder(MemorySegment s, long wBlock, short[] xq, float[] xd, int xBlock, int blocks) {
        float acc = 0f;
        long b0 = wBlock * Q8_0_BYTES;
        for (int g = 0; g < blocks; g++) {
            long b = b0 + (long) g * Q8_0_BYTES;
            int xo = (xBlock + g) * BLOCK;
            ShortVector w0 = widen(ByteVector.fromMemorySegment(B16, s, b + 2, LE));
            ShortVector w1 = widen(ByteVector.fromMemorySegment(B16, s, b + 18, LE));
            acc = Math.fma((float) blockSum(w0, w1, xq, xo), Simd.f16(s, b) * xd[xBlock + g], acc);
        }
        return acc;
    }

    /** {@link #dotQ4_0} in the interleaved kernels' order ({@link #dotQ4_0x8}); see {@link #dotQ8_0InOrder}. */
    static float dotQ4_0InOrder(MemorySegment s, long wBlock, short[] xq, float[] xd, int xBlock, int blocks) {
        ShortVector low = ShortVector.broadcast(S16, (short) 0x0F), eight = ShortVector.broadcast(S16, (short) 8);
        float acc = 0f;
        long b0 = wBlock * Q4_0_BYTES;
        for (int g = 0; g < blocks; g++) {
            long b = b0 + (long) g * Q4_0_BYTES;
            int xo = (xBlock + g) * BLOCK;
            ShortVector packed = widen(ByteVector.fromMemorySegment(B16, s, b + 2, LE));
            ShortVector first = packed.lanewise(VectorOperators.AND, low).lanewise(VectorOperators.SUB, eight);
            ShortVector second = packed.lanewise(VectorOperators.ASHR, 4).lanewise(VectorOperators.AND, low).lanewise(VectorOperators.SUB, eight);
            acc = Math.fma((float) blockSum(first, second, xq, xo), Simd.f16(s, b) * xd[xBlock + g], acc);
        }
        return acc;
    }

    /**
     * A Q6_K row in its stored bytes (from super-block {@code wSuper}) in the interleaved kernels'
     * order ({@link #dotQ6_Kx8}): per 16-value sub-block in column order, the exact integer dot
     * product of q - 32 with the activation quants, fused into one accumulator with
     * (d * scale) * dx; see {@link #dotQ8_0InOrder}. Sub-block j of a super-block (values 16j ..)
     * lies in half j / 8, quarter (j / 2) % 4: its low bits in the 16 ql bytes at
     * 64 * half + 32 * (quarter % 2) + 16 * (j % 2), the low nibble for quarters 0 and 1, the high for
     * 2 and 3; its high bits in bit pair {@code quarter} of the 16 qh bytes at
     * 128 + 32 * half + 16 * (j % 2) ({@link Q6_KTensor}).
     */
    static float dotQ6_KInOrder(MemorySegment s, long wSuper, short[] xq, float[] xd, int xBlock, int superBlocks) {
        ShortVector low = ShortVector.broadcast(S16, (short) 0x0F), three = ShortVector.broadcast(S16, (short) 3),
                thirtyTwo = ShortVector.broadcast(S16, (short) 32);
        float acc = 0f;
        for (int sb = 0; sb < superBlocks; sb++) {
            long b = (wSuper + sb) * Q6_K_BYTES;
            float d = Simd.f16(s, b + 208);
            for (int j = 0; j < 16; j++) {
                int half = j >> 3, quarter = (j >> 1) & 3, odd = j & 1;
                ShortVector lowBits = widen(ByteVector.fromMemorySegment(B16, s, b + 64 * half + 32 * (quarter & 1) + 16 * odd, LE))
                        .lanewise(VectorOperators.ASHR, 4 * (quarter >> 1)).lanewise(VectorOperators.AND, low);
                ShortVector highBits = widen(ByteVector.fromMemorySegment(B16, s, b + 128 + 32 * half + 16 * odd, LE))
                        .lanewise(VectorOperators.ASHR, 2 * quarter).lanewise(VectorOperators.AND, three);
                ShortVector q = lowBits.lanewise(VectorOperators.OR, highBits.lanewise(VectorOperators.LSHL, 4)).lanewise(VectorOperators.SUB, thirtyTwo);
                int xo = 32 * (xBlock + 8 * sb) + 16 * j;
                int sum = pairSumsExact(q.lanewise(VectorOperators.MUL, ShortVector.fromArray(S16, xq, xo)));
                float scale = d * (float) s.get(ValueLayout.JAVA_BYTE, b + 192 + j);
                acc = Math.fma((float) sum, scale * xd[xBlock + 8 * sb + (j >> 1)], acc);
            }
        }
        return acc;
    }

    /**
     * A Q4_K row in its stored bytes (from super-block {@code wSuper}) in the interleaved kernels'
     * order ({@link #dotQ4_Kx8}): per 32-value sub-block in column order, the exact integer dot
     * product of the quants (0..15) with the activation quants fused into one accumulator with
     * (d * scale) * dx, then -(dmin * min) fused with the activation block's scaled sum; see
     * {@link #dotQ8_0InOrder}. Sub-block j's quants are the low (j even) or high (j odd) nibbles of
     * the 32 bytes from 16 + 32 * (j / 2); {@code sm} is scratch for a super-block's 8 scales and 8
     * mins ({@link #unpackQ4_K}).
     */
    static float dotQ4_KInOrder(MemorySegment s, long wSuper, short[] xq, float[] xd, float[] xs, int xBlock, int superBlocks, float[] sm) {
        ShortVector low = ShortVector.broadcast(S16, (short) 0x0F);
        float acc = 0f;
        for (int sb = 0; sb < superBlocks; sb++) {
            long b = (wSuper + sb) * Q4_K_BYTES;
            unpackQ4_K(s, b, sm, 0, sm, 8);
            for (int j = 0; j < 8; j++) {
                int xb = xBlock + 8 * sb + j;
                int shift = 4 * (j & 1);
                ShortVector first = widen(ByteVector.fromMemorySegment(B16, s, b + 16 + 32 * (j >> 1), LE))
                        .lanewise(VectorOperators.ASHR, shift).lanewise(VectorOperators.AND, low);
                ShortVector second = widen(ByteVector.fromMemorySegment(B16, s, b + 32 + 32 * (j >> 1), LE))
                        .lanewise(VectorOperators.ASHR, shift).lanewise(VectorOperators.AND, low);
                acc = Math.fma((float) blockSum(first, second, xq, 32 * xb), sm[j] * xd[xb], acc);
                acc = Math.fma(-sm[8 + j], xs[xb], acc);
            }
        }
        return acc;
    }

    /**
     * A block's exact integer dot product: its two halves' products added in 16-bit lanes (a lane
     * at most 2 * 128 * 127), adjacent lanes added into ints, the ints summed (integer sums are
     * exact in any order).
     */
    private static int blockSum(ShortVector w0, ShortVector w1, short[] xq, int xo) {
        return pairSumsExact(w0.lanewise(VectorOperators.MUL, ShortVector.fromArray(S16, xq, xo))
                .lanewise(VectorOperators.ADD, w1.lanewise(VectorOperators.MUL, ShortVector.fromArray(S16, xq, xo + 16))));
    }

    /** The sum of 16 short lanes (whose adjacent pairs' sums fit a short), as an int: pairs added into 8 ints, then those. */
    private static int pairSumsExact(ShortVector p) {
        IntVector i = (IntVector) p.reinterpretShape(I8, 0), sixteen = IntVector.broadcast(I8, 16);
        return i.lanewise(VectorOperators.ASHR, sixteen).lanewise(VectorOperators.ADD, i.lanewise(VectorOperators.LSHL, sixteen).lanewise(VectorOperators.ASHR, sixteen))
                .reduceLanes(VectorOperators.ADD);
    }

    /**
     * Eight Q4_0 rows at once from their {@link InterleavedQ4_0} form (group {@code group}) times one
     * activation row from block {@code xBlock}: results to out[o .. o + 8]. The canonical sequence
     * for each row of a repacked tensor: per block in column order, the exact integer dot product
     * of the unsigned quants with the activation quants less 8 times the activation block's sum
     * (that is, (q - 8) * x), converted to float and fused into the row's accumulator with the
     * scale product dw * dx; the accumulator is the result (each row is one lane, so there is no
     * lane sum). The same for every batch: the batched path calls this per activation row.
     *
     * <p>Per chunk (four values of each row) the 16 bytes are widened to 16-bit lanes (row r's
     * values in lanes 2r, 2r + 1), and each lane, byte a + 16b for low nibble a and high nibble b, is
     * multiplied as it is with the broadcast activation pair (4c, 4c + 1) and, shifted down 4 bits,
     * with the steps (x(4c+2) - 16 x(4c), x(4c+3) - 16 x(4c+1)) of {@link QuantizedRows#steps}: the
     * high nibble's product with the first activation cancels, so the two products sum to exactly
     * a x(4c) + b x(4c+2), with no mask. Everything is summed in 16-bit lanes over the block; the
     * partial sums may wrap, but a lane's true sum (16 products of at most 15 * 127: 30,480) fits,
     * so the wrapped sum is that sum. Adjacent lanes are added into each row's int once per block.
     * (Without the mask, the batched kernel took 0.93x the time, decoding a few percent less.)
     */
    static void dotQ4_0x8(MemorySegment p, long group, int blocks, int[] xSteps, int[] xSums, float[] xd, int xBlock, float[] out, int o) {
        FloatVector acc = FloatVector.zero(F8);
        ShortVector zero = ShortVector.zero(S16), s = zero;
        long sc = InterleavedQ4_0.scales(group, blocks), q = InterleavedQ4_0.quants(group, blocks);
        int xp = xBlock * 16;
        // one chunk per step, the block's end under a branch: C2 keeps this loop in registers
        for (int k = 0, n = 8 * blocks; k < n; k++) {
            ShortVector w = (ShortVector) ByteVector.fromMemorySegment(B16, p, q + 16L * k, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
            s = s.lanewise(VectorOperators.ADD, w.mul((ShortVector) IntVector.broadcast(I8, xSteps[xp + 2 * k]).reinterpretShape(S16, 0)))
                    .add(w.lanewise(VectorOperators.LSHR, 4).mul((ShortVector) IntVector.broadcast(I8, xSteps[xp + 2 * k + 1]).reinterpretShape(S16, 0)));
            if ((k & 7) == 7) {
                int b = k >> 3;
                IntVector i = (IntVector) s.reinterpretShape(I8, 0);
                IntVector sums = i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .sub(8 * xSums[xBlock + b]);
                FloatVector scale = halfToFloat(ShortVector.fromMemorySegment(S8, p, sc + 16L * b, LE)).mul(xd[xBlock + b]);
                acc = ((FloatVector) sums.convertShape(VectorOperators.I2F, F8, 0)).fma(scale, acc);
                s = zero;
            }
        }
        acc.intoArray(out, o);
    }

    /**
     * {@link #dotQ4_0x8} for two consecutive groups (group and group + 1, sixteen weight rows) and
     * one activation row: each activation pair is broadcast once for both groups, and the loop's
     * own instructions (counter, index, branch), which outnumbered the multiply-adds in the
     * one-group loop, are shared by twice the work. The weight scales come as floats
     * ({@link #groupScales}: dw for group, dw2 for group + 1), since a second inlined fp16
     * conversion put this body past C2's inlining budget. The same operations per row as
     * {@link #dotQ4_0x8}, so bit-identical results; group + 1's rows to out[o + 8 .. o + 16].
     */
    static void dotQ4_0x16(MemorySegment p, long group, int blocks, float[] dw, float[] dw2, int[] xSteps, int[] xSums, float[] xd, int xBlock,
                           float[] out, int o) {
        FloatVector acc = FloatVector.zero(F8), acc2 = acc;
        ShortVector zero = ShortVector.zero(S16), s = zero, t = zero;
        long q = InterleavedQ4_0.quants(group, blocks), q2 = InterleavedQ4_0.quants(group + 1, blocks);
        int xp = xBlock * 16;
        for (int k = 0, n = 8 * blocks; k < n; k++) {
            ShortVector w = (ShortVector) ByteVector.fromMemorySegment(B16, p, q + 16L * k, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
            ShortVector v = (ShortVector) ByteVector.fromMemorySegment(B16, p, q2 + 16L * k, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
            ShortVector x0 = (ShortVector) IntVector.broadcast(I8, xSteps[xp + 2 * k]).reinterpretShape(S16, 0);
            ShortVector x1 = (ShortVector) IntVector.broadcast(I8, xSteps[xp + 2 * k + 1]).reinterpretShape(S16, 0);
            s = s.lanewise(VectorOperators.ADD, w.mul(x0)).add(w.lanewise(VectorOperators.LSHR, 4).mul(x1));
            t = t.lanewise(VectorOperators.ADD, v.mul(x0)).add(v.lanewise(VectorOperators.LSHR, 4).mul(x1));
            if ((k & 7) == 7) {
                int b = k >> 3, xs = 8 * xSums[xBlock + b];
                float dx = xd[xBlock + b];
                IntVector i = (IntVector) s.reinterpretShape(I8, 0);
                IntVector sums = i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).sub(xs);
                acc = ((FloatVector) sums.convertShape(VectorOperators.I2F, F8, 0)).fma(FloatVector.fromArray(F8, dw, 8 * b).mul(dx), acc);
                i = (IntVector) t.reinterpretShape(I8, 0);
                sums = i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).sub(xs);
                acc2 = ((FloatVector) sums.convertShape(VectorOperators.I2F, F8, 0)).fma(FloatVector.fromArray(F8, dw2, 8 * b).mul(dx), acc2);
                s = t = zero;
            }
        }
        acc.intoArray(out, o);
        acc2.intoArray(out, o + 8);
    }

    /**
     * {@link #dotQ4_0x16} in 512-bit vectors: each step loads chunks 2m and 2m + 1 of both groups
     * (32 bytes each, widened to 32 lanes) and multiplies them with the two chunks' activations side
     * by side ({@link QuantizedRows#wideSteps}, 128 ints a block), so a lane of the lower half sums a
     * row's even chunks and a lane of the upper half its odd ones. At the block's end the halves are
     * added: in 16-bit lanes, wrapping as before, to the same exact sum that {@link #dotQ4_0x16} has
     * in its one lane (each half's true sum fits too: at most four chunks of 2 * 15 * 127). From
     * there the same operations, so bit-identical results, on both groups' rows at once as
     * {@link #dotQ4_Kx16w} finishes them ({@link #bothGroups}), each block's 8 + 8 scales picked from
     * 16-float loads of dw and dw2 (so each needs 8 floats past its last block): Q4_0 generation
     * 1.01x to 1.03x (BENCHMARKS.md, round 33).
     */
    static void dotQ4_0x16w(MemorySegment p, long group, int blocks, float[] dw, float[] dw2, int[] wideSteps, int[] xSums, float[] xd, int xBlock,
                            float[] out, int o) {
        FloatVector acc = FloatVector.zero(F16);
        ShortVector zero = ShortVector.zero(S32), s = zero, t = zero;
        long q = InterleavedQ4_0.quants(group, blocks), q2 = InterleavedQ4_0.quants(group + 1, blocks);
        int xp = xBlock * 128;
        for (int m = 0, n = 4 * blocks; m < n; m++) {
            ShortVector w = (ShortVector) ByteVector.fromMemorySegment(B32, p, q + 32L * m, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S32, 0);
            ShortVector v = (ShortVector) ByteVector.fromMemorySegment(B32, p, q2 + 32L * m, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S32, 0);
            ShortVector x0 = (ShortVector) IntVector.fromArray(I16, wideSteps, xp + 32 * m).reinterpretShape(S32, 0);
            ShortVector x1 = (ShortVector) IntVector.fromArray(I16, wideSteps, xp + 32 * m + 16).reinterpretShape(S32, 0);
            s = s.lanewise(VectorOperators.ADD, w.mul(x0)).add(w.lanewise(VectorOperators.LSHR, 4).mul(x1));
            t = t.lanewise(VectorOperators.ADD, v.mul(x0)).add(v.lanewise(VectorOperators.LSHR, 4).mul(x1));
            if ((m & 3) == 3) {
                int b = m >> 2, xs = 8 * xSums[xBlock + b];
                float dx = xd[xBlock + b];
                IntVector sums = bothGroups(s, t).lanewise(VectorOperators.SUB, xs);
                IntVector da = (IntVector) FloatVector.fromArray(F16, dw, 8 * b).reinterpretShape(I16, 0);
                IntVector db = (IntVector) FloatVector.fromArray(F16, dw2, 8 * b).reinterpretShape(I16, 0);
                FloatVector scales = (FloatVector) LOW_HALVES.selectFrom(da, db).reinterpretShape(F16, 0);
                acc = ((FloatVector) sums.convertShape(VectorOperators.I2F, F16, 0)).lanewise(VectorOperators.FMA, scales.lanewise(VectorOperators.MUL, dx), acc);
                s = t = zero;
            }
        }
        acc.intoArray(out, o);
    }

    /** The two 256-bit halves of a 512-bit vector added lane by lane. */
    private static IntVector halves(IntVector v) {
        return (IntVector) v.add(v.rearrange(SWAP_HALVES)).reinterpretShape(I8, 0);
    }

    private static final VectorShuffle<Integer> SWAP_HALVES = VectorShuffle.fromOp(I16, i -> i ^ 8);

    /**
     * {@link #dotQ4_0x8} for four activation rows at once, sharing each weight load and its shift:
     * the same operations per (row, activation row), so bit-identical results. The four rows'
     * steps, sums and scales come interleaved ({@link QuantizedRows#steps4}: int k of row a at
     * xi[xo + 4k + a], block b's sum and scale at [so + 4b + a]); the group's weight scales come as
     * floats ({@link #groupScales}). Results for activation row a to out[o + a * stride ..]. One
     * chunk per loop step, the block's end under a branch: a body with more steps made C2 hoist every
     * load and product to the top and spill them (a third slower).
     */
    static void dotQ4_0x8x4(MemorySegment p, long group, int blocks, float[] dw, int[] xi, int xo, int[] xs, float[] xds, int so,
                            float[] out, int o, int stride) {
        ShortVector zero = ShortVector.zero(S16), s0 = zero, s1 = zero, s2 = zero, s3 = zero;
        FloatVector none = FloatVector.zero(F8);
        none.intoArray(out, o);
        none.intoArray(out, o + stride);
        none.intoArray(out, o + 2 * stride);
        none.intoArray(out, o + 3 * stride);
        long q0 = InterleavedQ4_0.quants(group, blocks);
        for (int k = 0, n = 8 * blocks; k < n; k++) {
            int q = xo + 8 * k;
            ShortVector w = (ShortVector) ByteVector.fromMemorySegment(B16, p, q0 + 16L * k, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
            ShortVector h = w.lanewise(VectorOperators.LSHR, 4);
            s0 = s0.lanewise(VectorOperators.ADD, w.mul((ShortVector) IntVector.broadcast(I8, xi[q]).reinterpretShape(S16, 0))).add(h.mul((ShortVector) IntVector.broadcast(I8, xi[q + 4]).reinterpretShape(S16, 0)));
            s1 = s1.lanewise(VectorOperators.ADD, w.mul((ShortVector) IntVector.broadcast(I8, xi[q + 1]).reinterpretShape(S16, 0))).add(h.mul((ShortVector) IntVector.broadcast(I8, xi[q + 5]).reinterpretShape(S16, 0)));
            s2 = s2.lanewise(VectorOperators.ADD, w.mul((ShortVector) IntVector.broadcast(I8, xi[q + 2]).reinterpretShape(S16, 0))).add(h.mul((ShortVector) IntVector.broadcast(I8, xi[q + 6]).reinterpretShape(S16, 0)));
            s3 = s3.lanewise(VectorOperators.ADD, w.mul((ShortVector) IntVector.broadcast(I8, xi[q + 3]).reinterpretShape(S16, 0))).add(h.mul((ShortVector) IntVector.broadcast(I8, xi[q + 7]).reinterpretShape(S16, 0)));
            if ((k & 7) == 7) {
                // the four float accumulators live in out: in registers they were spilled every step
                int b = k >> 3, sb = so + 4 * b;
                FloatVector d = FloatVector.fromArray(F8, dw, 8 * b);
                IntVector i = (IntVector) s0.reinterpretShape(I8, 0);
                ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .sub(8 * xs[sb]).convertShape(VectorOperators.I2F, F8, 0)).fma(d.mul(xds[sb]), FloatVector.fromArray(F8, out, o)).intoArray(out, o);
                i = (IntVector) s1.reinterpretShape(I8, 0);
                ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .sub(8 * xs[sb + 1]).convertShape(VectorOperators.I2F, F8, 0)).fma(d.mul(xds[sb + 1]), FloatVector.fromArray(F8, out, o + stride)).intoArray(out, o + stride);
                i = (IntVector) s2.reinterpretShape(I8, 0);
                ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .sub(8 * xs[sb + 2]).convertShape(VectorOperators.I2F, F8, 0)).fma(d.mul(xds[sb + 2]), FloatVector.fromArray(F8, out, o + 2 * stride)).intoArray(out, o + 2 * stride);
                i = (IntVector) s3.reinterpretShape(I8, 0);
                ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .sub(8 * xs[sb + 3]).convertShape(VectorOperators.I2F, F8, 0)).fma(d.mul(xds[sb + 3]), FloatVector.fromArray(F8, out, o + 3 * stride)).intoArray(out, o + 3 * stride);
                s0 = s1 = s2 = s3 = zero;
            }
        }
    }

    /**
     * {@link #dotQ4_0x8x4} for two consecutive groups (group and group + 1, sixteen weight rows) at
     * once: each activation pair is broadcast once for both, which takes a third of the
     * instructions off each multiply-add (a prototype ran 1.48x the one-group kernel). The same
     * operations per (row, activation row), so bit-identical results. The second group's weight
     * scales come in dw2; results for the second group's rows to out[o + 8 + a * stride ..].
     */
    static void dotQ4_0x16x4(MemorySegment p, long group, int blocks, float[] dw, float[] dw2, int[] xi, int xo, int[] xs, float[] xds, int so,
                             float[] out, int o, int stride) {
        ShortVector zero = ShortVector.zero(S16), s0 = zero, s1 = zero, s2 = zero, s3 = zero, t0 = zero, t1 = zero, t2 = zero, t3 = zero;
        FloatVector none = FloatVector.zero(F8);
        for (int a = 0; a < 4; a++) {
            none.intoArray(out, o + a * stride);
            none.intoArray(out, o + 8 + a * stride);
        }
        long q0 = InterleavedQ4_0.quants(group, blocks), q1 = InterleavedQ4_0.quants(group + 1, blocks);
        for (int k = 0, chunks = 8 * blocks; k < chunks; k++) {
            int q = xo + 8 * k;
            ShortVector w = (ShortVector) ByteVector.fromMemorySegment(B16, p, q0 + 16L * k, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
            ShortVector v = (ShortVector) ByteVector.fromMemorySegment(B16, p, q1 + 16L * k, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
            ShortVector h = w.lanewise(VectorOperators.LSHR, 4), n = v.lanewise(VectorOperators.LSHR, 4);
            ShortVector xl, xh;
            xl = (ShortVector) IntVector.broadcast(I8, xi[q + 0]).reinterpretShape(S16, 0);
            xh = (ShortVector) IntVector.broadcast(I8, xi[q + 4]).reinterpretShape(S16, 0);
            s0 = s0.lanewise(VectorOperators.ADD, w.mul(xl)).add(h.mul(xh));
            t0 = t0.lanewise(VectorOperators.ADD, v.mul(xl)).add(n.mul(xh));
            xl = (ShortVector) IntVector.broadcast(I8, xi[q + 1]).reinterpretShape(S16, 0);
            xh = (ShortVector) IntVector.broadcast(I8, xi[q + 5]).reinterpretShape(S16, 0);
            s1 = s1.lanewise(VectorOperators.ADD, w.mul(xl)).add(h.mul(xh));
            t1 = t1.lanewise(VectorOperators.ADD, v.mul(xl)).add(n.mul(xh));
            xl = (ShortVector) IntVector.broadcast(I8, xi[q + 2]).reinterpretShape(S16, 0);
            xh = (ShortVector) IntVector.broadcast(I8, xi[q + 6]).reinterpretShape(S16, 0);
            s2 = s2.lanewise(VectorOperators.ADD, w.mul(xl)).add(h.mul(xh));
            t2 = t2.lanewise(VectorOperators.ADD, v.mul(xl)).add(n.mul(xh));
            xl = (ShortVector) IntVector.broadcast(I8, xi[q + 3]).reinterpretShape(S16, 0);
            xh = (ShortVector) IntVector.broadcast(I8, xi[q + 7]).reinterpretShape(S16, 0);
            s3 = s3.lanewise(VectorOperators.ADD, w.mul(xl)).add(h.mul(xh));
            t3 = t3.lanewise(VectorOperators.ADD, v.mul(xl)).add(n.mul(xh));
            if ((k & 7) == 7) {
                // the eight float accumulators live in out, as in dotQ4_0x8x4
                int b = k >> 3, sb = so + 4 * b;
                FloatVector d = FloatVector.fromArray(F8, dw, 8 * b), e = FloatVector.fromArray(F8, dw2, 8 * b);
                IntVector i;
                i = (IntVector) s0.reinterpretShape(I8, 0);
                ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .sub(8 * xs[sb + 0]).convertShape(VectorOperators.I2F, F8, 0)).fma(d.mul(xds[sb + 0]), FloatVector.fromArray(F8, out, o)).intoArray(out, o);
                i = (IntVector) t0.reinterpretShape(I8, 0);
                ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .sub(8 * xs[sb + 0]).convertShape(VectorOperators.I2F, F8, 0)).fma(e.mul(xds[sb + 0]), FloatVector.fromArray(F8, out, o + 8)).intoArray(out, o + 8);
                i = (IntVector) s1.reinterpretShape(I8, 0);
                ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .sub(8 * xs[sb + 1]).convertShape(VectorOperators.I2F, F8, 0)).fma(d.mul(xds[sb + 1]), FloatVector.fromArray(F8, out, o + stride)).intoArray(out, o + stride);
                i = (IntVector) t1.reinterpretShape(I8, 0);
                ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .sub(8 * xs[sb + 1]).convertShape(VectorOperators.I2F, F8, 0)).fma(e.mul(xds[sb + 1]), FloatVector.fromArray(F8, out, o + 8 + stride)).intoArray(out, o + 8 + stride);
                i = (IntVector) s2.reinterpretShape(I8, 0);
                ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .sub(8 * xs[sb + 2]).convertShape(VectorOperators.I2F, F8, 0)).fma(d.mul(xds[sb + 2]), FloatVector.fromArray(F8, out, o + 2 * stride)).intoArray(out, o + 2 * stride);
                i = (IntVector) t2.reinterpretShape(I8, 0);
                ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .sub(8 * xs[sb + 2]).convertShape(VectorOperators.I2F, F8, 0)).fma(e.mul(xds[sb + 2]), FloatVector.fromArray(F8, out, o + 8 + 2 * stride)).intoArray(out, o + 8 + 2 * stride);
                i = (IntVector) s3.reinterpretShape(I8, 0);
                ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .sub(8 * xs[sb + 3]).convertShape(VectorOperators.I2F, F8, 0)).fma(d.mul(xds[sb + 3]), FloatVector.fromArray(F8, out, o + 3 * stride)).intoArray(out, o + 3 * stride);
                i = (IntVector) t3.reinterpretShape(I8, 0);
                ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .sub(8 * xs[sb + 3]).convertShape(VectorOperators.I2F, F8, 0)).fma(e.mul(xds[sb + 3]), FloatVector.fromArray(F8, out, o + 8 + 3 * stride)).intoArray(out, o + 8 + 3 * stride);
                s0 = s1 = s2 = s3 = t0 = t1 = t2 = t3 = zero;
            }
        }
    }

    /** Added to each 16-bit lane sum of two Q8_0 products (at most 2 * 128 * 127 in size) to make it a non-negative 16-bit number. */
    private static final short Q8_0_BIAS = (short) 0x8000;

    /**
     * Eight Q8_0 rows at once from their {@link InterleavedQ8_0} form (group {@code group}) times one
     * activation row from block {@code xBlock} ({@link QuantizedRows#pairs}): results to out[o .. o + 8].
     * The canonical sequence for each row of a repacked tensor: per block in column order, the exact
     * integer dot product of weight and activation quants, converted to float and fused into the
     * row's accumulator with the scale product dw * dx; the accumulator is the result (each row is
     * one lane, so there is no lane sum). The same for every batch: the batched path calls this per
     * activation row.
     *
     * <p>Two chunks per step: each chunk's 16 bytes widened to 16-bit lanes (row r's values in lanes
     * 2r, 2r + 1), multiplied with the broadcast activation pair, the two chunks' products added in
     * 16-bit lanes (exact: at most 2 * 128 * 127) and biased by 2^15 into unsigned 16-bit numbers.
     * Read as ints, each of the eight lanes then holds hi * 2^16 + lo; the step adds the int to one
     * sum and hi (the int shifted down) to another. At the block's end the lo sum is the first sum
     * less 2^16 times the second (exact modulo 2^32, and it is below 2^32), the row's product is
     * lo + hi less the eight steps' biases: one shift a step where splitting the halves apart took
     * three.
     */
    static void dotQ8_0x8(MemorySegment p, long group, int blocks, int[] xPairs, float[] xd, int xBlock, float[] out, int o) {
        FloatVector acc = FloatVector.zero(F8);
        IntVector zero = IntVector.zero(I8), lo = zero, hi = zero;
        ShortVector bias = ShortVector.broadcast(S16, Q8_0_BIAS);
        long sc = InterleavedQ8_0.scales(group, blocks), q = InterleavedQ8_0.quants(group, blocks);
        int xp = xBlock * 16;
        for (int m = 0, n = 8 * blocks; m < n; m++) {
            ShortVector w = widen(ByteVector.fromMemorySegment(B16, p, q + 32L * m, LE));
            ShortVector v = widen(ByteVector.fromMemorySegment(B16, p, q + 32L * m + 16, LE));
            IntVector i = (IntVector) w.mul((ShortVector) IntVector.broadcast(I8, xPairs[xp + 2 * m]).reinterpretShape(S16, 0))
                    .add(v.mul((ShortVector) IntVector.broadcast(I8, xPairs[xp + 2 * m + 1]).reinterpretShape(S16, 0))).add(bias).reinterpretShape(I8, 0);
            lo = lo.add(i);
            hi = hi.add(i.lanewise(VectorOperators.LSHR, 16));
            if ((m & 7) == 7) {
                int b = m >> 3;
                FloatVector scale = halfToFloat(ShortVector.fromMemorySegment(S8, p, sc + 16L * b, LE)).mul(xd[xBlock + b]);
                acc = q8_0Sums(lo, hi).fma(scale, acc);
                lo = hi = zero;
            }
        }
        acc.intoArray(out, o);
    }

    /** A block's eight row products from the two sums of {@link #dotQ8_0x8}, as floats. */
    private static FloatVector q8_0Sums(IntVector lo, IntVector hi) {
        return (FloatVector) lo.sub(hi.lanewise(VectorOperators.LSHL, 16)).add(hi).sub(8 * 2 * 0x8000).convertShape(VectorOperators.I2F, F8, 0);
    }

    /**
     * {@link #dotQ8_0x8} for two consecutive groups (group and group + 1, sixteen weight rows) and
     * one activation row, each activation pair broadcast once for both; weight scales as floats
     * ({@link #groupScales}: dw for group, dw2 for group + 1). The same operations per row, so
     * bit-identical results; group + 1's rows to out[o + 8 .. o + 16].
     */
    static void dotQ8_0x16(MemorySegment p, long group, int blocks, float[] dw, float[] dw2, int[] xPairs, float[] xd, int xBlock, float[] out, int o) {
        FloatVector acc = FloatVector.zero(F8), acc2 = acc;
        IntVector zero = IntVector.zero(I8), lo = zero, hi = zero, lo2 = zero, hi2 = zero;
        ShortVector bias = ShortVector.broadcast(S16, Q8_0_BIAS);
        long q = InterleavedQ8_0.quants(group, blocks), q2 = InterleavedQ8_0.quants(group + 1, blocks);
        int xp = xBlock * 16;
        for (int m = 0, n = 8 * blocks; m < n; m++) {
            ShortVector x0 = (ShortVector) IntVector.broadcast(I8, xPairs[xp + 2 * m]).reinterpretShape(S16, 0);
            ShortVector x1 = (ShortVector) IntVector.broadcast(I8, xPairs[xp + 2 * m + 1]).reinterpretShape(S16, 0);
            IntVector i = (IntVector) widen(ByteVector.fromMemorySegment(B16, p, q + 32L * m, LE)).mul(x0)
                    .add(widen(ByteVector.fromMemorySegment(B16, p, q + 32L * m + 16, LE)).mul(x1)).add(bias).reinterpretShape(I8, 0);
            IntVector j = (IntVector) widen(ByteVector.fromMemorySegment(B16, p, q2 + 32L * m, LE)).mul(x0)
                    .add(widen(ByteVector.fromMemorySegment(B16, p, q2 + 32L * m + 16, LE)).mul(x1)).add(bias).reinterpretShape(I8, 0);
            lo = lo.add(i);
            hi = hi.add(i.lanewise(VectorOperators.LSHR, 16));
            lo2 = lo2.add(j);
            hi2 = hi2.add(j.lanewise(VectorOperators.LSHR, 16));
            if ((m & 7) == 7) {
                int b = m >> 3;
                float dx = xd[xBlock + b];
                acc = q8_0Sums(lo, hi).fma(FloatVector.fromArray(F8, dw, 8 * b).mul(dx), acc);
                acc2 = q8_0Sums(lo2, hi2).fma(FloatVector.fromArray(F8, dw2, 8 * b).mul(dx), acc2);
                lo = hi = lo2 = hi2 = zero;
            }
        }
        acc.intoArray(out, o);
        acc2.intoArray(out, o + 8);
    }

    /**
     * {@link #dotQ8_0x16} in 512-bit vectors: chunk m's 32 bytes of both groups (pairs 2m and 2m + 1
     * of the eight rows) widened to 32 lanes and multiplied with the two pairs' activations side by
     * side ({@link QuantizedRows#widePairs}, 128 ints a block), two chunks a step: the two products
     * of a 16-bit lane (each at most 128 * 127) sum to at most 32,512, exact in the lane, and each
     * int's two lanes (the same row's) are then added as ints into the row's block sum. At the
     * block's end the two halves are added: the exact integer {@link #dotQ8_0x16} has, so
     * bit-identical results. Two products a lane before widening take about a third fewer
     * operations than a product a lane summed with a bias (this kernel's form until round 33):
     * Q8_0 generation 1.015x to 1.03x (BENCHMARKS.md, round 33).
     */
    static void dotQ8_0x16w(MemorySegment p, long group, int blocks, float[] dw, float[] dw2, int[] widePairs, float[] xd, int xBlock, float[] out, int o) {
        FloatVector acc = FloatVector.zero(F8), acc2 = acc;
        IntVector zero = IntVector.zero(I16), a = zero, c = zero;
        long q = InterleavedQ8_0.quants(group, blocks), q2 = InterleavedQ8_0.quants(group + 1, blocks);
        int xp = xBlock * 128;
        for (int m = 0, n = 8 * blocks; m < n; m += 2) {
            ShortVector x = (ShortVector) IntVector.fromArray(I16, widePairs, xp + 16 * m).reinterpretShape(S32, 0);
            ShortVector y = (ShortVector) IntVector.fromArray(I16, widePairs, xp + 16 * m + 16).reinterpretShape(S32, 0);
            IntVector i = (IntVector) widenWide(ByteVector.fromMemorySegment(B32, p, q + 32L * m, LE)).lanewise(VectorOperators.MUL, x)
                    .lanewise(VectorOperators.ADD, widenWide(ByteVector.fromMemorySegment(B32, p, q + 32L * m + 32, LE)).lanewise(VectorOperators.MUL, y)).reinterpretShape(I16, 0);
            IntVector j = (IntVector) widenWide(ByteVector.fromMemorySegment(B32, p, q2 + 32L * m, LE)).lanewise(VectorOperators.MUL, x)
                    .lanewise(VectorOperators.ADD, widenWide(ByteVector.fromMemorySegment(B32, p, q2 + 32L * m + 32, LE)).lanewise(VectorOperators.MUL, y)).reinterpretShape(I16, 0);
            a = a.lanewise(VectorOperators.ADD, shortPairs(i));
            c = c.lanewise(VectorOperators.ADD, shortPairs(j));
            if ((m & 7) == 6) {
                int b = m >> 3;
                float dx = xd[xBlock + b];
                acc = ((FloatVector) halves(a).convertShape(VectorOperators.I2F, F8, 0)).fma(FloatVector.fromArray(F8, dw, 8 * b).mul(dx), acc);
                acc2 = ((FloatVector) halves(c).convertShape(VectorOperators.I2F, F8, 0)).fma(FloatVector.fromArray(F8, dw2, 8 * b).mul(dx), acc2);
                a = c = zero;
            }
        }
        acc.intoArray(out, o);
        acc2.intoArray(out, o + 8);
    }

    /** 32 signed bytes widened to 16-bit lanes (512 bits). */
    private static ShortVector widenWide(ByteVector b) {
        return (ShortVector) b.convertShape(VectorOperators.B2S, S32, 0);
    }

    /**
     * {@link #dotQ8_0x8} for four activation rows at once, sharing each weight load: the same
     * operations per (row, activation row), so bit-identical results. The four rows' pairs and
     * scales come interleaved ({@link QuantizedRows#pairs4}: pair k of row a at xi[xo + 4k + a], block
     * b's scale at xds[so + 4b + a]); the group's weight scales as floats ({@link #groupScales}).
     * Results for activation row a to out[o + a * stride ..]. A loop over blocks with the block's
     * eight chunks in an inner loop of their own, not one loop over chunks with the block's end
     * under a branch: the kernel 1.05x to 1.08x in a standalone loop on AVX2, Q8_0 prompts 1.08x to
     * 1.15x (BENCHMARKS.md, round 35). C2 compiles the inner loop as one chunk, four unrolled, then
     * a loop over the last three, every chunk still checking both weight loads' bounds; unrolled
     * whole (a higher LoopUnrollLimit) it was no faster (round 44). Not a general rule: the same
     * shape made the Q4_0 and Q4_K kernels slower.
     */
    static void dotQ8_0x8x4(MemorySegment p, long group, int blocks, float[] dw, int[] xi, int xo, float[] xds, int so,
                            float[] out, int o, int stride) {
        IntVector zero = IntVector.zero(I8);
        ShortVector bias = ShortVector.broadcast(S16, Q8_0_BIAS);
        FloatVector none = FloatVector.zero(F8);
        for (int a = 0; a < 4; a++) none.intoArray(out, o + a * stride);
        long q0 = InterleavedQ8_0.quants(group, blocks);
        for (int b = 0; b < blocks; b++) {
            IntVector l0 = zero, l1 = zero, l2 = zero, l3 = zero, h0 = zero, h1 = zero, h2 = zero, h3 = zero;
            for (int k = 0; k < 8; k++) {  // a block's eight chunks: a loop of its own
                int m = 8 * b + k, q = xo + 8 * m;
                ShortVector w = widen(ByteVector.fromMemorySegment(B16, p, q0 + 32L * m, LE));
                ShortVector v = widen(ByteVector.fromMemorySegment(B16, p, q0 + 32L * m + 16, LE));
                IntVector i;
                i = (IntVector) w.mul((ShortVector) IntVector.broadcast(I8, xi[q]).reinterpretShape(S16, 0))
                        .add(v.mul((ShortVector) IntVector.broadcast(I8, xi[q + 4]).reinterpretShape(S16, 0))).add(bias).reinterpretShape(I8, 0);
                l0 = l0.add(i);
                h0 = h0.add(i.lanewise(VectorOperators.LSHR, 16));
                i = (IntVector) w.mul((ShortVector) IntVector.broadcast(I8, xi[q + 1]).reinterpretShape(S16, 0))
                        .add(v.mul((ShortVector) IntVector.broadcast(I8, xi[q + 5]).reinterpretShape(S16, 0))).add(bias).reinterpretShape(I8, 0);
                l1 = l1.add(i);
                h1 = h1.add(i.lanewise(VectorOperators.LSHR, 16));
                i = (IntVector) w.mul((ShortVector) IntVector.broadcast(I8, xi[q + 2]).reinterpretShape(S16, 0))
                        .add(v.mul((ShortVector) IntVector.broadcast(I8, xi[q + 6]).reinterpretShape(S16, 0))).add(bias).reinterpretShape(I8, 0);
                l2 = l2.add(i);
                h2 = h2.add(i.lanewise(VectorOperators.LSHR, 16));
                i = (IntVector) w.mul((ShortVector) IntVector.broadcast(I8, xi[q + 3]).reinterpretShape(S16, 0))
                        .add(v.mul((ShortVector) IntVector.broadcast(I8, xi[q + 7]).reinterpretShape(S16, 0))).add(bias).reinterpretShape(I8, 0);
                l3 = l3.add(i);
                h3 = h3.add(i.lanewise(VectorOperators.LSHR, 16));
            }
            // the four float accumulators live in out, as in dotQ4_0x8x4
            int sb = so + 4 * b;
            FloatVector d = FloatVector.fromArray(F8, dw, 8 * b);
            // q8_0Sums written out: calls to it here went past C2's node budget for inlining
            ((FloatVector) l0.sub(h0.lanewise(VectorOperators.LSHL, 16)).add(h0).sub(8 * 2 * 0x8000).convertShape(VectorOperators.I2F, F8, 0))
                    .fma(d.mul(xds[sb]), FloatVector.fromArray(F8, out, o)).intoArray(out, o);
            ((FloatVector) l1.sub(h1.lanewise(VectorOperators.LSHL, 16)).add(h1).sub(8 * 2 * 0x8000).convertShape(VectorOperators.I2F, F8, 0))
                    .fma(d.mul(xds[sb + 1]), FloatVector.fromArray(F8, out, o + stride)).intoArray(out, o + stride);
            ((FloatVector) l2.sub(h2.lanewise(VectorOperators.LSHL, 16)).add(h2).sub(8 * 2 * 0x8000).convertShape(VectorOperators.I2F, F8, 0))
                    .fma(d.mul(xds[sb + 2]), FloatVector.fromArray(F8, out, o + 2 * stride)).intoArray(out, o + 2 * stride);
            ((FloatVector) l3.sub(h3.lanewise(VectorOperators.LSHL, 16)).add(h3).sub(8 * 2 * 0x8000).convertShape(VectorOperators.I2F, F8, 0))
                    .fma(d.mul(xds[sb + 3]), FloatVector.fromArray(F8, out, o + 3 * stride)).intoArray(out, o + 3 * stride);
        }
    }

    private static final VectorSpecies<Byte> B8 = ByteVector.SPECIES_64;

    /**
     * The scales and mins of {@link InterleavedQ4_K} group g as floats, in one array: sub-block k's 8
     * rows' d * scale at sm[16k ..] and their dmin * min at sm[16k + 8 ..] (the products
     * {@link #unpackQ4_K} makes), converted from the group's headers 8 rows at a time. One array,
     * not two: each array a kernel takes holds a register through its loop, and with one register
     * fewer C2 no longer spilled an accumulator in the two-group kernels (the four-row one about 15%
     * faster).
     */
    static void groupScalesQ4_K(MemorySegment p, long g, int superBlocks, float[] sm) {
        groupScalesQ4_K(p, g, superBlocks, sm, 0);
    }

    /**
     * {@link #groupScalesQ4_K} into sm from index {@code o}. The launcher inlines {@link #scalesQ4_K}
     * here, which makes its stride a constant: C2 then checks sm's bounds once per loop instead of at
     * every store (the conversion 1.17x to 1.21x faster in a standalone loop on AVX2, round 35).
     */
    static void groupScalesQ4_K(MemorySegment p, long g, int superBlocks, float[] sm, int o) {
        scalesQ4_K(p, g, superBlocks, sm, o, 16, 8, false);
    }

    /**
     * Group g's scales and mins as {@link #groupScalesQ4_K} converts them: sub-block k's 8 d * scale
     * at sm[o + stride * k ..], its 8 dmin * min (negated if asked) {@code minsAt} further on.
     */
    private static void scalesQ4_K(MemorySegment p, long g, int superBlocks, float[] sm, int o, int stride, int minsAt, boolean negateMins) {
        for (int sb = 0; sb < superBlocks; sb++) {
            long h = InterleavedQ4_K.header(g, superBlocks, sb);
            FloatVector d = halfToFloat(ShortVector.fromMemorySegment(S8, p, h, LE)), dmin = halfToFloat(ShortVector.fromMemorySegment(S8, p, h + 16, LE));
            if (negateMins) dmin = dmin.neg();
            for (int k = 0; k < 8; k++) {
                long sc = h + 32 + 16 * k;
                int at = o + stride * (8 * sb + k);
                d.mul((FloatVector) ByteVector.fromMemorySegment(B8, p, sc, LE).convertShape(VectorOperators.B2I, I8, 0).convertShape(VectorOperators.I2F, F8, 0))
                        .intoArray(sm, at);
                dmin.mul((FloatVector) ByteVector.fromMemorySegment(B8, p, sc + 8, LE).convertShape(VectorOperators.B2I, I8, 0).convertShape(VectorOperators.I2F, F8, 0))
                        .intoArray(sm, at + minsAt);
            }
        }
    }

    /**
     * Eight Q4_K rows at once from their {@link InterleavedQ4_K} form (group {@code group}) times one
     * activation row from block {@code xBlock}: results to out[o .. o + 8]. The canonical sequence
     * for each row of a repacked Q4_K tensor: per sub-block in column order, the exact integer dot
     * product of the quants (0..15) with the activation quants, converted and fused into the row's
     * accumulator with (d * scale) * dx, then the min term fused in: -(dmin * min) times dx * (the sum
     * of the activation quants). Quants are multiplied unmasked with the activation steps and summed in
     * 16-bit lanes as {@link #dotQ4_0x8} does ({@link QuantizedRows#steps}); the
     * group's scales and mins come as floats ({@link #groupScalesQ4_K}).
     */
    static void dotQ4_Kx8(MemorySegment p, long group, int superBlocks, float[] sm, int[] xSteps, float[] xd, float[] xs,
                          int xBlock, float[] out, int o) {
        FloatVector acc = FloatVector.zero(F8);
        ShortVector zero = ShortVector.zero(S16), s = zero;
        long q0 = InterleavedQ4_K.quants(group, superBlocks, 0);
        int xp = xBlock * 16;
        // one chunk per step, the sub-block's end under a branch (as dotQ4_0x8)
        for (int k = 0, n = 64 * superBlocks; k < n; k++) {
            ShortVector w = (ShortVector) ByteVector.fromMemorySegment(B16, p, q0 + 16L * k, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
            s = s.lanewise(VectorOperators.ADD, w.mul((ShortVector) IntVector.broadcast(I8, xSteps[xp + 2 * k]).reinterpretShape(S16, 0)))
                    .add(w.lanewise(VectorOperators.LSHR, 4).mul((ShortVector) IntVector.broadcast(I8, xSteps[xp + 2 * k + 1]).reinterpretShape(S16, 0)));
            if ((k & 7) == 7) {
                int b = k >> 3;
                IntVector i = (IntVector) s.reinterpretShape(I8, 0);
                IntVector sums = i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                acc = ((FloatVector) sums.convertShape(VectorOperators.I2F, F8, 0)).fma(FloatVector.fromArray(F8, sm, 16 * b).mul(xd[xBlock + b]), acc);
                acc = FloatVector.fromArray(F8, sm, 16 * b + 8).neg().fma(FloatVector.broadcast(F8, xs[xBlock + b]), acc);
                s = zero;
            }
        }
        acc.intoArray(out, o);
    }

    /**
     * {@link #dotQ4_Kx8} for two consecutive groups and one activation row, as {@link #dotQ4_0x16}
     * is for Q4_0: scales and mins of group + 1 in sm2, its rows to out[o + 8 ..].
     */
    static void dotQ4_Kx16(MemorySegment p, long group, int superBlocks, float[] sm, float[] sm2,
                           int[] xSteps, float[] xd, float[] xs, int xBlock, float[] out, int o) {
        FloatVector acc = FloatVector.zero(F8), acc2 = acc;
        ShortVector zero = ShortVector.zero(S16), s = zero, t = zero;
        long q = InterleavedQ4_K.quants(group, superBlocks, 0), q2 = InterleavedQ4_K.quants(group + 1, superBlocks, 0);
        int xp = xBlock * 16;
        for (int k = 0, n = 64 * superBlocks; k < n; k++) {
            ShortVector w = (ShortVector) ByteVector.fromMemorySegment(B16, p, q + 16L * k, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
            ShortVector v = (ShortVector) ByteVector.fromMemorySegment(B16, p, q2 + 16L * k, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
            ShortVector x0 = (ShortVector) IntVector.broadcast(I8, xSteps[xp + 2 * k]).reinterpretShape(S16, 0);
            ShortVector x1 = (ShortVector) IntVector.broadcast(I8, xSteps[xp + 2 * k + 1]).reinterpretShape(S16, 0);
            s = s.lanewise(VectorOperators.ADD, w.mul(x0)).add(w.lanewise(VectorOperators.LSHR, 4).mul(x1));
            t = t.lanewise(VectorOperators.ADD, v.mul(x0)).add(v.lanewise(VectorOperators.LSHR, 4).mul(x1));
            if ((k & 7) == 7) {
                int b = k >> 3;
                float dx = xd[xBlock + b];
                FloatVector sum = FloatVector.broadcast(F8, xs[xBlock + b]);
                IntVector i = (IntVector) s.reinterpretShape(I8, 0);
                IntVector sums = i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                acc = ((FloatVector) sums.convertShape(VectorOperators.I2F, F8, 0)).fma(FloatVector.fromArray(F8, sm, 16 * b).mul(dx), acc);
                acc = FloatVector.fromArray(F8, sm, 16 * b + 8).neg().fma(sum, acc);
                i = (IntVector) t.reinterpretShape(I8, 0);
                sums = i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                acc2 = ((FloatVector) sums.convertShape(VectorOperators.I2F, F8, 0)).fma(FloatVector.fromArray(F8, sm2, 16 * b).mul(dx), acc2);
                acc2 = FloatVector.fromArray(F8, sm2, 16 * b + 8).neg().fma(sum, acc2);
                s = t = zero;
            }
        }
        acc.intoArray(out, o);
        acc2.intoArray(out, o + 8);
    }

    /**
     * {@link #dotQ4_Kx16} in 512-bit vectors, as {@link #dotQ4_0x16w} is {@link #dotQ4_0x16}: each step
     * loads chunks 2m and 2m + 1 of both groups and multiplies them with the two chunks' activation
     * steps side by side ({@link QuantizedRows#wideSteps}); at a sub-block's end each lane's pair of
     * shorts (at most 8 products of 15 * 127 each) is summed in ints and the halves added, giving the
     * exact integer sum that {@link #dotQ4_Kx16} has. From there the same operations, so
     * bit-identical results, on both groups' rows at once: their sums side by side in one 512-bit
     * vector, each sub-block's scales and negated mins read side by side ({@link #pairScalesQ4_K}),
     * one accumulator of 16 rows. Ten fewer vector operations a sub-block than a group at a time:
     * Q4_K generation 1.04x to 1.05x (BENCHMARKS.md, round 33).
     */
    static void dotQ4_Kx16w(MemorySegment p, long group, int superBlocks, float[] smc, int[] wideSteps, float[] xd, float[] xs, int xBlock,
                            float[] out, int o) {
        FloatVector acc = FloatVector.zero(F16);
        ShortVector zero = ShortVector.zero(S32), s = zero, t = zero;
        long q = InterleavedQ4_K.quants(group, superBlocks, 0), q2 = InterleavedQ4_K.quants(group + 1, superBlocks, 0);
        int xp = xBlock * 128;
        for (int m = 0, n = 32 * superBlocks; m < n; m++) {
            ShortVector w = (ShortVector) ByteVector.fromMemorySegment(B32, p, q + 32L * m, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S32, 0);
            ShortVector v = (ShortVector) ByteVector.fromMemorySegment(B32, p, q2 + 32L * m, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S32, 0);
            ShortVector x0 = (ShortVector) IntVector.fromArray(I16, wideSteps, xp + 32 * m).reinterpretShape(S32, 0);
            ShortVector x1 = (ShortVector) IntVector.fromArray(I16, wideSteps, xp + 32 * m + 16).reinterpretShape(S32, 0);
            s = s.lanewise(VectorOperators.ADD, w.mul(x0)).add(w.lanewise(VectorOperators.LSHR, 4).mul(x1));
            t = t.lanewise(VectorOperators.ADD, v.mul(x0)).add(v.lanewise(VectorOperators.LSHR, 4).mul(x1));
            if ((m & 3) == 3) {
                int b = m >> 2;
                float dx = xd[xBlock + b];
                IntVector sums = bothGroups(s, t);
                acc = ((FloatVector) sums.convertShape(VectorOperators.I2F, F16, 0)).lanewise(VectorOperators.FMA,
                        FloatVector.fromArray(F16, smc, 32 * b).lanewise(VectorOperators.MUL, dx), acc);
                acc = FloatVector.fromArray(F16, smc, 32 * b + 16).lanewise(VectorOperators.FMA, FloatVector.broadcast(F16, xs[xBlock + b]), acc);
                s = t = zero;
            }
        }
        acc.intoArray(out, o);
    }

    private static final VectorSpecies<Float> F16 = FloatVector.SPECIES_512;
    /** Indexes for a two-vector selectFrom: lanes 0 to 7 of the first vector then of the second; lanes 8 to 15 of each. */
    private static final IntVector LOW_HALVES = IntVector.fromArray(I16, new int[] {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23}, 0),
            HIGH_HALVES = IntVector.fromArray(I16, new int[] {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31}, 0);

    /** Each int lane's two 16-bit lanes, signed, added (512 bits): exact. */
    private static IntVector shortPairs(IntVector i) {
        return i.lanewise(VectorOperators.ASHR, 16).lanewise(VectorOperators.ADD, i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
    }

    /**
     * The row sums of two groups' 16-bit sums (a 512-bit kernel's s and t: row r of a group in the
     * short pairs of int lanes r and r + 8), group one's 8 rows then group two's, in one vector.
     */
    private static IntVector bothGroups(ShortVector s, ShortVector t) {
        IntVector ps = shortPairs((IntVector) s.reinterpretShape(I16, 0)), pt = shortPairs((IntVector) t.reinterpretShape(I16, 0));
        return LOW_HALVES.selectFrom(ps, pt).lanewise(VectorOperators.ADD, HIGH_HALVES.selectFrom(ps, pt));
    }

    /**
     * {@link #groupScalesQ4_K} for groups g and g + 1 side by side, the mins negated, for
     * {@link #dotQ4_Kx16w}: per sub-block 32 floats, group g's 8 d * scale, group g + 1's, then
     * group g's 8 (-dmin) * min and group g + 1's. A product's sign does not change its rounding,
     * so (-dmin) * min is bit for bit the -(dmin * min) the other kernels negate before their fma.
     */
    static void pairScalesQ4_K(MemorySegment p, long g, int superBlocks, float[] smc) {
        scalesQ4_K(p, g, superBlocks, smc, 0, 32, 16, true);
        scalesQ4_K(p, g + 1, superBlocks, smc, 8, 32, 16, true);
    }

    /**
     * {@link #dotQ4_Kx8} for four activation rows at once, as {@link #dotQ4_0x8x4} is for Q4_0: the
     * four rows' steps, scaled sums and scales interleaved ({@link QuantizedRows#steps4}).
     */
    static void dotQ4_Kx8x4(MemorySegment p, long group, int superBlocks, float[] sm, int[] xi, int xo, float[] xs, float[] xds, int so,
                            float[] out, int o, int stride) {
        FloatVector a0 = FloatVector.zero(F8), a1 = a0, a2 = a0, a3 = a0;
        ShortVector zero = ShortVector.zero(S16), s0 = zero, s1 = zero, s2 = zero, s3 = zero;
        long q0 = InterleavedQ4_K.quants(group, superBlocks, 0);
        for (int k = 0, n = 64 * superBlocks; k < n; k++) {
            int c = k & 7, q = xo + 8 * k;
            ShortVector w = (ShortVector) ByteVector.fromMemorySegment(B16, p, q0 + 16L * k, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
            ShortVector h = w.lanewise(VectorOperators.LSHR, 4);
            s0 = s0.lanewise(VectorOperators.ADD, w.mul((ShortVector) IntVector.broadcast(I8, xi[q]).reinterpretShape(S16, 0))).add(h.mul((ShortVector) IntVector.broadcast(I8, xi[q + 4]).reinterpretShape(S16, 0)));
            s1 = s1.lanewise(VectorOperators.ADD, w.mul((ShortVector) IntVector.broadcast(I8, xi[q + 1]).reinterpretShape(S16, 0))).add(h.mul((ShortVector) IntVector.broadcast(I8, xi[q + 5]).reinterpretShape(S16, 0)));
            s2 = s2.lanewise(VectorOperators.ADD, w.mul((ShortVector) IntVector.broadcast(I8, xi[q + 2]).reinterpretShape(S16, 0))).add(h.mul((ShortVector) IntVector.broadcast(I8, xi[q + 6]).reinterpretShape(S16, 0)));
            s3 = s3.lanewise(VectorOperators.ADD, w.mul((ShortVector) IntVector.broadcast(I8, xi[q + 3]).reinterpretShape(S16, 0))).add(h.mul((ShortVector) IntVector.broadcast(I8, xi[q + 7]).reinterpretShape(S16, 0)));
            if (c == 7) {
                int b = k >> 3, sb = so + 4 * b;
                FloatVector d = FloatVector.fromArray(F8, sm, 16 * b), m = FloatVector.fromArray(F8, sm, 16 * b + 8).neg();
                IntVector i = (IntVector) s0.reinterpretShape(I8, 0);
                a0 = ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convertShape(VectorOperators.I2F, F8, 0)).fma(d.mul(xds[sb]), a0);
                a0 = m.fma(FloatVector.broadcast(F8, xs[sb]), a0);
                i = (IntVector) s1.reinterpretShape(I8, 0);
                a1 = ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convertShape(VectorOperators.I2F, F8, 0)).fma(d.mul(xds[sb + 1]), a1);
                a1 = m.fma(FloatVector.broadcast(F8, xs[sb + 1]), a1);
                i = (IntVector) s2.reinterpretShape(I8, 0);
                a2 = ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convertShape(VectorOperators.I2F, F8, 0)).fma(d.mul(xds[sb + 2]), a2);
                a2 = m.fma(FloatVector.broadcast(F8, xs[sb + 2]), a2);
                i = (IntVector) s3.reinterpretShape(I8, 0);
                a3 = ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convertShape(VectorOperators.I2F, F8, 0)).fma(d.mul(xds[sb + 3]), a3);
                a3 = m.fma(FloatVector.broadcast(F8, xs[sb + 3]), a3);
                s0 = s1 = s2 = s3 = zero;
            }
        }
        a0.intoArray(out, o);
        a1.intoArray(out, o + stride);
        a2.intoArray(out, o + 2 * stride);
        a3.intoArray(out, o + 3 * stride);
    }

    /**
     * {@link #dotQ4_Kx8x4} for two consecutive groups (group and group + 1) at once, as
     * {@link #dotQ4_0x16x4} is for Q4_0: each activation pair or step broadcast once for sixteen rows;
     * the same operations per (row, activation row), so bit-identical results. The second group's
     * scales and mins come in sm2; its results to out[o + 8 + a * stride ..].
     */
    static void dotQ4_Kx16x4(MemorySegment p, long group, int superBlocks, float[] sm, float[] sm2,
                             int[] xi, int xo, float[] xs, float[] xds, int so, float[] out, int o, int stride) {
        ShortVector zero = ShortVector.zero(S16), s0 = zero, s1 = zero, s2 = zero, s3 = zero, t0 = zero, t1 = zero, t2 = zero, t3 = zero;
        FloatVector none = FloatVector.zero(F8);
        for (int a = 0; a < 4; a++) {
            none.intoArray(out, o + a * stride);
            none.intoArray(out, o + 8 + a * stride);
        }
        long q0 = InterleavedQ4_K.quants(group, superBlocks, 0), q1 = InterleavedQ4_K.quants(group + 1, superBlocks, 0);
        for (int k = 0, chunks = 64 * superBlocks; k < chunks; k++) {
            int q = xo + 8 * k;
            ShortVector w = (ShortVector) ByteVector.fromMemorySegment(B16, p, q0 + 16L * k, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
            ShortVector v = (ShortVector) ByteVector.fromMemorySegment(B16, p, q1 + 16L * k, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
            ShortVector h = w.lanewise(VectorOperators.LSHR, 4), n = v.lanewise(VectorOperators.LSHR, 4);
            ShortVector xl, xh;
            xl = (ShortVector) IntVector.broadcast(I8, xi[q + 0]).reinterpretShape(S16, 0);
            xh = (ShortVector) IntVector.broadcast(I8, xi[q + 4]).reinterpretShape(S16, 0);
            s0 = s0.lanewise(VectorOperators.ADD, w.mul(xl)).add(h.mul(xh));
            t0 = t0.lanewise(VectorOperators.ADD, v.mul(xl)).add(n.mul(xh));
            xl = (ShortVector) IntVector.broadcast(I8, xi[q + 1]).reinterpretShape(S16, 0);
            xh = (ShortVector) IntVector.broadcast(I8, xi[q + 5]).reinterpretShape(S16, 0);
            s1 = s1.lanewise(VectorOperators.ADD, w.mul(xl)).add(h.mul(xh));
            t1 = t1.lanewise(VectorOperators.ADD, v.mul(xl)).add(n.mul(xh));
            xl = (ShortVector) IntVector.broadcast(I8, xi[q + 2]).reinterpretShape(S16, 0);
            xh = (ShortVector) IntVector.broadcast(I8, xi[q + 6]).reinterpretShape(S16, 0);
            s2 = s2.lanewise(VectorOperators.ADD, w.mul(xl)).add(h.mul(xh));
            t2 = t2.lanewise(VectorOperators.ADD, v.mul(xl)).add(n.mul(xh));
            xl = (ShortVector) IntVector.broadcast(I8, xi[q + 3]).reinterpretShape(S16, 0);
            xh = (ShortVector) IntVector.broadcast(I8, xi[q + 7]).reinterpretShape(S16, 0);
            s3 = s3.lanewise(VectorOperators.ADD, w.mul(xl)).add(h.mul(xh));
            t3 = t3.lanewise(VectorOperators.ADD, v.mul(xl)).add(n.mul(xh));
            if ((k & 7) == 7) {
                // the eight float accumulators live in out, as in dotQ4_0x16x4
                int b = k >> 3, sb = so + 4 * b;
                FloatVector d = FloatVector.fromArray(F8, sm, 16 * b), e = FloatVector.fromArray(F8, sm2, 16 * b);
                IntVector i;
                i = (IntVector) s0.reinterpretShape(I8, 0);
                FloatVector.fromArray(F8, sm, 16 * b + 8).neg().fma(FloatVector.broadcast(F8, xs[sb]), ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convertShape(VectorOperators.I2F, F8, 0)).fma(d.mul(xds[sb]), FloatVector.fromArray(F8, out, o))).intoArray(out, o);
                i = (IntVector) t0.reinterpretShape(I8, 0);
                FloatVector.fromArray(F8, sm2, 16 * b + 8).neg().fma(FloatVector.broadcast(F8, xs[sb]), ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convertShape(VectorOperators.I2F, F8, 0)).fma(e.mul(xds[sb]), FloatVector.fromArray(F8, out, o + 8))).intoArray(out, o + 8);
                i = (IntVector) s1.reinterpretShape(I8, 0);
                FloatVector.fromArray(F8, sm, 16 * b + 8).neg().fma(FloatVector.broadcast(F8, xs[sb + 1]), ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convertShape(VectorOperators.I2F, F8, 0)).fma(d.mul(xds[sb + 1]), FloatVector.fromArray(F8, out, o + stride))).intoArray(out, o + stride);
                i = (IntVector) t1.reinterpretShape(I8, 0);
                FloatVector.fromArray(F8, sm2, 16 * b + 8).neg().fma(FloatVector.broadcast(F8, xs[sb + 1]), ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convertShape(VectorOperators.I2F, F8, 0)).fma(e.mul(xds[sb + 1]), FloatVector.fromArray(F8, out, o + 8 + stride))).intoArray(out, o + 8 + stride);
                i = (IntVector) s2.reinterpretShape(I8, 0);
                FloatVector.fromArray(F8, sm, 16 * b + 8).neg().fma(FloatVector.broadcast(F8, xs[sb + 2]), ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convertShape(VectorOperators.I2F, F8, 0)).fma(d.mul(xds[sb + 2]), FloatVector.fromArray(F8, out, o + 2 * stride))).intoArray(out, o + 2 * stride);
                i = (IntVector) t2.reinterpretShape(I8, 0);
                FloatVector.fromArray(F8, sm2, 16 * b + 8).neg().fma(FloatVector.broadcast(F8, xs[sb + 2]), ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convertShape(VectorOperators.I2F, F8, 0)).fma(e.mul(xds[sb + 2]), FloatVector.fromArray(F8, out, o + 8 + 2 * stride))).intoArray(out, o + 8 + 2 * stride);
                i = (IntVector) s3.reinterpretShape(I8, 0);
                FloatVector.fromArray(F8, sm, 16 * b + 8).neg().fma(FloatVector.broadcast(F8, xs[sb + 3]), ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convertShape(VectorOperators.I2F, F8, 0)).fma(d.mul(xds[sb + 3]), FloatVector.fromArray(F8, out, o + 3 * stride))).intoArray(out, o + 3 * stride);
                i = (IntVector) t3.reinterpretShape(I8, 0);
                FloatVector.fromArray(F8, sm2, 16 * b + 8).neg().fma(FloatVector.broadcast(F8, xs[sb + 3]), ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convertShape(VectorOperators.I2F, F8, 0)).fma(e.mul(xds[sb + 3]), FloatVector.fromArray(F8, out, o + 8 + 3 * stride))).intoArray(out, o + 8 + 3 * stride);
                s0 = s1 = s2 = s3 = t0 = t1 = t2 = t3 = zero;
            }
        }
    }

    /**
     * The weight scales of an {@link InterleavedQ4_0} or {@link InterleavedQ8_0} group (8 fp16 per
     * block, row order, from byte {@code at}) as floats, to dw[0 ..]. A plain loop: C2 vectorises it
     * into the CPU's own fp16 conversion (F16C), which took a quarter of the time of
     * {@link #halfToFloat}'s nine vector operations per 8 scales, and this conversion is paid once per
     * group and product when decoding (a nested loop over blocks and rows in its place made Q8_0
     * decoding a quarter slower).
     */
    static void groupScales(MemorySegment p, long at, int blocks, float[] dw) {
        for (int i = 0, n = 8 * blocks; i < n; i++)
            dw[i] = Float.float16ToFloat(p.get(Simd.LE_SHORT, at + 2L * i));
    }

    /**
     * 8 fp16 values to floats, exact for every half (zero, subnormals, normals, infinities, NaN):
     * the magnitude's bits moved to a float's exponent and mantissa positions are the value times
     * 2^-112 (subnormals included, as the float is then normal or subnormal alike), so one multiply
     * by 2^112 rescales; infinities and NaN, whose exponent is all ones, are rebuilt directly.
     */
    static FloatVector halfToFloat(ShortVector h) {
        IntVector i = (IntVector) h.convertShape(VectorOperators.S2I, I8, 0);
        IntVector magnitude = i.and(0x7FFF);
        IntVector shifted = magnitude.lanewise(VectorOperators.LSHL, 13);
        IntVector bits = (IntVector) ((FloatVector) shifted.reinterpretShape(F8, 0)).mul(0x1p112f).reinterpretShape(I8, 0);
        bits = bits.blend(shifted.or(0x7F800000), magnitude.compare(VectorOperators.GE, 0x7C00));
        return (FloatVector) bits.or(i.and(0x80000000)).reinterpretShape(F8, 0);
    }

    /**
     * Q4_K weights (value = d * scale * q - dmin * min per 32-value sub-block, q in 0..15): per
     * sub-block (one activation block), in value order, the integer dot product of the nibbles
     * with the activation quants fused into the vector accumulator with (d * scale) * dx; per
     * super-block its 8 min terms (dmin * min) times (dx * sum of the activation quants) fused
     * into a second accumulator, lane by lane; the result is the first lane sum minus the second.
     * The row's scales and mins come unpacked ({@link #widenQ4_KScales}: 8 of each per
     * super-block, from index 0); two sub-blocks per loop step, from the low and high nibbles of
     * one 32-byte load widened to 16-bit lanes; the min terms in a second loop. {@code lanes} is scratch for 16 floats.
     */
    static float dotQ4_K(MemorySegment s, long wBlock, short[] xq, float[] xd, float[] xs, int xBlock, int superBlocks,
                         float[] scales, float[] mins, float[] lanes) {
        FloatVector acc = FloatVector.zero(F8), minAcc = acc;
        // one flat loop over sub-block pairs (2p, 2p + 1): a loop per super-block cost C2's loop
        // set-up and range checks every 8 sub-blocks, nearly half again the products' own time.
        // Sub-blocks 2c and 2c + 1 of a super-block share 32 bytes: low nibbles one, high nibbles the other.
        for (int p = 0, pairs = 4 * superBlocks; p < pairs; p++) {
            int xb = xBlock + 2 * p;
            long q = (wBlock + (p >> 2)) * Q4_K_BYTES + 16 + 32 * (p & 3);
            ShortVector p0 = widen(ByteVector.fromMemorySegment(B16, s, q, LE)), p1 = widen(ByteVector.fromMemorySegment(B16, s, q + 16, LE));
            acc = blockStep(p0.and((short) 0x0F), p1.and((short) 0x0F), xq, xb * BLOCK, scales[2 * p] * xd[xb], acc);
            acc = blockStep(p0.lanewise(VectorOperators.ASHR, 4).and((short) 0x0F), p1.lanewise(VectorOperators.ASHR, 4).and((short) 0x0F),
                    xq, (xb + 1) * BLOCK, scales[2 * p + 1] * xd[xb + 1], acc);
        }
        // each super-block's 8 min terms: (dmin * min) times the 8 activation blocks' dx * sum, lane by lane
        for (int g = 0; g < superBlocks; g++)
            minAcc = FloatVector.fromArray(F8, mins, 8 * g).fma(FloatVector.fromArray(F8, xs, xBlock + 8 * g), minAcc);
        // summed from an array: past C2's inlining budget a call taking a vector would box it
        acc.intoArray(lanes, 0);
        minAcc.intoArray(lanes, 8);
        return sum(lanes, 0) - sum(lanes, 8);
    }

    /**
     * Q5_K weights, one row: {@link #dotQ4_K}'s operations on 5-bit quants (see {@link #widenQ5_K}
     * for the layout), one sub-block per loop step: a step that did a pair, as Q4_K's does, passed
     * C2's inlining budget with the extra operations and boxed its vectors.
     */
    static float dotQ5_K(MemorySegment s, long wBlock, short[] xq, float[] xd, float[] xs, int xBlock, int superBlocks,
                         float[] scales, float[] mins, float[] lanes) {
        FloatVector acc = FloatVector.zero(F8), minAcc = acc;
        for (int k = 0, subBlocks = 8 * superBlocks; k < subBlocks; k++) {
            int xb = xBlock + k, sub = k & 7;
            long b = (wBlock + (k >> 3)) * Q5_K_BYTES, q = b + 48 + 32 * (sub >> 1);
            int nibble = 4 * (sub & 1);
            ShortVector w0 = widen(ByteVector.fromMemorySegment(B16, s, q, LE)).lanewise(VectorOperators.ASHR, nibble).and((short) 0x0F)
                    .or(widen(ByteVector.fromMemorySegment(B16, s, b + 16, LE)).lanewise(VectorOperators.LSHL, 4).lanewise(VectorOperators.ASHR, sub).and((short) 0x10));
            ShortVector w1 = widen(ByteVector.fromMemorySegment(B16, s, q + 16, LE)).lanewise(VectorOperators.ASHR, nibble).and((short) 0x0F)
                    .or(widen(ByteVector.fromMemorySegment(B16, s, b + 32, LE)).lanewise(VectorOperators.LSHL, 4).lanewise(VectorOperators.ASHR, sub).and((short) 0x10));
            acc = blockStep(w0, w1, xq, xb * BLOCK, scales[k] * xd[xb], acc);
        }
        for (int g = 0; g < superBlocks; g++)
            minAcc = FloatVector.fromArray(F8, mins, 8 * g).fma(FloatVector.fromArray(F8, xs, xBlock + 8 * g), minAcc);
        acc.intoArray(lanes, 0);
        minAcc.intoArray(lanes, 8);
        return sum(lanes, 0) - sum(lanes, 8);
    }

    /** {@link #widenQ4_KScales} for Q5_K super-blocks, whose scales and mins are laid out as Q4_K's. */
    static void widenQ5_KScales(MemorySegment s, long block, int superBlocks, float[] scales, int so, float[] mins, int mo) {
        for (int g = 0; g < superBlocks; g++) unpackQ4_K(s, (block + g) * Q5_K_BYTES, scales, so + 8 * g, mins, mo + 8 * g);
    }

    /**
     * {@link #widenQ4_K} for Q5_K: the 5-bit quants in value order. A super-block holds Q4_K's scales,
     * mins and nibbles (the nibbles 32 bytes later) and 32 bytes of fifth bits: bit k of byte l is
     * the fifth bit of value l of sub-block k. The high-bit bytes are widened to 16-bit lanes once
     * and shifted so that each sub-block's bit lands on bit 4.
     */
    static void widenQ5_K(MemorySegment s, long block, int superBlocks, short[] tile, int tOff, float[] scale, float[] mins, int sOff) {
        widenQ5_KScales(s, block, superBlocks, scale, sOff, mins, sOff);
        for (int g = 0; g < superBlocks; g++) {
            long b = (block + g) * Q5_K_BYTES;
            ShortVector hi0 = widen(ByteVector.fromMemorySegment(B16, s, b + 16, LE)).lanewise(VectorOperators.LSHL, 4);
            ShortVector hi1 = widen(ByteVector.fromMemorySegment(B16, s, b + 32, LE)).lanewise(VectorOperators.LSHL, 4);
            for (int c = 0; c < 4; c++) {
                long q = b + 48 + 32 * c;
                int t = tOff + 256 * g + 64 * c;
                ShortVector p0 = widen(ByteVector.fromMemorySegment(B16, s, q, LE)), p1 = widen(ByteVector.fromMemorySegment(B16, s, q + 16, LE));
                ShortVector h0 = hi0.lanewise(VectorOperators.ASHR, 2 * c), h1 = hi1.lanewise(VectorOperators.ASHR, 2 * c);
                p0.and((short) 0x0F).or(h0.and((short) 0x10)).intoArray(tile, t);
                p1.and((short) 0x0F).or(h1.and((short) 0x10)).intoArray(tile, t + 16);
                p0.lanewise(VectorOperators.ASHR, 4).and((short) 0x0F).or(h0.lanewise(VectorOperators.ASHR, 1).and((short) 0x10)).intoArray(tile, t + 32);
                p1.lanewise(VectorOperators.ASHR, 4).and((short) 0x0F).or(h1.lanewise(VectorOperators.ASHR, 1).and((short) 0x10)).intoArray(tile, t + 48);
            }
        }
    }

    /**
     * {@link #unpackQ4_K} for {@code superBlocks} super-blocks from {@code block}, to
     * scales[so + 8g ..] and mins[mo + 8g ..]: called once per row or tile, outside the kernels.
     * (Scalar on purpose: a 128-bit int vector version took a quarter less time here, but its
     * new vector shapes made C2 at times give up on intrinsics in the tile kernels, 3x slower.)
     */
    static void widenQ4_KScales(MemorySegment s, long block, int superBlocks, float[] scales, int so, float[] mins, int mo) {
        for (int g = 0; g < superBlocks; g++) unpackQ4_K(s, (block + g) * Q4_K_BYTES, scales, so + 8 * g, mins, mo + 8 * g);
    }

    /**
     * The 8 sub-block scales times d to scales[so ..] and the 8 mins times dmin to mins[mo ..] of
     * the Q4_K super-block at byte b: the same values as {@link Q4_KTensor#scale} and
     * {@link Q4_KTensor#min} give one by one, times the same floats. The 12 packed bytes are read
     * as three 32-bit words u0, u1, u2: scales 0..3 are the low 6 bits of u0's bytes, mins 0..3 of
     * u1's; scales 4..7 take their low 4 bits from u2's low nibbles and their top 2 from u0's top
     * bits, mins 4..7 from u2's high nibbles and u1's top bits. So four words hold all 16 values,
     * a byte each.
     */
    static void unpackQ4_K(MemorySegment s, long b, float[] scales, int so, float[] mins, int mo) {
        int u0 = s.get(Simd.LE_INT, b + 4), u1 = s.get(Simd.LE_INT, b + 8), u2 = s.get(Simd.LE_INT, b + 12);
        int scLow = u0 & 0x3F3F3F3F, scHigh = (u2 & 0x0F0F0F0F) | ((u0 >>> 6) & 0x03030303) << 4;
        int mnLow = u1 & 0x3F3F3F3F, mnHigh = ((u2 >>> 4) & 0x0F0F0F0F) | ((u1 >>> 6) & 0x03030303) << 4;
        float d = Simd.f16(s, b), dmin = Simd.f16(s, b + 2);
        for (int k = 0; k < 4; k++) {
            scales[so + k] = d * ((scLow >>> 8 * k) & 0xFF);
            scales[so + 4 + k] = d * ((scHigh >>> 8 * k) & 0xFF);
            mins[mo + k] = dmin * ((mnLow >>> 8 * k) & 0xFF);
            mins[mo + 4 + k] = dmin * ((mnHigh >>> 8 * k) & 0xFF);
        }
    }

    /** Group g's d * scale per row and 16-value sub-block, as floats: scales[8 * (16 sb + j) + r] ({@link InterleavedQ6_K}). */
    static void groupScalesQ6_K(MemorySegment p, long g, int superBlocks, float[] scales) {
        groupScalesQ6_K(p, g, superBlocks, scales, 0);
    }

    /** {@link #groupScalesQ6_K} into scales from index {@code o} (its helper inlined, as for {@link #groupScalesQ4_K}). */
    static void groupScalesQ6_K(MemorySegment p, long g, int superBlocks, float[] scales, int o) {
        scalesQ6_K(p, g, superBlocks, scales, o, 8);
    }

    /** Group g's scales as {@link #groupScalesQ6_K} converts them, sub-block j's 8 at scales[o + stride * j ..]. */
    private static void scalesQ6_K(MemorySegment p, long g, int superBlocks, float[] scales, int o, int stride) {
        for (int sb = 0; sb < superBlocks; sb++) {
            long h = InterleavedQ6_K.header(g, superBlocks, sb);
            FloatVector d = halfToFloat(ShortVector.fromMemorySegment(S8, p, h, LE));
            for (int j = 0; j < 16; j++)
                d.mul((FloatVector) ByteVector.fromMemorySegment(B8, p, h + 16 + 8 * j, LE).convertShape(VectorOperators.B2I, I8, 0).convertShape(VectorOperators.I2F, F8, 0))
                        .intoArray(scales, o + stride * (16 * sb + j));
        }
    }

    /**
     * Eight Q6_K rows at once from their {@link InterleavedQ6_K} form (group {@code group}) times one
     * activation row from block {@code xBlock}: results to out[o .. o + 8]. The canonical sequence
     * for each row of an interleaved Q6_K tensor: per 16-value sub-block in column order, the exact
     * integer dot product of q - 32 with the activation quants, converted and fused into the row's
     * accumulator with (d * scale) * dx (dx of the 32-value activation block holding the sub-block);
     * the accumulator is the result. Per chunk the 16 bytes (two values of each row) are widened
     * and multiplied with one broadcast activation pair; the group's d * scale come as floats
     * ({@link #groupScalesQ6_K}).
     */
    static void dotQ6_Kx8(MemorySegment p, long group, int superBlocks, float[] scales, int[] xPairs, float[] xd, int xBlock, float[] out, int o) {
        FloatVector acc = FloatVector.zero(F8);
        ShortVector zero = ShortVector.zero(S16), s = zero;
        long q = InterleavedQ6_K.quants(group, superBlocks);
        int xp = xBlock * 16;
        for (int k = 0, n = 128 * superBlocks; k < n; k++) {
            ShortVector w = (ShortVector) ByteVector.fromMemorySegment(B16, p, q + 16L * k, LE).convertShape(VectorOperators.B2S, S16, 0);
            s = s.lanewise(VectorOperators.ADD, w.mul((ShortVector) IntVector.broadcast(I8, xPairs[xp + k]).reinterpretShape(S16, 0)));
            if ((k & 7) == 7) {
                int j = k >> 3;
                IntVector i = (IntVector) s.reinterpretShape(I8, 0);
                IntVector sums = i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                acc = ((FloatVector) sums.convertShape(VectorOperators.I2F, F8, 0)).fma(FloatVector.fromArray(F8, scales, 8 * j).mul(xd[xBlock + (j >> 1)]), acc);
                s = zero;
            }
        }
        acc.intoArray(out, o);
    }

    /** {@link #dotQ6_Kx8} for groups group and group + 1 (as {@link #dotQ4_0x16}); group + 1's scales in scales2, its rows to out[o + 8 ..]. */
    static void dotQ6_Kx16(MemorySegment p, long group, int superBlocks, float[] scales, float[] scales2, int[] xPairs, float[] xd, int xBlock,
                           float[] out, int o) {
        FloatVector acc = FloatVector.zero(F8), acc2 = acc;
        ShortVector zero = ShortVector.zero(S16), s = zero, t = zero;
        long q = InterleavedQ6_K.quants(group, superBlocks), q2 = InterleavedQ6_K.quants(group + 1, superBlocks);
        int xp = xBlock * 16;
        for (int k = 0, n = 128 * superBlocks; k < n; k++) {
            ShortVector w = (ShortVector) ByteVector.fromMemorySegment(B16, p, q + 16L * k, LE).convertShape(VectorOperators.B2S, S16, 0);
            ShortVector v = (ShortVector) ByteVector.fromMemorySegment(B16, p, q2 + 16L * k, LE).convertShape(VectorOperators.B2S, S16, 0);
            ShortVector x = (ShortVector) IntVector.broadcast(I8, xPairs[xp + k]).reinterpretShape(S16, 0);
            s = s.lanewise(VectorOperators.ADD, w.mul(x));
            t = t.lanewise(VectorOperators.ADD, v.mul(x));
            if ((k & 7) == 7) {
                int j = k >> 3;
                float dx = xd[xBlock + (j >> 1)];
                IntVector i = (IntVector) s.reinterpretShape(I8, 0);
                IntVector sums = i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                acc = ((FloatVector) sums.convertShape(VectorOperators.I2F, F8, 0)).fma(FloatVector.fromArray(F8, scales, 8 * j).mul(dx), acc);
                i = (IntVector) t.reinterpretShape(I8, 0);
                sums = i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
                acc2 = ((FloatVector) sums.convertShape(VectorOperators.I2F, F8, 0)).fma(FloatVector.fromArray(F8, scales2, 8 * j).mul(dx), acc2);
                s = t = zero;
            }
        }
        acc.intoArray(out, o);
        acc2.intoArray(out, o + 8);
    }

    /**
     * {@link #dotQ6_Kx16} in 512-bit vectors, as {@link #dotQ8_0x16w} reads Q8_0: chunks 2m and 2m + 1
     * of both groups widened to 32 lanes, times the two pairs' activations side by side
     * ({@link QuantizedRows#widePairs}); each half's 16-bit sums over a sub-block's four steps are
     * exact (a product a step, 4 * 32 * 127 at most), and the halves' pair sums are added as ints: the exact
     * integers {@link #dotQ6_Kx16} has, so bit-identical results. Both groups' rows are finished at
     * once, as {@link #dotQ4_Kx16w} finishes them: their sums side by side in one 512-bit vector,
     * their scales read side by side ({@link #pairScalesQ6_K}), one accumulator of 16 rows.
     */
    static void dotQ6_Kx16w(MemorySegment p, long group, int superBlocks, float[] pair, int[] widePairs, float[] xd, int xBlock,
                            float[] out, int o) {
        FloatVector acc = FloatVector.zero(F16);
        ShortVector zero = ShortVector.zero(S32), s = zero, t = zero;
        long q = InterleavedQ6_K.quants(group, superBlocks), q2 = InterleavedQ6_K.quants(group + 1, superBlocks);
        int xp = xBlock * 128;
        for (int m = 0, n = 64 * superBlocks; m < n; m++) {
            ShortVector x = (ShortVector) IntVector.fromArray(I16, widePairs, xp + 16 * m).reinterpretShape(S32, 0);
            s = s.lanewise(VectorOperators.ADD, widenWide(ByteVector.fromMemorySegment(B32, p, q + 32L * m, LE)).mul(x));
            t = t.lanewise(VectorOperators.ADD, widenWide(ByteVector.fromMemorySegment(B32, p, q2 + 32L * m, LE)).mul(x));
            if ((m & 3) == 3) {
                int j = m >> 2;
                float dx = xd[xBlock + (j >> 1)];
                IntVector sums = bothGroups(s, t);
                acc = ((FloatVector) sums.convertShape(VectorOperators.I2F, F16, 0)).lanewise(VectorOperators.FMA,
                        FloatVector.fromArray(F16, pair, 16 * j).lanewise(VectorOperators.MUL, dx), acc);
                s = t = zero;
            }
        }
        acc.intoArray(out, o);
    }

    /**
     * {@link #groupScalesQ6_K} for groups g and g + 1 side by side, for {@link #dotQ6_Kx16w}: per
     * sub-block 16 floats, group g's 8 d * scale, then group g + 1's.
     */
    static void pairScalesQ6_K(MemorySegment p, long g, int superBlocks, float[] pair) {
        scalesQ6_K(p, g, superBlocks, pair, 0, 16);
        scalesQ6_K(p, g + 1, superBlocks, pair, 8, 16);
    }

    /**
     * {@link #dotQ6_Kx8} for four activation rows at once (as {@link #dotQ4_0x8x4} is for Q4_0): pair k
     * of row a at xi[xo + 4k + a], block b's scale at xds[so + 4b + a]; results for activation row a
     * to out[o + a * stride ..], the float accumulators kept there.
     */
    static void dotQ6_Kx8x4(MemorySegment p, long group, int superBlocks, float[] scales, int[] xi, int xo, float[] xds, int so,
                            float[] out, int o, int stride) {
        ShortVector zero = ShortVector.zero(S16), s0 = zero, s1 = zero, s2 = zero, s3 = zero;
        FloatVector none = FloatVector.zero(F8);
        for (int a = 0; a < 4; a++) none.intoArray(out, o + a * stride);
        long q0 = InterleavedQ6_K.quants(group, superBlocks);
        for (int k = 0, n = 128 * superBlocks; k < n; k++) {
            int q = xo + 4 * k;
            ShortVector w = (ShortVector) ByteVector.fromMemorySegment(B16, p, q0 + 16L * k, LE).convertShape(VectorOperators.B2S, S16, 0);
            s0 = s0.lanewise(VectorOperators.ADD, w.mul((ShortVector) IntVector.broadcast(I8, xi[q]).reinterpretShape(S16, 0)));
            s1 = s1.lanewise(VectorOperators.ADD, w.mul((ShortVector) IntVector.broadcast(I8, xi[q + 1]).reinterpretShape(S16, 0)));
            s2 = s2.lanewise(VectorOperators.ADD, w.mul((ShortVector) IntVector.broadcast(I8, xi[q + 2]).reinterpretShape(S16, 0)));
            s3 = s3.lanewise(VectorOperators.ADD, w.mul((ShortVector) IntVector.broadcast(I8, xi[q + 3]).reinterpretShape(S16, 0)));
            if ((k & 7) == 7) {
                int j = k >> 3, sb = so + 4 * (j >> 1);
                FloatVector d = FloatVector.fromArray(F8, scales, 8 * j);
                IntVector i;
                i = (IntVector) s0.reinterpretShape(I8, 0);
                ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convertShape(VectorOperators.I2F, F8, 0)).fma(d.mul(xds[sb]), FloatVector.fromArray(F8, out, o)).intoArray(out, o);
                i = (IntVector) s1.reinterpretShape(I8, 0);
                ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convertShape(VectorOperators.I2F, F8, 0)).fma(d.mul(xds[sb + 1]), FloatVector.fromArray(F8, out, o + stride)).intoArray(out, o + stride);
                i = (IntVector) s2.reinterpretShape(I8, 0);
                ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convertShape(VectorOperators.I2F, F8, 0)).fma(d.mul(xds[sb + 2]), FloatVector.fromArray(F8, out, o + 2 * stride)).intoArray(out, o + 2 * stride);
                i = (IntVector) s3.reinterpretShape(I8, 0);
                ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convertShape(VectorOperators.I2F, F8, 0)).fma(d.mul(xds[sb + 3]), FloatVector.fromArray(F8, out, o + 3 * stride)).intoArray(out, o + 3 * stride);
                s0 = s1 = s2 = s3 = zero;
            }
        }
    }

    /**
     * {@link #dotQ6_Kx16w} for two activation rows (row one's spread pairs from widePairs[xo ..], row
     * two's {@code rowInts} later; their block scales from xd[d0 + ..] and {@code blocks} later),
     * sharing each weight load and widening: the same operations per (weight row, activation row), so
     * bit-identical results. Results for activation row a to out[o + a * stride ..]. What a batch of
     * fewer rows than {@link FloatGemm} takes reads Q6_K this way on 512-bit CPUs, two rows at a time
     * (four at once overflowed C2's inlining budget and boxed): steps of 4 to 12 sequences on a
     * Q4_K_M file 1.03x to 1.04x (medians; BENCHMARKS.md, round 33).
     */
    static void dotQ6_Kx16x2w(MemorySegment p, long group, int superBlocks, float[] pair, int[] widePairs, int xo, int rowInts, float[] xd, int d0, int blocks,
                              float[] out, int o, int stride) {
        FloatVector a0 = FloatVector.zero(F16), a1 = a0;
        ShortVector zero = ShortVector.zero(S32), s0 = zero, s1 = zero, t0 = zero, t1 = zero;
        long q = InterleavedQ6_K.quants(group, superBlocks), q2 = InterleavedQ6_K.quants(group + 1, superBlocks);
        for (int m = 0, n = 64 * superBlocks; m < n; m++) {
            ShortVector w = widenWide(ByteVector.fromMemorySegment(B32, p, q + 32L * m, LE));
            ShortVector v = widenWide(ByteVector.fromMemorySegment(B32, p, q2 + 32L * m, LE));
            int xp = xo + 16 * m;
            ShortVector x = (ShortVector) IntVector.fromArray(I16, widePairs, xp).reinterpretShape(S32, 0);
            s0 = s0.lanewise(VectorOperators.ADD, w.lanewise(VectorOperators.MUL, x));
            t0 = t0.lanewise(VectorOperators.ADD, v.lanewise(VectorOperators.MUL, x));
            x = (ShortVector) IntVector.fromArray(I16, widePairs, xp + rowInts).reinterpretShape(S32, 0);
            s1 = s1.lanewise(VectorOperators.ADD, w.lanewise(VectorOperators.MUL, x));
            t1 = t1.lanewise(VectorOperators.ADD, v.lanewise(VectorOperators.MUL, x));
            if ((m & 3) == 3) {
                int j = m >> 2, b = d0 + (j >> 1);
                FloatVector sc = FloatVector.fromArray(F16, pair, 16 * j);
                a0 = ((FloatVector) bothGroups(s0, t0).convertShape(VectorOperators.I2F, F16, 0)).lanewise(VectorOperators.FMA, sc.lanewise(VectorOperators.MUL, xd[b]), a0);
                a1 = ((FloatVector) bothGroups(s1, t1).convertShape(VectorOperators.I2F, F16, 0)).lanewise(VectorOperators.FMA, sc.lanewise(VectorOperators.MUL, xd[b + blocks]), a1);
                s0 = s1 = t0 = t1 = zero;
            }
        }
        a0.intoArray(out, o);
        a1.intoArray(out, o + stride);
    }


    /** {@link #dotQ6_Kx8x4} for groups group and group + 1 (as {@link #dotQ4_0x16x4}); group + 1's rows to out[o + 8 + a * stride ..]. */
    static void dotQ6_Kx16x4(MemorySegment p, long group, int superBlocks, float[] scales, float[] scales2, int[] xi, int xo, float[] xds, int so,
                             float[] out, int o, int stride) {
        ShortVector zero = ShortVector.zero(S16), s0 = zero, s1 = zero, s2 = zero, s3 = zero, t0 = zero, t1 = zero, t2 = zero, t3 = zero;
        FloatVector none = FloatVector.zero(F8);
        for (int a = 0; a < 4; a++) {
            none.intoArray(out, o + a * stride);
            none.intoArray(out, o + 8 + a * stride);
        }
        long q0 = InterleavedQ6_K.quants(group, superBlocks), q1 = InterleavedQ6_K.quants(group + 1, superBlocks);
        // two chunks a step: one chunk's work was too little to carry the loop's own instructions
        for (int k = 1, n = 128 * superBlocks; k < n; k += 2) {
            int q = xo + 4 * k - 4;
            ShortVector w = (ShortVector) ByteVector.fromMemorySegment(B16, p, q0 + 16L * k - 16, LE).convertShape(VectorOperators.B2S, S16, 0);
            ShortVector v = (ShortVector) ByteVector.fromMemorySegment(B16, p, q1 + 16L * k - 16, LE).convertShape(VectorOperators.B2S, S16, 0);
            ShortVector x;
            x = (ShortVector) IntVector.broadcast(I8, xi[q]).reinterpretShape(S16, 0);
            s0 = s0.lanewise(VectorOperators.ADD, w.mul(x));
            t0 = t0.lanewise(VectorOperators.ADD, v.mul(x));
            x = (ShortVector) IntVector.broadcast(I8, xi[q + 1]).reinterpretShape(S16, 0);
            s1 = s1.lanewise(VectorOperators.ADD, w.mul(x));
            t1 = t1.lanewise(VectorOperators.ADD, v.mul(x));
            x = (ShortVector) IntVector.broadcast(I8, xi[q + 2]).reinterpretShape(S16, 0);
            s2 = s2.lanewise(VectorOperators.ADD, w.mul(x));
            t2 = t2.lanewise(VectorOperators.ADD, v.mul(x));
            x = (ShortVector) IntVector.broadcast(I8, xi[q + 3]).reinterpretShape(S16, 0);
            s3 = s3.lanewise(VectorOperators.ADD, w.mul(x));
            t3 = t3.lanewise(VectorOperators.ADD, v.mul(x));
            w = (ShortVector) ByteVector.fromMemorySegment(B16, p, q0 + 16L * k, LE).convertShape(VectorOperators.B2S, S16, 0);
            v = (ShortVector) ByteVector.fromMemorySegment(B16, p, q1 + 16L * k, LE).convertShape(VectorOperators.B2S, S16, 0);
            x = (ShortVector) IntVector.broadcast(I8, xi[q + 4]).reinterpretShape(S16, 0);
            s0 = s0.lanewise(VectorOperators.ADD, w.mul(x));
            t0 = t0.lanewise(VectorOperators.ADD, v.mul(x));
            x = (ShortVector) IntVector.broadcast(I8, xi[q + 5]).reinterpretShape(S16, 0);
            s1 = s1.lanewise(VectorOperators.ADD, w.mul(x));
            t1 = t1.lanewise(VectorOperators.ADD, v.mul(x));
            x = (ShortVector) IntVector.broadcast(I8, xi[q + 6]).reinterpretShape(S16, 0);
            s2 = s2.lanewise(VectorOperators.ADD, w.mul(x));
            t2 = t2.lanewise(VectorOperators.ADD, v.mul(x));
            x = (ShortVector) IntVector.broadcast(I8, xi[q + 7]).reinterpretShape(S16, 0);
            s3 = s3.lanewise(VectorOperators.ADD, w.mul(x));
            t3 = t3.lanewise(VectorOperators.ADD, v.mul(x));
            if ((k & 7) == 7) {
                int j = k >> 3, sb = so + 4 * (j >> 1);
                FloatVector d = FloatVector.fromArray(F8, scales, 8 * j), e = FloatVector.fromArray(F8, scales2, 8 * j);
                IntVector i;
                i = (IntVector) s0.reinterpretShape(I8, 0);
                ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convertShape(VectorOperators.I2F, F8, 0)).fma(d.mul(xds[sb]), FloatVector.fromArray(F8, out, o)).intoArray(out, o);
                i = (IntVector) t0.reinterpretShape(I8, 0);
                ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convertShape(VectorOperators.I2F, F8, 0)).fma(e.mul(xds[sb]), FloatVector.fromArray(F8, out, o + 8)).intoArray(out, o + 8);
                i = (IntVector) s1.reinterpretShape(I8, 0);
                ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convertShape(VectorOperators.I2F, F8, 0)).fma(d.mul(xds[sb + 1]), FloatVector.fromArray(F8, out, o + stride)).intoArray(out, o + stride);
                i = (IntVector) t1.reinterpretShape(I8, 0);
                ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convertShape(VectorOperators.I2F, F8, 0)).fma(e.mul(xds[sb + 1]), FloatVector.fromArray(F8, out, o + 8 + stride)).intoArray(out, o + 8 + stride);
                i = (IntVector) s2.reinterpretShape(I8, 0);
                ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convertShape(VectorOperators.I2F, F8, 0)).fma(d.mul(xds[sb + 2]), FloatVector.fromArray(F8, out, o + 2 * stride)).intoArray(out, o + 2 * stride);
                i = (IntVector) t2.reinterpretShape(I8, 0);
                ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convertShape(VectorOperators.I2F, F8, 0)).fma(e.mul(xds[sb + 2]), FloatVector.fromArray(F8, out, o + 8 + 2 * stride)).intoArray(out, o + 8 + 2 * stride);
                i = (IntVector) s3.reinterpretShape(I8, 0);
                ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convertShape(VectorOperators.I2F, F8, 0)).fma(d.mul(xds[sb + 3]), FloatVector.fromArray(F8, out, o + 3 * stride)).intoArray(out, o + 3 * stride);
                i = (IntVector) t3.reinterpretShape(I8, 0);
                ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .convertShape(VectorOperators.I2F, F8, 0)).fma(e.mul(xds[sb + 3]), FloatVector.fromArray(F8, out, o + 8 + 3 * stride)).intoArray(out, o + 8 + 3 * stride);
                s0 = s1 = s2 = s3 = t0 = t1 = t2 = t3 = zero;
            }
        }
    }

    /**
     * Q6_K weights, from their {@link PackedQuants} form (q - 32 as one signed byte per value, d * scale
     * per 16-value group as a float). Per 32-value activation block the two 16-value halves have
     * their own scales, so each half is a product of its own: (q - 32) * x in 16-bit lanes (at
     * most 32 * 127), adjacent lanes added into 8 int lanes ({@link #smallPairSums}), converted and
     * fused with (d * scale) * dx, first half first. The canonical sequence: activation blocks in
     * order, fused into two rotating accumulators (even blocks into one, odd into the other, so
     * consecutive blocks do not wait on each other's fma); the result is the lane sum of their
     * sum. {@code lanes} is scratch for 8 floats.
     */
    static float dotQ6_K(MemorySegment q8, long wBlock, float[] sc, short[] xq, float[] xd, int xBlock, int blocks, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F8), a1 = a0;
        long b0 = wBlock * BLOCK;
        int s0 = (int) (2 * wBlock);
        for (int k = 0; k < blocks; k++) {
            long b = b0 + (long) k * BLOCK;
            int xo = (xBlock + k) * BLOCK;
            float dx = xd[xBlock + k];
            ShortVector w0 = widen(ByteVector.fromMemorySegment(B16, q8, b, LE)), w1 = widen(ByteVector.fromMemorySegment(B16, q8, b + 16, LE));
            FloatVector t = smallPairSums(w0.mul(ShortVector.fromArray(S16, xq, xo))).fma(FloatVector.broadcast(F8, sc[s0 + 2 * k] * dx), a1);
            t = smallPairSums(w1.mul(ShortVector.fromArray(S16, xq, xo + 16))).fma(FloatVector.broadcast(F8, sc[s0 + 2 * k + 1] * dx), t);
            a1 = a0;
            a0 = t;
        }
        a0.add(a1).intoArray(lanes, 0);
        return sum(lanes, 0);
    }

    /** Widens {@code blocks} 32-value blocks of packed Q6_K quants from block {@code block} to tile[tOff ..] (32 shorts each). */
    static void widenQ6_K(MemorySegment q8, long block, int blocks, short[] tile, int tOff) {
        for (int g = 0; g < blocks; g++, tOff += BLOCK) {
            long b = (block + g) * BLOCK;
            widen(ByteVector.fromMemorySegment(B16, q8, b, LE)).intoArray(tile, tOff);
            widen(ByteVector.fromMemorySegment(B16, q8, b + 16, LE)).intoArray(tile, tOff + 16);
        }
    }

    /** One widened Q6_K row (tile[wo ..], group scales sc[so ..]) times one activation row from block xBlock: {@link #dotQ6_K}'s operations. */
    static float tileDotQ6_K(short[] tile, int wo, float[] sc, int so, short[] xq, float[] xd, int xBlock, int blocks) {
        FloatVector a0 = FloatVector.zero(F8), a1 = a0;
        for (int k = 0; k < blocks; k++) {
            int o = wo + k * BLOCK, xo = (xBlock + k) * BLOCK;
            float dx = xd[xBlock + k];
            FloatVector t = smallPairSums(ShortVector.fromArray(S16, tile, o).mul(ShortVector.fromArray(S16, xq, xo))).fma(FloatVector.broadcast(F8, sc[so + 2 * k] * dx), a1);
            t = smallPairSums(ShortVector.fromArray(S16, tile, o + 16).mul(ShortVector.fromArray(S16, xq, xo + 16))).fma(FloatVector.broadcast(F8, sc[so + 2 * k + 1] * dx), t);
            a1 = a0;
            a0 = t;
        }
        return sum(a0.add(a1));
    }

    /**
     * Two widened Q6_K rows (wo and wo + cols; scales so and so + cols / 16, consecutive rows) times one activation
     * row: two pairs, each with {@link #tileDotQ6_K}'s operations, sharing the activation loads.
     * Results to out[o], out[o + 1]; {@code lanes} is scratch for 16 floats (see {@link #tileDot2x2}).
     */
    static void tileDotQ6_Kx2(short[] tile, int wo, int cols, float[] sc, int so, short[] xq, float[] xd, int xBlock, int blocks,
                              float[] out, int o, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F8), a1 = a0, b0 = a0, b1 = a0;
        int w1 = wo + cols, s1 = so + cols / 16;
        for (int k = 0; k < blocks; k++) {
            int t = k * BLOCK, xo = (xBlock + k) * BLOCK, g = 2 * k;
            float dx = xd[xBlock + k];
            ShortVector x0 = ShortVector.fromArray(S16, xq, xo), x1 = ShortVector.fromArray(S16, xq, xo + 16);
            FloatVector ta = smallPairSums(ShortVector.fromArray(S16, tile, wo + t).mul(x0)).fma(FloatVector.broadcast(F8, sc[so + g] * dx), a1);
            ta = smallPairSums(ShortVector.fromArray(S16, tile, wo + t + 16).mul(x1)).fma(FloatVector.broadcast(F8, sc[so + g + 1] * dx), ta);
            FloatVector tb = smallPairSums(ShortVector.fromArray(S16, tile, w1 + t).mul(x0)).fma(FloatVector.broadcast(F8, sc[s1 + g] * dx), b1);
            tb = smallPairSums(ShortVector.fromArray(S16, tile, w1 + t + 16).mul(x1)).fma(FloatVector.broadcast(F8, sc[s1 + g + 1] * dx), tb);
            a1 = a0;
            a0 = ta;
            b1 = b0;
            b0 = tb;
        }
        a0.add(a1).intoArray(lanes, 0);
        b0.add(b1).intoArray(lanes, 8);
        out[o] = sum(lanes, 0);
        out[o + 1] = sum(lanes, 8);
    }

    /** One block of the canonical sequence: acc + float(pairwise sums of w0*x0 + w1*x1) * scale. */
    private static FloatVector blockStep(ShortVector w0, ShortVector w1, short[] xq, int xo, float scale, FloatVector acc) {
        ShortVector p = w0.mul(ShortVector.fromArray(S16, xq, xo)).add(w1.mul(ShortVector.fromArray(S16, xq, xo + 16)));
        return pairSums(p).fma(FloatVector.broadcast(F8, scale), acc);
    }

    /** Adjacent 16-bit lanes added into 8 int lanes (what vpmaddwd would do), as floats. */
    private static FloatVector pairSums(ShortVector p) {
        IntVector i = (IntVector) p.reinterpretShape(I8, 0);
        IntVector s = i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
        return (FloatVector) s.convertShape(VectorOperators.I2F, F8, 0);
    }

    /**
     * {@link #pairSums} for lanes whose adjacent pairs add up to less than 2^15 in magnitude (Q6_K's
     * products, |q - 32| * 127 at most): the int lane holds hi * 2^16 + lo (lo unsigned), so adding the lane shifted left by
     * 16 puts hi + lo in the top half, exactly, and the arithmetic shift brings it down.
     */
    private static FloatVector smallPairSums(ShortVector p) {
        IntVector i = (IntVector) p.reinterpretShape(I8, 0);
        return (FloatVector) i.add(i.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16).convertShape(VectorOperators.I2F, F8, 0);
    }

    private static ShortVector widen(ByteVector b) {
        return (ShortVector) b.convertShape(VectorOperators.B2S, S16, 0);
    }

    /** Q4_0 quants minus 8 from the low nibbles of 16 bytes widened to 16-bit lanes (one widening serves both nibbles; 16-bit shifts are native on AVX2). */
    private static ShortVector lowNibbles(ShortVector packed) {
        return packed.and((short) 0x0F).sub((short) 8);
    }

    private static ShortVector highNibbles(ShortVector packed) {
        return packed.lanewise(VectorOperators.ASHR, 4).and((short) 0x0F).sub((short) 8);
    }

    /** The 8 lanes added one after another from lane 0 (a fixed order; see {@link Simd#sum}). */
    static float sum(FloatVector v) {
        float s = v.lane(0);
        for (int i = 1; i < 8; i++) s += v.lane(i);
        return s;
    }

    // ---- tiles: weight rows widened once, multiplied with many activation rows -------------

    /** Widens {@code blocks} Q8_0 blocks from block {@code block} to tile[tOff ..] (32 shorts each) and their scales to d[dOff ..]. */
    static void widenQ8_0(MemorySegment s, long block, int blocks, short[] tile, int tOff, float[] d, int dOff) {
        for (int g = 0; g < blocks; g++, tOff += BLOCK) {
            long b = (block + g) * Q8_0_BYTES;
            d[dOff + g] = Simd.f16(s, b);
            widen(ByteVector.fromMemorySegment(B16, s, b + 2, LE)).intoArray(tile, tOff);
            widen(ByteVector.fromMemorySegment(B16, s, b + 18, LE)).intoArray(tile, tOff + 16);
        }
    }

    static void widenQ4_0(MemorySegment s, long block, int blocks, short[] tile, int tOff, float[] d, int dOff) {
        for (int g = 0; g < blocks; g++, tOff += BLOCK) {
            long b = (block + g) * Q4_0_BYTES;
            d[dOff + g] = Simd.f16(s, b);
            ShortVector packed = widen(ByteVector.fromMemorySegment(B16, s, b + 2, LE));
            lowNibbles(packed).intoArray(tile, tOff);
            highNibbles(packed).intoArray(tile, tOff + 16);
        }
    }

    /**
     * Widens {@code superBlocks} Q4_K super-blocks from {@code block} to tile[tOff ..] (256 shorts
     * each, the nibbles in value order) and each sub-block's d * scale and dmin * min to
     * scale[sOff ..] and mins[sOff ..] (8 per super-block).
     */
    static void widenQ4_K(MemorySegment s, long block, int superBlocks, short[] tile, int tOff, float[] scale, float[] mins, int sOff) {
        widenQ4_KScales(s, block, superBlocks, scale, sOff, mins, sOff);
        for (int g = 0; g < superBlocks; g++) {
            long b = (block + g) * Q4_K_BYTES;
            for (int c = 0; c < 4; c++) {
                long q = b + 16 + 32 * c;
                int t = tOff + 256 * g + 64 * c;
                ShortVector p0 = widen(ByteVector.fromMemorySegment(B16, s, q, LE)), p1 = widen(ByteVector.fromMemorySegment(B16, s, q + 16, LE));
                p0.and((short) 0x0F).intoArray(tile, t);
                p1.and((short) 0x0F).intoArray(tile, t + 16);
                p0.lanewise(VectorOperators.ASHR, 4).and((short) 0x0F).intoArray(tile, t + 32);
                p1.lanewise(VectorOperators.ASHR, 4).and((short) 0x0F).intoArray(tile, t + 48);
            }
        }
    }

    /** One widened weight row (tile[wo ..], scales dw[dwo ..]) times one activation row (block xBlock on). */
    static float tileDot(short[] tile, int wo, float[] dw, int dwo, short[] xq, float[] xd, int xBlock, int blocks) {
        FloatVector acc = FloatVector.zero(F8);
        for (int g = 0; g < blocks; g++) {
            int o = wo + g * BLOCK;
            ShortVector w0 = ShortVector.fromArray(S16, tile, o), w1 = ShortVector.fromArray(S16, tile, o + 16);
            acc = blockStep(w0, w1, xq, (xBlock + g) * BLOCK, dw[dwo + g] * xd[xBlock + g], acc);
        }
        return sum(acc);
    }

    /**
     * Two widened weight rows (wo, wo + cols; scales dwo, dwo + blocks) times two activation rows
     * (blocks x0, x1 on): four pairs, each with the operations of {@link #tileDot}, so each weight
     * and activation vector loaded serves two pairs. Results to out[o0], out[o0 + 1] (activation
     * row x0) and out[o1], out[o1 + 1] (row x1). {@code lanes} is scratch for 32 floats: the
     * accumulators are stored there and summed as plain floats, because by the end of this body C2
     * has spent its inlining budget and a call taking a vector would box it.
     */
    static void tileDot2x2(short[] tile, int wo, int cols, float[] dw, int dwo, int blocks,
                           short[] xq, float[] xd, int x0, int x1, float[] out, int o0, int o1, float[] lanes) {
        FloatVector zero = FloatVector.zero(F8), a00 = zero, a01 = zero, a10 = zero, a11 = zero;
        int w1o = wo + cols, dw1 = dwo + blocks;
        for (int g = 0; g < blocks; g++) {
            int o = g * BLOCK, xo0 = (x0 + g) * BLOCK, xo1 = (x1 + g) * BLOCK;
            ShortVector u0 = ShortVector.fromArray(S16, tile, wo + o), u1 = ShortVector.fromArray(S16, tile, wo + o + 16);
            ShortVector v0 = ShortVector.fromArray(S16, tile, w1o + o), v1 = ShortVector.fromArray(S16, tile, w1o + o + 16);
            ShortVector p0 = ShortVector.fromArray(S16, xq, xo0), p1 = ShortVector.fromArray(S16, xq, xo0 + 16);
            ShortVector q0 = ShortVector.fromArray(S16, xq, xo1), q1 = ShortVector.fromArray(S16, xq, xo1 + 16);
            float du = dw[dwo + g], dv = dw[dw1 + g], dp = xd[x0 + g], dq = xd[x1 + g];
            a00 = pairSums(u0.mul(p0).add(u1.mul(p1))).fma(FloatVector.broadcast(F8, du * dp), a00);
            a10 = pairSums(v0.mul(p0).add(v1.mul(p1))).fma(FloatVector.broadcast(F8, dv * dp), a10);
            a01 = pairSums(u0.mul(q0).add(u1.mul(q1))).fma(FloatVector.broadcast(F8, du * dq), a01);
            a11 = pairSums(v0.mul(q0).add(v1.mul(q1))).fma(FloatVector.broadcast(F8, dv * dq), a11);
        }
        a00.intoArray(lanes, 0);
        a10.intoArray(lanes, 8);
        a01.intoArray(lanes, 16);
        a11.intoArray(lanes, 24);
        out[o0] = sum(lanes, 0);
        out[o0 + 1] = sum(lanes, 8);
        out[o1] = sum(lanes, 16);
        out[o1 + 1] = sum(lanes, 24);
    }

    /** {@link #sum(FloatVector)} of 8 lanes stored at lanes[off ..]: the same additions in the same order. */
    static float sum(float[] lanes, int off) {
        float s = lanes[off];
        for (int i = 1; i < 8; i++) s += lanes[off + i];
        return s;
    }

    // ---- scalar reference ------------------------------------------------------------------

    /**
     * The same product without vectors: per block the exact integer dot product, times the scale
     * product, added in block order. Equal to the vector kernels up to float rounding (they keep
     * 8 partial sums); tests compare the two.
     */
    static float dotReference(FloatTensor w, long wBlock, QuantizedRows x, int row, int blocks) {
        MemorySegment s = w.segment();
        float sum = 0f;
        for (int g = 0; g < blocks; g++) {
            int isum = 0, xo = row * x.cols + g * BLOCK, xb = row * x.blocks + g;
            if (w instanceof Q6_KTensor) {
                long blk = wBlock + g, b = blk / 8 * Q6_K_BYTES;
                int first = (int) (blk % 8) * BLOCK;
                for (int half = 0; half < 2; half++) {
                    int hsum = 0;
                    for (int j = 0; j < 16; j++)
                        hsum += (Q6_KTensor.quant(s, b, first + 16 * half + j) - 32) * x.q[xo + 16 * half + j];
                    sum += hsum * (Simd.f16(s, b + 208) * Q6_KTensor.scale(s, b, first + 16 * half) * x.d[xb]);
                }
                continue;
            }
            if (w instanceof Q4_KTensor) {
                long blk = wBlock + g, b = blk / 8 * Q4_K_BYTES;
                int sub = (int) (blk % 8);
                for (int j = 0; j < BLOCK; j++) {
                    int packed = s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, b + 16 + 32 * (sub >> 1) + j) & 0xFF;
                    isum += ((sub & 1) == 0 ? packed & 0xF : packed >>> 4) * x.q[xo + j];
                }
                sum += isum * (Simd.f16(s, b) * Q4_KTensor.scale(s, b + 4, sub) * x.d[xb])
                        - Simd.f16(s, b + 2) * Q4_KTensor.min(s, b + 4, sub) * x.scaledSums[xb];
                continue;
            }
            boolean q8 = w instanceof Q8_0Tensor;
            long b = (wBlock + g) * (q8 ? Q8_0_BYTES : Q4_0_BYTES);
            for (int j = 0; j < BLOCK; j++) {
                int wq = q8 ? s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, b + 2 + j)
                        : ((s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, b + 2 + (j & 15)) >> (j < 16 ? 0 : 4)) & 0xF) - 8;
                isum += wq * x.q[xo + j];
            }
            sum += isum * (Simd.f16(s, b) * x.d[xb]);
        }
        return sum;
    }
}
