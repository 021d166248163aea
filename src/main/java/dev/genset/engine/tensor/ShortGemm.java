package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static dev.genset.engine.tensor.Simd.LE;

/**
 * Batched products of interleaved Q4_0 and Q4_K weights ({@link InterleavedQ4_0},
 * {@link InterleavedQ4_K}) with quantized activations, each block's products summed in 16-bit
 * integer lanes: the same results, bit for bit, as the integer kernels ({@link IntKernels#dotQ4_0x8},
 * {@link IntKernels#dotQ4_Kx8}) and {@link FloatGemm}, about 1.45 times as many products a second
 * as {@link FloatGemm}'s float tile on a CPU with 512-bit vectors.
 *
 * <p>Why it is exact: a Q4_0 weight value q - 8 is in [-8, 7] and an activation quant in
 * [-127, 127], so a product is at most 1,016 in size and a block's 32 of them sum to at most
 * 32,512: the block's integer dot product fits a short. The panel holds the stored quants q (0 to
 * 15), which need two fewer operations to unpack, and the lanes sum q * x, wrapping around 2^16;
 * subtracting 8 times the block's sum of activation quants, wrapping too, leaves the sum of
 * (q - 8) * x modulo 2^16, which, being a short, is that sum exactly. Each block's short sums are
 * widened to ints, converted to floats (exact), and fused into the row's accumulator with the
 * scale product dw * dx, the integer kernels' own step for the block.
 *
 * <p>Why it is fast: a 16-bit multiply and add do 32 products in two instructions on 512-bit
 * vectors, where a float fma does 16 in one; on an AMD Zen 5 core a tile of 16-bit products ran at
 * 180 against the float tile's 125 GMAC/s on one thread (standalone copies). The weights are
 * widened once per panel of {@link #PANEL} rows and {@link #KC} columns (bytes to shorts is also
 * cheaper than to floats, and half the size), then each tile of four activation rows multiplies
 * them: per column, two weight vectors of 32 rows, four broadcast activation quants, eight short
 * accumulators. Q4_0 and Q4_K gain; Q8_0's products (up to 16,129 each) do not fit a block in 16
 * bits, and Q6_K's 16-value sub-blocks (up to 65,024) neither.
 */
final class ShortGemm {
    private ShortGemm() {}

    private static final int BITS = ShortVector.SPECIES_PREFERRED.vectorBitSize() >= 512 ? 512 : 256;
    private static final VectorSpecies<Short> S = BITS == 512 ? ShortVector.SPECIES_512 : ShortVector.SPECIES_256;
    /**
     * Half a short vector widened: ints and floats of the short vector's size.
     *
     * <p>The tiles name every vector operation's species or dispatch it where they call it: a
     * conversion names F (convertShape, not convert), an upper half is first moved down
     * ({@link #UPPER_HALF}, not a conversion of part 1), and add, mul, sub and fma are written
     * {@code lanewise(ADD, ...)} and so on. The shorter forms dispatch inside the JDK, at calls
     * whose receiver types the JIT records once for all of a process's callers, and where a
     * block's sums or a conversion's result had no exact type yet when C2 parsed the tile (values
     * carried around a loop, results of calls inlined late), it took the types recorded there:
     * with 256-bit callers recorded as well, it inlined both shapes, or could not resolve the
     * species, and the tile's vectors were boxed: Q4_K and Q4_0 prompts ran at 53 to 151 tok/s
     * instead of 200 to 270 in some processes (with the JIT's logging on, 6 of 8; since, 1 of 12,
     * at 150 to 174; BENCHMARKS.md, round 29).
     */
    private static final VectorSpecies<Integer> I = BITS == 512 ? IntVector.SPECIES_512 : IntVector.SPECIES_256;
    private static final VectorSpecies<Float> F = BITS == 512 ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
    /** The short vector's upper half moved to its lower half, which a conversion of part 0 then widens. */
    private static final VectorShuffle<Short> UPPER_HALF = VectorShuffle.fromOp(S, i -> (i + S.length() / 2) % S.length());
    private static final VectorSpecies<Short> S8 = ShortVector.SPECIES_128;
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    /** Short lanes per vector, float lanes per vector. */
    private static final int SL = S.length(), L = F.length();

