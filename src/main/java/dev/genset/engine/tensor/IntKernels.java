package dev.genset.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

import static dev.genset.engine.tensor.Simd.LE;

/**
 * Products of Q8_0, Q4_0 and Q4_K weights with {@link QuantizedRows} activations in integer arithmetic,
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
 * same everywhere.
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

    static final int BLOCK = 32, Q8_0_BYTES = 34, Q4_0_BYTES = 18, Q4_K_BYTES = 144;

    /** Whether products of this type go through these kernels (on the vector path). */
    static boolean handles(FloatTensor w) {
        return Simd.ENABLED && (w instanceof Q8_0Tensor || w instanceof Q4_0Tensor || w instanceof Q4_KTensor);
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
     * Q4_K weights (value = d * scale * q - dmin * min per 32-value sub-block, q in 0..15): per
     * sub-block (one activation block), in value order, the integer dot product of the nibbles
     * with the activation quants fused into the vector accumulator with (d * scale) * dx; per
     * super-block its 8 min terms (dmin * min) times (dx * sum of the activation quants) fused
     * into a second accumulator, lane by lane; the result is the first lane sum minus the second.
     * Each super-block's 8 scales and mins are unpacked first
     * (to {@code scratch}, 16 floats); then one sub-block per loop step, its nibbles taken from
     * 16-bit lanes with a shift by 0 or 4 (a register count, native on AVX2).
     */
    static float dotQ4_K(MemorySegment s, long wBlock, short[] xq, float[] xd, float[] xs, int xBlock, int superBlocks, float[] scratch) {
        FloatVector acc = FloatVector.zero(F8), mins = acc;
        for (int g = 0; g < superBlocks; g++) {
            long b = (wBlock + g) * Q4_K_BYTES;
            float d = Simd.f16(s, b), dmin = Simd.f16(s, b + 2);
            for (int sub = 0; sub < 8; sub++) {
                scratch[sub] = d * Q4_KTensor.scale(s, b + 4, sub);
                scratch[8 + sub] = dmin * Q4_KTensor.min(s, b + 4, sub);
            }
            for (int sub = 0; sub < 8; sub++) {
                int xb = xBlock + 8 * g + sub, shift = 4 * (sub & 1);
                long q = b + 16 + 32 * (sub >> 1);
                ShortVector w0 = widen(ByteVector.fromMemorySegment(B16, s, q, LE)).lanewise(VectorOperators.ASHR, shift).and((short) 0x0F);
                ShortVector w1 = widen(ByteVector.fromMemorySegment(B16, s, q + 16, LE)).lanewise(VectorOperators.ASHR, shift).and((short) 0x0F);
                acc = blockStep(w0, w1, xq, xb * BLOCK, scratch[sub] * xd[xb], acc);
            }
            // the super-block's 8 min terms: (dmin * min) times the 8 activation blocks' dx * sum, lane by lane
            mins = FloatVector.fromArray(F8, scratch, 8).fma(FloatVector.fromArray(F8, xs, xBlock + 8 * g), mins);
        }
        // summed from an array: past C2's inlining budget a call taking a vector would box it
        acc.intoArray(scratch, 0);
        mins.intoArray(scratch, 8);
        return sum(scratch, 0) - sum(scratch, 8);
    }

    /** One block of the canonical sequence: acc + float(pairwise sums of w0*x0 + w1*x1) * scale. */
    private static FloatVector blockStep(ShortVector w0, ShortVector w1, short[] xq, int xo, float scale, FloatVector acc) {
        ShortVector p = w0.mul(ShortVector.fromArray(S16, xq, xo)).add(w1.mul(ShortVector.fromArray(S16, xq, xo + 16)));
        return pairSums(p).fma(FloatVector.broadcast(F8, scale), acc);
    }

    /** Adjacent 16-bit lanes added into 8 int lanes (what vpmaddwd would do), as floats. */
    private static FloatVector pairSums(ShortVector p) {
        IntVector i = (IntVector) p.reinterpretAsInts();
        IntVector s = i.lanewise(VectorOperators.ASHR, 16).add(i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
        return (FloatVector) s.convert(VectorOperators.I2F, 0);
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
        for (int j = 0, subs = 8 * superBlocks; j < subs; j++) {
            long b = (block + (j >> 3)) * Q4_K_BYTES;
            int sub = j & 7, shift = 4 * (sub & 1);
            long q = b + 16 + 32 * (sub >> 1);
            scale[sOff + j] = Simd.f16(s, b) * Q4_KTensor.scale(s, b + 4, sub);
            mins[sOff + j] = Simd.f16(s, b + 2) * Q4_KTensor.min(s, b + 4, sub);
            widen(ByteVector.fromMemorySegment(B16, s, q, LE)).lanewise(VectorOperators.ASHR, shift).and((short) 0x0F).intoArray(tile, tOff + 32 * j);
            widen(ByteVector.fromMemorySegment(B16, s, q + 16, LE)).lanewise(VectorOperators.ASHR, shift).and((short) 0x0F).intoArray(tile, tOff + 32 * j + 16);
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