    /** Weight rows per panel: two short vectors' lanes, a row a lane. */
    static final int PANEL = 2 * SL;
    /** Interleaved groups of 8 rows per panel. */
    static final int GROUPS = PANEL / 8;
    /** Activation rows per tile. */
    static final int TILE = 4;
    /** Columns widened at a time: a panel's shorts then take 128 KiB (512-bit vectors). */
    static final int KC = 1024;

    /**
     * Whether batched Q4_0 and Q4_K products take this path rather than {@link FloatGemm} (at
     * {@link #MIN_BATCH} and {@link #MIN_BATCH_K} rows or more): by default where the CPU has 512-bit vectors and the vector
     * paths are on; {@code genset.shortGemm=true} or {@code false} overrides. Not final, so tests can
     * run it on any CPU.
     */
    static boolean enabled = Boolean.parseBoolean(System.getProperty("genset.shortGemm",
            String.valueOf(Simd.ENABLED && ShortVector.SPECIES_PREFERRED.vectorBitSize() >= 512)));

    /**
     * Batches below these many rows go to the integer kernels, whose runs of four rows read the
     * weights once per four. Where the two crossed in a 32768 x 2048 product (from memory) on one
     * thread: Q4_0 between 5 rows (7.9 against 8.4 ms) and 6 (9.1 against 8.0), Q4_K between 4
     * (5.5 against 6.0) and 5 (9.2 against 7.9).
     */
    static final int MIN_BATCH = 6, MIN_BATCH_K = 5;

    /** Whether a product of this many activation rows with interleaved weights of this type goes here. */
    static boolean takes(int batch, GgmlType type) {
        return enabled && switch (type) {
            case Q4_0 -> batch >= MIN_BATCH;
            case Q4_K -> batch >= MIN_BATCH_K;
            default -> false;
        };
    }

    /** Panels of a matrix of {@code rows} rows (a multiple of 8): the units of work of {@link #q4_0} and {@link #q4_K}. */
    static int panels(int rows) {
        return (rows / 8 + GROUPS - 1) / GROUPS;
    }

    /** Per-thread scratch: the panel's shorts, its scales, every activation row's accumulators, the tile's offsets. */
    private static final class Scratch {
        final short[] panel = new short[KC * PANEL];
        /** Per block and row: the weights' scales (Q4_K: d * scale), Q4_K's mins (-dmin * min). */
        final float[] scales = new float[KC / 32 * PANEL], mins = new float[KC / 32 * PANEL];
        /** Q4_K: the panel's groups' scales and mins as {@link IntKernels#groupScalesQ4_K} gives them, group i's from 16 * blocks * i. */
        float[] groupScales = new float[0];
        float[] acc = new float[0];
        final int[] xo = new int[TILE], so = new int[TILE];
        /** The read-aheads' sums, kept so that their loads are not dropped as unused. */
        long readAhead;
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** Panels [from, to) of interleaved Q4_0 weights against every activation row (quants from {@link QuantizedRows#q}). */
    static void q4_0(InterleavedQ4_0 w, QuantizedRows x, int batch, float[] out, int rows, int from, int to, boolean ahead) {
        run(w.data, false, w.cols, x, batch, out, rows, from, to, ahead);
    }

    /** {@link #q4_0} for Q4_K (activations' {@link QuantizedRows#scaledSums} too, for the min terms). */
    static void q4_K(InterleavedQ4_K w, QuantizedRows x, int batch, float[] out, int rows, int from, int to, boolean ahead) {
        run(w.data, true, w.cols, x, batch, out, rows, from, to, ahead);
    }

    private static void run(MemorySegment p, boolean k, int cols, QuantizedRows x, int batch, float[] out, int rows, int from, int to, boolean ahead) {
        Scratch s = SCRATCH.get();
        // accumulators for the batch and a last tile's padding
        int blocks = cols / 32, superBlocks = cols / 256, groups = rows / 8, padded = batch + TILE - 1;
        long groupBytes = k ? InterleavedQ4_K.groupBytes(superBlocks) : InterleavedQ4_0.groupBytes(blocks);
        if (s.acc.length < padded * PANEL) s.acc = new float[padded * PANEL];
        if (k && s.groupScales.length < GROUPS * 16 * blocks) s.groupScales = new float[GROUPS * 16 * blocks];
        short[] panel = s.panel;
        float[] scales = s.scales, mins = s.mins, acc = s.acc, sm = s.groupScales;
        for (int pn = from; pn < to; pn++) {
            int g0 = pn * GROUPS, present = Math.min(GROUPS, groups - g0);
            Arrays.fill(acc, 0, padded * PANEL, 0f);
            // the panel's groups read into the cache at once, many misses in flight (see MatMul.readAhead): a
            // 16-row product from memory 1.11x faster, as the widening's loads had waited on memory one by one
            s.readAhead += MatMul.readAhead(p, ReadAhead.bytes(k ? GgmlType.Q4_K : GgmlType.Q4_0, ahead, groupBytes), g0, g0 + present);
            if (present < GROUPS) {  // the last panel of a matrix whose rows are not whole panels: zero rows
                Arrays.fill(panel, (short) 0);
                Arrays.fill(scales, 0f);
                Arrays.fill(mins, 0f);
            }
            // Q4_K's d * scale and dmin * min per sub-block, as its integer kernels have them
            if (k) for (int i = 0; i < present; i++) IntKernels.groupScalesQ4_K(p, g0 + i, superBlocks, sm, 16 * blocks * i);
            for (int k0 = 0; k0 < cols; k0 += KC) {
                int b0 = k0 / 32, nb = Math.min(cols - k0, KC) / 32;
                for (int i = 0; i < present; i++) {
                    if (k) {  // the mins negated here, as the integer kernels negate them before their fma
                        for (int b = 0; b < nb; b++) {
                            int from16 = 16 * (blocks * i + b0 + b);
                            FloatVector.fromArray(F8, sm, from16).intoArray(scales, b * PANEL + 8 * i);
                            FloatVector.fromArray(F8, sm, from16 + 8).neg().intoArray(mins, b * PANEL + 8 * i);
                        }
                        continue;
                    }
                    long sc = InterleavedQ4_0.scales(g0 + i, blocks);
                    for (int b = 0; b < nb; b++)  // the 8 rows' fp16 scales of a block, converted as the integer kernels convert them
                        IntKernels.halfToFloat(ShortVector.fromMemorySegment(S8, p, sc + 16L * (b0 + b), LE)).intoArray(scales, b * PANEL + 8 * i);
                }
                widen(p, k ? InterleavedQ4_K.quants(g0, superBlocks, b0) : InterleavedQ4_0.quants(g0, blocks) + 128L * b0, groupBytes, present, nb, panel);
                for (int t0 = 0; t0 < batch; t0 += TILE) {
                    for (int i = 0; i < TILE; i++) {
                        int t = Math.min(t0 + i, batch - 1);  // a last tile's missing rows repeat the last row, their sums unused
                        s.xo[i] = t * cols + k0;
                        s.so[i] = t * blocks + b0;
                    }
                    if (k) tileK(panel, nb, x.q, x.d, x.sums, x.scaledSums, s.xo, s.so, scales, mins, acc, t0 * PANEL);
                    else tile(panel, nb, x.q, x.d, x.sums, s.xo, s.so, scales, acc, t0 * PANEL);
                }
            }
            for (int t = 0; t < batch; t++) System.arraycopy(acc, t * PANEL, out, t * rows + 8 * g0, 8 * present);
        }
    }

    /**
     * The Q4_0 quants (or Q4_K's, stored the same way) of {@code groups} consecutive groups (the first at byte {@code q}, each
     * {@code stride} bytes after the last), {@code blocks} blocks, as shorts (the stored 0 to 15) into the panel:
     * value k of group i's row r at panel[k * PANEL + 8i + r]. A chunk's 16 bytes read as 8 shorts
     * hold row r's four values in short r's four nibbles (see {@link InterleavedQ4_0}): bits 0-3
     * value 4c, 8-11 value 4c + 1, 4-7 value 4c + 2, 12-15 value 4c + 3. Chunk by chunk across the
     * groups, so each of the panel's lines is written whole while in the core's first cache; two
     * groups' chunks side by side in 256 bits, where the panel has them side by side too (half the
     * stores, which bound this loop: a 16-row product from memory 1.06x faster than a group at a
     * time; four groups in 512 bits measured no better).
     */
    static void widen(MemorySegment p, long q, long stride, int groups, int blocks, short[] panel) {
        for (int c = 0, n = 8 * blocks; c < n; c++) {
            int i = 0;
            for (; i + 2 <= groups; i += 2) {
                ShortVector a = (ShortVector) ShortVector.fromMemorySegment(S8, p, q + i * stride + 16L * c, LE).reinterpretShape(S16, 0);
                ShortVector b = (ShortVector) ShortVector.fromMemorySegment(S8, p, q + (i + 1) * stride + 16L * c, LE).reinterpretShape(S16, 0);
                ShortVector u = a.rearrange(SIDE_BY_SIDE, b);
                int at = 4 * c * PANEL + 8 * i;
                u.and((short) 15).intoArray(panel, at);
                u.lanewise(VectorOperators.LSHR, 8).and((short) 15).intoArray(panel, at + PANEL);
                u.lanewise(VectorOperators.LSHR, 4).and((short) 15).intoArray(panel, at + 2 * PANEL);
                u.lanewise(VectorOperators.LSHR, 12).intoArray(panel, at + 3 * PANEL);
            }
            if (i < groups) {  // an odd group at the end of a matrix
                ShortVector u = ShortVector.fromMemorySegment(S8, p, q + i * stride + 16L * c, LE);
                int at = 4 * c * PANEL + 8 * i;
                u.and((short) 15).intoArray(panel, at);
                u.lanewise(VectorOperators.LSHR, 8).and((short) 15).intoArray(panel, at + PANEL);
                u.lanewise(VectorOperators.LSHR, 4).and((short) 15).intoArray(panel, at + 2 * PANEL);
                u.lanewise(VectorOperators.LSHR, 12).intoArray(panel, at + 3 * PANEL);
            }
        }
    }

    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    /** Lanes 0 to 7 of the first vector, then lanes 0 to 7 of the second (a negative index selects from the second). */
    private static final VectorShuffle<Short> SIDE_BY_SIDE = VectorShuffle.fromOp(S16, i -> i < 8 ? i : i - 8 - 16);

    /**
     * Four activation rows (quants from x[xo[i]], block scales from xd[so[i]]) times the panel's
     * {@code blocks} blocks, into the accumulators acc[ao + i * PANEL ..]: per block, each
     * (activation row, vector of weight rows) sum of 32 short products, less 8 times the block's
     * sum of activation quants (from xsum[so[i]]: Q4_0's bias, see above), then, widened to ints and
     * floats, fused into the accumulators with the scale products dw * dx. Four rows, not six:
     * 1.04x to 1.15x faster, prompts 1.04x. Eight short sums, two weight vectors and the
     * broadcast leave room for the tile's sixteen float accumulators in registers for the call
     * (kept in memory between blocks they took about 4% longer).
     */
    static void tile(short[] panel, int blocks, short[] x, float[] xd, int[] xsum, int[] xo, int[] so, float[] dw, float[] acc, int ao) {
        int x0 = xo[0], x1 = xo[1], x2 = xo[2], x3 = xo[3];
        int s0 = so[0], s1 = so[1], s2 = so[2], s3 = so[3];
        int a0 = ao, a1 = a0 + PANEL, a2 = a1 + PANEL, a3 = a2 + PANEL;
        // the accumulators in registers for the call, a row of four vectors per activation row
        FloatVector r00 = FloatVector.fromArray(F, acc, a0), r01 = FloatVector.fromArray(F, acc, a0 + L), r02 = FloatVector.fromArray(F, acc, a0 + 2 * L), r03 = FloatVector.fromArray(F, acc, a0 + 3 * L),
                r10 = FloatVector.fromArray(F, acc, a1), r11 = FloatVector.fromArray(F, acc, a1 + L), r12 = FloatVector.fromArray(F, acc, a1 + 2 * L), r13 = FloatVector.fromArray(F, acc, a1 + 3 * L),
                r20 = FloatVector.fromArray(F, acc, a2), r21 = FloatVector.fromArray(F, acc, a2 + L), r22 = FloatVector.fromArray(F, acc, a2 + 2 * L), r23 = FloatVector.fromArray(F, acc, a2 + 3 * L),
                r30 = FloatVector.fromArray(F, acc, a3), r31 = FloatVector.fromArray(F, acc, a3 + L), r32 = FloatVector.fromArray(F, acc, a3 + 2 * L), r33 = FloatVector.fromArray(F, acc, a3 + 3 * L);
        for (int b = 0; b < blocks; b++) {
            ShortVector z = ShortVector.zero(S), c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
            for (int k = 32 * b, e = k + 32; k < e; k++) {
                ShortVector w0 = ShortVector.fromArray(S, panel, PANEL * k), w1 = ShortVector.fromArray(S, panel, PANEL * k + SL), v;
                v = ShortVector.broadcast(S, x[x0 + k]);
                c00 = w0.lanewise(VectorOperators.MUL, v).lanewise(VectorOperators.ADD, c00);
                c01 = w1.lanewise(VectorOperators.MUL, v).lanewise(VectorOperators.ADD, c01);
                v = ShortVector.broadcast(S, x[x1 + k]);
                c10 = w0.lanewise(VectorOperators.MUL, v).lanewise(VectorOperators.ADD, c10);
                c11 = w1.lanewise(VectorOperators.MUL, v).lanewise(VectorOperators.ADD, c11);
                v = ShortVector.broadcast(S, x[x2 + k]);
                c20 = w0.lanewise(VectorOperators.MUL, v).lanewise(VectorOperators.ADD, c20);
                c21 = w1.lanewise(VectorOperators.MUL, v).lanewise(VectorOperators.ADD, c21);
                v = ShortVector.broadcast(S, x[x3 + k]);
                c30 = w0.lanewise(VectorOperators.MUL, v).lanewise(VectorOperators.ADD, c30);
                c31 = w1.lanewise(VectorOperators.MUL, v).lanewise(VectorOperators.ADD, c31);
            }
            int d = PANEL * b;
            FloatVector d0 = FloatVector.fromArray(F, dw, d), d1 = FloatVector.fromArray(F, dw, d + L),
                    d2 = FloatVector.fromArray(F, dw, d + 2 * L), d3 = FloatVector.fromArray(F, dw, d + 3 * L);
            FloatVector dxv;
            ShortVector o;
            dxv = FloatVector.broadcast(F, xd[s0 + b]);
            o = ShortVector.broadcast(S, (short) (8 * xsum[s0 + b]));
            c00 = c00.lanewise(VectorOperators.SUB, o);
            c01 = c01.lanewise(VectorOperators.SUB, o);
            r00 = ((FloatVector) ((IntVector) c00.convertShape(VectorOperators.S2I, I, 0)).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dxv), r00);
            r01 = ((FloatVector) ((IntVector) c00.rearrange(UPPER_HALF).convertShape(VectorOperators.S2I, I, 0)).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dxv), r01);
            r02 = ((FloatVector) ((IntVector) c01.convertShape(VectorOperators.S2I, I, 0)).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d2.lanewise(VectorOperators.MUL, dxv), r02);
            r03 = ((FloatVector) ((IntVector) c01.rearrange(UPPER_HALF).convertShape(VectorOperators.S2I, I, 0)).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d3.lanewise(VectorOperators.MUL, dxv), r03);
            dxv = FloatVector.broadcast(F, xd[s1 + b]);
            o = ShortVector.broadcast(S, (short) (8 * xsum[s1 + b]));
            c10 = c10.lanewise(VectorOperators.SUB, o);
            c11 = c11.lanewise(VectorOperators.SUB, o);
            r10 = ((FloatVector) ((IntVector) c10.convertShape(VectorOperators.S2I, I, 0)).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dxv), r10);
            r11 = ((FloatVector) ((IntVector) c10.rearrange(UPPER_HALF).convertShape(VectorOperators.S2I, I, 0)).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dxv), r11);
            r12 = ((FloatVector) ((IntVector) c11.convertShape(VectorOperators.S2I, I, 0)).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d2.lanewise(VectorOperators.MUL, dxv), r12);
            r13 = ((FloatVector) ((IntVector) c11.rearrange(UPPER_HALF).convertShape(VectorOperators.S2I, I, 0)).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d3.lanewise(VectorOperators.MUL, dxv), r13);
            dxv = FloatVector.broadcast(F, xd[s2 + b]);
            o = ShortVector.broadcast(S, (short) (8 * xsum[s2 + b]));
            c20 = c20.lanewise(VectorOperators.SUB, o);
            c21 = c21.lanewise(VectorOperators.SUB, o);
            r20 = ((FloatVector) ((IntVector) c20.convertShape(VectorOperators.S2I, I, 0)).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dxv), r20);
            r21 = ((FloatVector) ((IntVector) c20.rearrange(UPPER_HALF).convertShape(VectorOperators.S2I, I, 0)).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dxv), r21);
            r22 = ((FloatVector) ((IntVector) c21.convertShape(VectorOperators.S2I, I, 0)).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d2.lanewise(VectorOperators.MUL, dxv), r22);
            r23 = ((FloatVector) ((IntVector) c21.rearrange(UPPER_HALF).convertShape(VectorOperators.S2I, I, 0)).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d3.lanewise(VectorOperators.MUL, dxv), r23);
            dxv = FloatVector.broadcast(F, xd[s3 + b]);
            o = ShortVector.broadcast(S, (short) (8 * xsum[s3 + b]));
            c30 = c30.lanewise(VectorOperators.SUB, o);
            c31 = c31.lanewise(VectorOperators.SUB, o);
            r30 = ((FloatVector) ((IntVector) c30.convertShape(VectorOperators.S2I, I, 0)).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dxv), r30);
            r31 = ((FloatVector) ((IntVector) c30.rearrange(UPPER_HALF).convertShape(VectorOperators.S2I, I, 0)).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dxv), r31);
            r32 = ((FloatVector) ((IntVector) c31.convertShape(VectorOperators.S2I, I, 0)).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d2.lanewise(VectorOperators.MUL, dxv), r32);
            r33 = ((FloatVector) ((IntVector) c31.rearrange(UPPER_HALF).convertShape(VectorOperators.S2I, I, 0)).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d3.lanewise(VectorOperators.MUL, dxv), r33);
        }
        r00.intoArray(acc, a0);
        r01.intoArray(acc, a0 + L);
        r02.intoArray(acc, a0 + 2 * L);
        r03.intoArray(acc, a0 + 3 * L);
        r10.intoArray(acc, a1);
        r11.intoArray(acc, a1 + L);
        r12.intoArray(acc, a1 + 2 * L);
        r13.intoArray(acc, a1 + 3 * L);
        r20.intoArray(acc, a2);
        r21.intoArray(acc, a2 + L);
        r22.intoArray(acc, a2 + 2 * L);
        r23.intoArray(acc, a2 + 3 * L);
        r30.intoArray(acc, a3);
        r31.intoArray(acc, a3 + L);
        r32.intoArray(acc, a3 + 2 * L);
        r33.intoArray(acc, a3 + 3 * L);
    }

    /**
     * {@link #tile} for Q4_K, whose quants are stored unsigned too: the short sums, less 8 times the
     * block's activation sum, are sum (q - 8) * x, and adding 8 times that sum back in ints gives
     * the integer kernels' sum q * x (up to 60,960 in size: not a short). After each block's scaled
     * sum, the block's min term fused in as the integer kernels do it ({@link IntKernels#dotQ4_Kx8}):
     * -(dmin * min), from {@code mins}, times dx * (the sum of the activation quants), from {@code xs}
     * ({@link QuantizedRows#scaledSums}).
     */
    static void tileK(short[] panel, int blocks, short[] x, float[] xd, int[] xsum, float[] xs, int[] xo, int[] so, float[] dw, float[] mins, float[] acc, int ao) {
        int x0 = xo[0], x1 = xo[1], x2 = xo[2], x3 = xo[3];
        int s0 = so[0], s1 = so[1], s2 = so[2], s3 = so[3];
        int a0 = ao, a1 = a0 + PANEL, a2 = a1 + PANEL, a3 = a2 + PANEL;
        // the accumulators in registers for the call, a row of four vectors per activation row
        FloatVector r00 = FloatVector.fromArray(F, acc, a0), r01 = FloatVector.fromArray(F, acc, a0 + L), r02 = FloatVector.fromArray(F, acc, a0 + 2 * L), r03 = FloatVector.fromArray(F, acc, a0 + 3 * L),
                r10 = FloatVector.fromArray(F, acc, a1), r11 = FloatVector.fromArray(F, acc, a1 + L), r12 = FloatVector.fromArray(F, acc, a1 + 2 * L), r13 = FloatVector.fromArray(F, acc, a1 + 3 * L),
                r20 = FloatVector.fromArray(F, acc, a2), r21 = FloatVector.fromArray(F, acc, a2 + L), r22 = FloatVector.fromArray(F, acc, a2 + 2 * L), r23 = FloatVector.fromArray(F, acc, a2 + 3 * L),
                r30 = FloatVector.fromArray(F, acc, a3), r31 = FloatVector.fromArray(F, acc, a3 + L), r32 = FloatVector.fromArray(F, acc, a3 + 2 * L), r33 = FloatVector.fromArray(F, acc, a3 + 3 * L);
        for (int b = 0; b < blocks; b++) {
            ShortVector z = ShortVector.zero(S), c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
            for (int k = 32 * b, e = k + 32; k < e; k++) {
                ShortVector w0 = ShortVector.fromArray(S, panel, PANEL * k), w1 = ShortVector.fromArray(S, panel, PANEL * k + SL), v;
                v = ShortVector.broadcast(S, x[x0 + k]);
                c00 = w0.lanewise(VectorOperators.MUL, v).lanewise(VectorOperators.ADD, c00);
                c01 = w1.lanewise(VectorOperators.MUL, v).lanewise(VectorOperators.ADD, c01);
                v = ShortVector.broadcast(S, x[x1 + k]);
                c10 = w0.lanewise(VectorOperators.MUL, v).lanewise(VectorOperators.ADD, c10);
                c11 = w1.lanewise(VectorOperators.MUL, v).lanewise(VectorOperators.ADD, c11);
                v = ShortVector.broadcast(S, x[x2 + k]);
                c20 = w0.lanewise(VectorOperators.MUL, v).lanewise(VectorOperators.ADD, c20);
                c21 = w1.lanewise(VectorOperators.MUL, v).lanewise(VectorOperators.ADD, c21);
                v = ShortVector.broadcast(S, x[x3 + k]);
                c30 = w0.lanewise(VectorOperators.MUL, v).lanewise(VectorOperators.ADD, c30);
                c31 = w1.lanewise(VectorOperators.MUL, v).lanewise(VectorOperators.ADD, c31);
            }
            int d = PANEL * b;
            FloatVector d0 = FloatVector.fromArray(F, dw, d), d1 = FloatVector.fromArray(F, dw, d + L),
                    d2 = FloatVector.fromArray(F, dw, d + 2 * L), d3 = FloatVector.fromArray(F, dw, d + 3 * L),
                    m0 = FloatVector.fromArray(F, mins, d), m1 = FloatVector.fromArray(F, mins, d + L),
                    m2 = FloatVector.fromArray(F, mins, d + 2 * L), m3 = FloatVector.fromArray(F, mins, d + 3 * L), e;
            FloatVector dxv;
            ShortVector o;
            IntVector eight;
            dxv = FloatVector.broadcast(F, xd[s0 + b]);
            o = ShortVector.broadcast(S, (short) (8 * xsum[s0 + b]));
            eight = IntVector.broadcast(I, 8 * xsum[s0 + b]);
            e = FloatVector.broadcast(F, xs[s0 + b]);
            c00 = c00.lanewise(VectorOperators.SUB, o);
            c01 = c01.lanewise(VectorOperators.SUB, o);
            r00 = m0.lanewise(VectorOperators.FMA, e, ((FloatVector) ((IntVector) c00.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.ADD, eight).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dxv), r00));
            r01 = m1.lanewise(VectorOperators.FMA, e, ((FloatVector) ((IntVector) c00.rearrange(UPPER_HALF).convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.ADD, eight).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dxv), r01));
            r02 = m2.lanewise(VectorOperators.FMA, e, ((FloatVector) ((IntVector) c01.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.ADD, eight).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d2.lanewise(VectorOperators.MUL, dxv), r02));
            r03 = m3.lanewise(VectorOperators.FMA, e, ((FloatVector) ((IntVector) c01.rearrange(UPPER_HALF).convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.ADD, eight).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d3.lanewise(VectorOperators.MUL, dxv), r03));
            dxv = FloatVector.broadcast(F, xd[s1 + b]);
            o = ShortVector.broadcast(S, (short) (8 * xsum[s1 + b]));
            eight = IntVector.broadcast(I, 8 * xsum[s1 + b]);
            e = FloatVector.broadcast(F, xs[s1 + b]);
            c10 = c10.lanewise(VectorOperators.SUB, o);
            c11 = c11.lanewise(VectorOperators.SUB, o);
            r10 = m0.lanewise(VectorOperators.FMA, e, ((FloatVector) ((IntVector) c10.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.ADD, eight).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dxv), r10));
            r11 = m1.lanewise(VectorOperators.FMA, e, ((FloatVector) ((IntVector) c10.rearrange(UPPER_HALF).convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.ADD, eight).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dxv), r11));
            r12 = m2.lanewise(VectorOperators.FMA, e, ((FloatVector) ((IntVector) c11.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.ADD, eight).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d2.lanewise(VectorOperators.MUL, dxv), r12));
            r13 = m3.lanewise(VectorOperators.FMA, e, ((FloatVector) ((IntVector) c11.rearrange(UPPER_HALF).convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.ADD, eight).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d3.lanewise(VectorOperators.MUL, dxv), r13));
            dxv = FloatVector.broadcast(F, xd[s2 + b]);
            o = ShortVector.broadcast(S, (short) (8 * xsum[s2 + b]));
            eight = IntVector.broadcast(I, 8 * xsum[s2 + b]);
            e = FloatVector.broadcast(F, xs[s2 + b]);
            c20 = c20.lanewise(VectorOperators.SUB, o);
            c21 = c21.lanewise(VectorOperators.SUB, o);
            r20 = m0.lanewise(VectorOperators.FMA, e, ((FloatVector) ((IntVector) c20.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.ADD, eight).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dxv), r20));
            r21 = m1.lanewise(VectorOperators.FMA, e, ((FloatVector) ((IntVector) c20.rearrange(UPPER_HALF).convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.ADD, eight).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dxv), r21));
            r22 = m2.lanewise(VectorOperators.FMA, e, ((FloatVector) ((IntVector) c21.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.ADD, eight).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d2.lanewise(VectorOperators.MUL, dxv), r22));
            r23 = m3.lanewise(VectorOperators.FMA, e, ((FloatVector) ((IntVector) c21.rearrange(UPPER_HALF).convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.ADD, eight).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d3.lanewise(VectorOperators.MUL, dxv), r23));
            dxv = FloatVector.broadcast(F, xd[s3 + b]);
            o = ShortVector.broadcast(S, (short) (8 * xsum[s3 + b]));
            eight = IntVector.broadcast(I, 8 * xsum[s3 + b]);
            e = FloatVector.broadcast(F, xs[s3 + b]);
            c30 = c30.lanewise(VectorOperators.SUB, o);
            c31 = c31.lanewise(VectorOperators.SUB, o);
            r30 = m0.lanewise(VectorOperators.FMA, e, ((FloatVector) ((IntVector) c30.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.ADD, eight).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dxv), r30));
            r31 = m1.lanewise(VectorOperators.FMA, e, ((FloatVector) ((IntVector) c30.rearrange(UPPER_HALF).convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.ADD, eight).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dxv), r31));
            r32 = m2.lanewise(VectorOperators.FMA, e, ((FloatVector) ((IntVector) c31.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.ADD, eight).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d2.lanewise(VectorOperators.MUL, dxv), r32));
            r33 = m3.lanewise(VectorOperators.FMA, e, ((FloatVector) ((IntVector) c31.rearrange(UPPER_HALF).convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.ADD, eight).convertShape(VectorOperators.I2F, F, 0)).lanewise(VectorOperators.FMA, d3.lanewise(VectorOperators.MUL, dxv), r33));
        }
        r00.intoArray(acc, a0);
        r01.intoArray(acc, a0 + L);
        r02.intoArray(acc, a0 + 2 * L);
        r03.intoArray(acc, a0 + 3 * L);
        r10.intoArray(acc, a1);
        r11.intoArray(acc, a1 + L);
        r12.intoArray(acc, a1 + 2 * L);
        r13.intoArray(acc, a1 + 3 * L);
        r20.intoArray(acc, a2);
        r21.intoArray(acc, a2 + L);
        r22.intoArray(acc, a2 + 2 * L);
        r23.intoArray(acc, a2 + 3 * L);
        r30.intoArray(acc, a3);
        r31.intoArray(acc, a3 + L);
        r32.intoArray(acc, a3 + 2 * L);
        r33.intoArray(acc, a3 + 3 * L);
    }
}
