package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static dev.genset.engine.tensor.Simd.LE;

/**
 * Batched products of interleaved Q8_0, Q4_0, Q4_K and Q6_K weights ({@link InterleavedQ8_0},
 * {@link InterleavedQ4_0}, {@link InterleavedQ4_K}, {@link InterleavedQ6_K}) with quantized
 * activations, computed with float fused multiply-adds on whole numbers: the same results, bit for
 * bit, as {@link IntKernels}, at up to twice their speed on CPUs with 512-bit vectors. Q4_0 and
 * Q4_K batches go to {@link ShortGemm} instead where that is on (the default with 512-bit vectors).
 *
 * <p>Why it is exact: the integer kernels compute, per block (32 values; Q6_K's 16-value
 * sub-blocks), the integer dot product of weight and activation quants, convert it to float and
 * fuse it into the row's accumulator with the scale product dw * dx (Q4_K then its min term).
 * Here the quants are floats holding the same whole numbers (Q8_0's q, Q4_0's q - 8, Q4_K's q,
 * Q6_K's q - 32, the activations' 8-bit quants), and each block's products are summed by fma in a
 * float: every partial sum is a whole number below 2^24 in size (at most 32 * 128 * 127), so every
 * step is exact and the block sum is the integer kernels' integer, as a float. The block's steps
 * into the accumulator are then the same fmas with the same operands. So the sequence per output
 * element is the interleaved kernels' ({@link IntKernels#dotQ8_0x8}, {@link IntKernels#dotQ4_0x8},
 * {@link IntKernels#dotQ4_Kx8}, {@link IntKernels#dotQ6_Kx8}), and batch invariance holds across
 * the two paths: a decode step through the integer kernels and a prompt through these give each
 * row what the other would.
 *
 * <p>Why it is fast: on a CPU with AVX-512 (and VNNI), llama.cpp multiplies bytes 64 at a time; the
 * Vector API has no such operation, and the integer kernels' 16-bit multiplies do 16 or 32 products
 * per instruction with widening around them. A float fma does 16 products per instruction (two a
 * cycle on such CPUs), with nothing around it once the weights are floats: per panel of
 * {@link #PANEL} rows the weights are converted once (per {@link #KC} columns, to stay in the
 * core's cache), and then every activation row multiplies the floats. The tile is 6 activation rows
 * by 2 vectors of rows, twelve accumulators in registers; one weight load of each vector serves six
 * multiply-adds. With 256-bit vectors (AVX2), fma and the 16-bit multiplies do 8 and 16 products
 * each, and the integer kernels are the better choice: {@link #enabled} by default only with 512.
 */
final class FloatGemm {
    private FloatGemm() {}

    /**
     * The tiles' vectors. Like {@link ShortGemm}'s, the tiles write their operations as
     * {@code lanewise(FMA, ...)} and so on, dispatched where they are called, and the widening names
     * its float species (convertShape): the shorter forms (fma, mul, neg, convert) dispatch inside
     * the JDK at calls whose recorded receiver types all of a process's callers share, which cost
     * ShortGemm's tiles their speed in some processes (BENCHMARKS.md, round 29).
     */
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512 ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
    private static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final VectorSpecies<Short> S8 = ShortVector.SPECIES_128;
    private static final int L = F.length();

    /** Weight rows per panel: two vectors' lanes, a row a lane. */
    static final int PANEL = 2 * L;
    /** Interleaved groups of 8 rows per panel. */
    static final int GROUPS = PANEL / 8;
    /** Activation rows per tile. */
    static final int TILE = 6;
    /** Columns converted at a time: a panel's floats then take 128 KiB (512-bit vectors). */
    static final int KC = 1024;
    /**
     * Batches below these many rows go to the integer kernels (decoding, a few sequences): the
     * conversion of the weights costs what five or so rows' products cost, so a batch must be large
     * enough to repay it. Where the two paths crossed in a 2048 x 2048 product on one thread (an
     * AVX-512 machine): Q8_0 at 6 to 8 rows, Q4_0 at 10 (at 16 rows 1.26x and 1.11x), Q4_K and Q6_K
     * between 12 and 16 (at 16 rows 1.03x and 1.05x).
     */
    static final int MIN_BATCH_Q8_0 = 8, MIN_BATCH_Q4_0 = 12, MIN_BATCH_K = 16;

    /**
     * Whether batches of {@link #MIN_BATCH_Q8_0}, {@link #MIN_BATCH_Q4_0} or {@link #MIN_BATCH_K} rows or more take this path: by default where the CPU has
     * 512-bit vectors and the vector paths are on; {@code genset.floatGemm=true} or {@code false}
     * overrides. Not final, so tests can run it on any CPU.
     */
    static boolean enabled = Boolean.parseBoolean(System.getProperty("genset.floatGemm",
            String.valueOf(Simd.ENABLED && FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512)));

    /** Whether a product of this many activation rows with repacked weights of this type goes here. */
    static boolean takes(int batch, GgmlType type) {
        int least = switch (type) {
            case Q8_0 -> MIN_BATCH_Q8_0;
            case Q4_0 -> MIN_BATCH_Q4_0;
            case Q4_K, Q6_K -> MIN_BATCH_K;
            default -> Integer.MAX_VALUE;
        };
        return enabled && batch >= least;
    }

    /** Panels of a matrix of {@code rows} rows (a multiple of 8): the units of work of the products below. */
    static int panels(int rows) {
        return (rows / 8 + GROUPS - 1) / GROUPS;
    }

    /** Per-thread scratch: the panel's floats, its scales, the accumulators of every activation row, the tile's offsets. */
    private static final class Scratch {
        /** Scales per block (Q6_K: per 16-value sub-block, twice as many) and row; Q4_K's mins likewise. */
        float[] panel = new float[KC * PANEL], scales = new float[2 * KC / 32 * PANEL], mins = new float[KC / 32 * PANEL], acc = new float[0];
        /** Q4_K and Q6_K: the panel's groups' scales (and Q4_K's mins) as their integer kernels have them, group i's from 16 * blocks * i. */
        float[] groupScales = new float[0];
        final int[] xo = new int[TILE], so = new int[TILE];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** Panels [from, to) of interleaved Q4_0 weights against every activation row (values from {@link QuantizedRows#values}). */
    static void q4_0(InterleavedQ4_0 w, QuantizedRows x, int batch, float[] out, int rows, int from, int to) {
        run(w.data, Kind.Q4_0, w.cols, x, batch, out, rows, from, to);
    }

    /** {@link #q4_0} for Q8_0. */
    static void q8_0(InterleavedQ8_0 w, QuantizedRows x, int batch, float[] out, int rows, int from, int to) {
        run(w.data, Kind.Q8_0, w.cols, x, batch, out, rows, from, to);
    }

    /** {@link #q4_0} for Q4_K (activations' {@link QuantizedRows#scaledSums} too, for the min terms). */
    static void q4_K(InterleavedQ4_K w, QuantizedRows x, int batch, float[] out, int rows, int from, int to) {
        run(w.data, Kind.Q4_K, w.cols, x, batch, out, rows, from, to);
    }

    /** {@link #q4_0} for Q6_K. */
    static void q6_K(InterleavedQ6_K w, QuantizedRows x, int batch, float[] out, int rows, int from, int to) {
        run(w.data, Kind.Q6_K, w.cols, x, batch, out, rows, from, to);
    }

    private enum Kind { Q8_0, Q4_0, Q4_K, Q6_K }

    private static void run(MemorySegment p, Kind kind, int cols, QuantizedRows x, int batch, float[] out, int rows, int from, int to) {
        Scratch s = SCRATCH.get();
        int blocks = cols / 32, superBlocks = cols / 256, tiles = (batch + TILE - 1) / TILE, groups = rows / 8;
        if (s.acc.length < tiles * TILE * PANEL) s.acc = new float[tiles * TILE * PANEL];
        if ((kind == Kind.Q4_K || kind == Kind.Q6_K) && s.groupScales.length < GROUPS * 16 * blocks) s.groupScales = new float[GROUPS * 16 * blocks];
        float[] panel = s.panel, scales = s.scales, mins = s.mins, acc = s.acc, sm = s.groupScales;
        // Q6_K's scales are per 16-value sub-block: twice the blocks, of half the size (dx from the 32-value block holding them)
        int size = kind == Kind.Q6_K ? 16 : 32, shift = kind == Kind.Q6_K ? 1 : 0;
        for (int pn = from; pn < to; pn++) {
            int g0 = pn * GROUPS, present = Math.min(GROUPS, groups - g0);
            Arrays.fill(acc, 0, tiles * TILE * PANEL, 0f);
            if (present < GROUPS) {  // the last panel of a matrix whose rows are not whole panels: zero rows
                Arrays.fill(panel, 0f);
                Arrays.fill(scales, 0f);
                Arrays.fill(mins, 0f);
            }
            // Q4_K's d * scale and dmin * min per sub-block, Q6_K's d * scale per 16 values, as their integer kernels have them
            if (kind == Kind.Q4_K) for (int i = 0; i < present; i++) IntKernels.groupScalesQ4_K(p, g0 + i, superBlocks, sm, 16 * blocks * i);
            if (kind == Kind.Q6_K) for (int i = 0; i < present; i++) IntKernels.groupScalesQ6_K(p, g0 + i, superBlocks, sm, 16 * blocks * i);
            for (int k0 = 0; k0 < cols; k0 += KC) {
                int b0 = k0 / 32, nb = Math.min(cols - k0, KC) / 32;
                for (int i = 0; i < present; i++) {
                    if (kind == Kind.Q4_K) {
                        for (int b = 0; b < nb; b++) {
                            System.arraycopy(sm, 16 * (blocks * i + b0 + b), scales, b * PANEL + 8 * i, 8);
                            System.arraycopy(sm, 16 * (blocks * i + b0 + b) + 8, mins, b * PANEL + 8 * i, 8);
                        }
                        continue;
                    }
                    if (kind == Kind.Q6_K) {
                        for (int j = 0; j < 2 * nb; j++) System.arraycopy(sm, 16 * blocks * i + 8 * (2 * b0 + j), scales, j * PANEL + 8 * i, 8);
                        continue;
                    }
                    long sc = kind == Kind.Q8_0 ? InterleavedQ8_0.scales(g0 + i, blocks) : InterleavedQ4_0.scales(g0 + i, blocks);
                    for (int b = 0; b < nb; b++)  // the 8 rows' fp16 scales of a block, converted as the integer kernels convert them
                        IntKernels.halfToFloat(ShortVector.fromMemorySegment(S8, p, sc + 16L * (b0 + b), LE)).intoArray(scales, b * PANEL + 8 * i);
                }
                switch (kind) {
                    case Q8_0 -> widenQ8_0(p, InterleavedQ8_0.quants(g0, blocks) + 256L * b0, InterleavedQ8_0.groupBytes(blocks), present, nb, panel);
                    case Q4_0 -> widenQ4_0(p, InterleavedQ4_0.quants(g0, blocks) + 128L * b0, InterleavedQ4_0.groupBytes(blocks), present, nb, 8, panel);
                    case Q4_K -> widenQ4_0(p, InterleavedQ4_K.quants(g0, superBlocks, b0), InterleavedQ4_K.groupBytes(superBlocks), present, nb, 0, panel);
                    case Q6_K -> widenQ8_0(p, InterleavedQ6_K.quants(g0, superBlocks) + 256L * b0, InterleavedQ6_K.groupBytes(superBlocks), present, nb, panel);
                }
                for (int t0 = 0, step; t0 < batch; t0 += step) {
                    // tiles of six, the last rows in tiles of four: 7 or 8 rows left as two of them (less padding than 6 + 4)
                    int left = batch - t0;
                    boolean four = left <= 4 || left == 7 || left == 8;
                    step = four ? 4 : TILE;
                    for (int i = 0; i < TILE; i++) {
                        int t = Math.min(t0 + i, batch - 1);  // a last tile's missing rows repeat the last row, their sums unused
                        s.xo[i] = t * cols + k0;
                        s.so[i] = t * blocks + b0;
                    }
                    if (kind == Kind.Q4_K) {
                        if (four) tile4K(panel, nb, x.values, x.d, x.scaledSums, s.xo, s.so, scales, mins, acc, t0 * PANEL);
                        else tileK(panel, nb, x.values, x.d, x.scaledSums, s.xo, s.so, scales, mins, acc, t0 * PANEL);
                    } else if (four) {
                        tile4(panel, nb << shift, size, shift, x.values, x.d, s.xo, s.so, scales, acc, t0 * PANEL);
                    } else {
                        tile(panel, nb << shift, size, shift, x.values, x.d, s.xo, s.so, scales, acc, t0 * PANEL);
                    }
                }
            }
            for (int t = 0; t < batch; t++) System.arraycopy(acc, t * PANEL, out, t * rows + 8 * g0, 8 * present);
        }
    }

    /**
     * The Q4_0 quants of {@code groups} consecutive groups (the first at byte {@code q}, each
     * {@code stride} bytes after the last), {@code blocks} blocks, as floats q - bias into the panel (8 for Q4_0, 0 for Q4_K's unsigned quants):
     * value k of the group i's row r at panel[k * PANEL + 8i + r]. A chunk's 16 bytes read as 8
     * shorts hold row r's four values in short r's four nibbles (see {@link InterleavedQ4_0}): low
     * byte's low nibble value 4c, high byte's low nibble 4c + 1, then the high nibbles 4c + 2 and
     * 4c + 3. Chunk by chunk across the groups, so each of the panel's lines is written whole while
     * in the core's first cache (group by group took 2 to 3.5 times as long).
     */
    static void widenQ4_0(MemorySegment p, long q, long stride, int groups, int blocks, int bias, float[] panel) {
        for (int c = 0, n = 8 * blocks; c < n; c++)
            for (int i = 0; i < groups; i++) {
                IntVector u = (IntVector) ShortVector.fromMemorySegment(S8, p, q + i * stride + 16L * c, LE).convertShape(VectorOperators.S2I, I8, 0);
                int at = 4 * c * PANEL + 8 * i;
                ((FloatVector) u.and(15).sub(bias).convertShape(VectorOperators.I2F, F8, 0)).intoArray(panel, at);
                ((FloatVector) u.lanewise(VectorOperators.ASHR, 8).and(15).sub(bias).convertShape(VectorOperators.I2F, F8, 0)).intoArray(panel, at + PANEL);
                ((FloatVector) u.lanewise(VectorOperators.ASHR, 4).and(15).sub(bias).convertShape(VectorOperators.I2F, F8, 0)).intoArray(panel, at + 2 * PANEL);
                ((FloatVector) u.lanewise(VectorOperators.ASHR, 12).and(15).sub(bias).convertShape(VectorOperators.I2F, F8, 0)).intoArray(panel, at + 3 * PANEL);
            }
    }

    /**
     * {@link #widenQ4_0} for Q8_0 (256 bytes a block), and for Q6_K, stored the same way as signed
     * bytes q - 32 ({@link InterleavedQ6_K}): a chunk's 16 bytes read as 8 shorts, sign extended,
     * hold row r's values 2c (low byte) and 2c + 1 (high byte) in short r (see {@link InterleavedQ8_0}).
     */
    static void widenQ8_0(MemorySegment p, long q, long stride, int groups, int blocks, float[] panel) {
        for (int c = 0, n = 16 * blocks; c < n; c++)
            for (int i = 0; i < groups; i++) {
                IntVector u = (IntVector) ShortVector.fromMemorySegment(S8, p, q + i * stride + 16L * c, LE).convertShape(VectorOperators.S2I, I8, 0);
                int at = 2 * c * PANEL + 8 * i;
                ((FloatVector) u.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convertShape(VectorOperators.I2F, F8, 0)).intoArray(panel, at);
                ((FloatVector) u.lanewise(VectorOperators.ASHR, 8).convertShape(VectorOperators.I2F, F8, 0)).intoArray(panel, at + PANEL);
            }
    }

    /**
     * Six activation rows (values from x[xo[i]], block scales from xd[so[i]]) times the panel's
     * {@code blocks} blocks of {@code size} values, into the accumulators acc[ao + i * PANEL ..]: per
     * block, each (activation row, vector of weight rows) sum of {@code size} fmas in column order,
     * then that sum fused into the accumulator with the scale product dw * dx. Blocks are 32 values,
     * or Q6_K's 16-value sub-blocks, whose dx is that of the 32-value activation block holding them
     * (block b's at so[i] + (b >> shift)). The block loop's body is one block and nothing else:
     * with the scale step under a branch in one flat loop C2 left the vectors as objects.
     */
    static void tile(float[] panel, int blocks, int size, int shift, float[] x, float[] xd, int[] xo, int[] so, float[] dw, float[] acc, int ao) {
        int x0 = xo[0], x1 = xo[1], x2 = xo[2], x3 = xo[3], x4 = xo[4], x5 = xo[5];
        int s0 = so[0], s1 = so[1], s2 = so[2], s3 = so[3], s4 = so[4], s5 = so[5];
        int a0 = ao, a1 = a0 + PANEL, a2 = a1 + PANEL, a3 = a2 + PANEL, a4 = a3 + PANEL, a5 = a4 + PANEL;
        // the accumulators in registers for the call (in memory between blocks they took 12% longer)
        FloatVector r00 = FloatVector.fromArray(F, acc, a0), r01 = FloatVector.fromArray(F, acc, a0 + L),
                r10 = FloatVector.fromArray(F, acc, a1), r11 = FloatVector.fromArray(F, acc, a1 + L),
                r20 = FloatVector.fromArray(F, acc, a2), r21 = FloatVector.fromArray(F, acc, a2 + L),
                r30 = FloatVector.fromArray(F, acc, a3), r31 = FloatVector.fromArray(F, acc, a3 + L),
                r40 = FloatVector.fromArray(F, acc, a4), r41 = FloatVector.fromArray(F, acc, a4 + L),
                r50 = FloatVector.fromArray(F, acc, a5), r51 = FloatVector.fromArray(F, acc, a5 + L);
        for (int b = 0; b < blocks; b++) {
            FloatVector z = FloatVector.zero(F), c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
            for (int k = size * b, e = k + size; k < e; k++) {
                FloatVector w0 = FloatVector.fromArray(F, panel, PANEL * k), w1 = FloatVector.fromArray(F, panel, PANEL * k + L), v;
                v = FloatVector.broadcast(F, x[x0 + k]);
                c00 = w0.lanewise(VectorOperators.FMA, v, c00);
                c01 = w1.lanewise(VectorOperators.FMA, v, c01);
                v = FloatVector.broadcast(F, x[x1 + k]);
                c10 = w0.lanewise(VectorOperators.FMA, v, c10);
                c11 = w1.lanewise(VectorOperators.FMA, v, c11);
                v = FloatVector.broadcast(F, x[x2 + k]);
                c20 = w0.lanewise(VectorOperators.FMA, v, c20);
                c21 = w1.lanewise(VectorOperators.FMA, v, c21);
                v = FloatVector.broadcast(F, x[x3 + k]);
                c30 = w0.lanewise(VectorOperators.FMA, v, c30);
                c31 = w1.lanewise(VectorOperators.FMA, v, c31);
                v = FloatVector.broadcast(F, x[x4 + k]);
                c40 = w0.lanewise(VectorOperators.FMA, v, c40);
                c41 = w1.lanewise(VectorOperators.FMA, v, c41);
                v = FloatVector.broadcast(F, x[x5 + k]);
                c50 = w0.lanewise(VectorOperators.FMA, v, c50);
                c51 = w1.lanewise(VectorOperators.FMA, v, c51);
            }
            FloatVector d0 = FloatVector.fromArray(F, dw, PANEL * b), d1 = FloatVector.fromArray(F, dw, PANEL * b + L);
            FloatVector dv;
            dv = FloatVector.broadcast(F, xd[s0 + (b >> shift)]);
            r00 = c00.lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dv), r00);
            r01 = c01.lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dv), r01);
            dv = FloatVector.broadcast(F, xd[s1 + (b >> shift)]);
            r10 = c10.lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dv), r10);
            r11 = c11.lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dv), r11);
            dv = FloatVector.broadcast(F, xd[s2 + (b >> shift)]);
            r20 = c20.lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dv), r20);
            r21 = c21.lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dv), r21);
            dv = FloatVector.broadcast(F, xd[s3 + (b >> shift)]);
            r30 = c30.lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dv), r30);
            r31 = c31.lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dv), r31);
            dv = FloatVector.broadcast(F, xd[s4 + (b >> shift)]);
            r40 = c40.lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dv), r40);
            r41 = c41.lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dv), r41);
            dv = FloatVector.broadcast(F, xd[s5 + (b >> shift)]);
            r50 = c50.lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dv), r50);
            r51 = c51.lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dv), r51);
        }
        r00.intoArray(acc, a0);
        r01.intoArray(acc, a0 + L);
        r10.intoArray(acc, a1);
        r11.intoArray(acc, a1 + L);
        r20.intoArray(acc, a2);
        r21.intoArray(acc, a2 + L);
        r30.intoArray(acc, a3);
        r31.intoArray(acc, a3 + L);
        r40.intoArray(acc, a4);
        r41.intoArray(acc, a4 + L);
        r50.intoArray(acc, a5);
        r51.intoArray(acc, a5 + L);
    }

    /** {@link #tile} for four activation rows (the last of a batch that is not whole tiles of six). */
    static void tile4(float[] panel, int blocks, int size, int shift, float[] x, float[] xd, int[] xo, int[] so, float[] dw, float[] acc, int ao) {
        int x0 = xo[0], x1 = xo[1], x2 = xo[2], x3 = xo[3];
        int s0 = so[0], s1 = so[1], s2 = so[2], s3 = so[3];
        int a0 = ao, a1 = a0 + PANEL, a2 = a1 + PANEL, a3 = a2 + PANEL;
        // the accumulators in registers for the call (in memory between blocks they took 12% longer)
        FloatVector r00 = FloatVector.fromArray(F, acc, a0), r01 = FloatVector.fromArray(F, acc, a0 + L),
                r10 = FloatVector.fromArray(F, acc, a1), r11 = FloatVector.fromArray(F, acc, a1 + L),
                r20 = FloatVector.fromArray(F, acc, a2), r21 = FloatVector.fromArray(F, acc, a2 + L),
                r30 = FloatVector.fromArray(F, acc, a3), r31 = FloatVector.fromArray(F, acc, a3 + L);
        for (int b = 0; b < blocks; b++) {
            FloatVector z = FloatVector.zero(F), c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
            for (int k = size * b, e = k + size; k < e; k++) {
                FloatVector w0 = FloatVector.fromArray(F, panel, PANEL * k), w1 = FloatVector.fromArray(F, panel, PANEL * k + L), v;
                v = FloatVector.broadcast(F, x[x0 + k]);
                c00 = w0.lanewise(VectorOperators.FMA, v, c00);
                c01 = w1.lanewise(VectorOperators.FMA, v, c01);
                v = FloatVector.broadcast(F, x[x1 + k]);
                c10 = w0.lanewise(VectorOperators.FMA, v, c10);
                c11 = w1.lanewise(VectorOperators.FMA, v, c11);
                v = FloatVector.broadcast(F, x[x2 + k]);
                c20 = w0.lanewise(VectorOperators.FMA, v, c20);
                c21 = w1.lanewise(VectorOperators.FMA, v, c21);
                v = FloatVector.broadcast(F, x[x3 + k]);
                c30 = w0.lanewise(VectorOperators.FMA, v, c30);
                c31 = w1.lanewise(VectorOperators.FMA, v, c31);
            }
            FloatVector d0 = FloatVector.fromArray(F, dw, PANEL * b), d1 = FloatVector.fromArray(F, dw, PANEL * b + L);
            FloatVector dv;
            dv = FloatVector.broadcast(F, xd[s0 + (b >> shift)]);
            r00 = c00.lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dv), r00);
            r01 = c01.lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dv), r01);
            dv = FloatVector.broadcast(F, xd[s1 + (b >> shift)]);
            r10 = c10.lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dv), r10);
            r11 = c11.lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dv), r11);
            dv = FloatVector.broadcast(F, xd[s2 + (b >> shift)]);
            r20 = c20.lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dv), r20);
            r21 = c21.lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dv), r21);
            dv = FloatVector.broadcast(F, xd[s3 + (b >> shift)]);
            r30 = c30.lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dv), r30);
            r31 = c31.lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dv), r31);
        }
        r00.intoArray(acc, a0);
        r01.intoArray(acc, a0 + L);
        r10.intoArray(acc, a1);
        r11.intoArray(acc, a1 + L);
        r20.intoArray(acc, a2);
        r21.intoArray(acc, a2 + L);
        r30.intoArray(acc, a3);
        r31.intoArray(acc, a3 + L);
    }

    /**
     * {@link #tile} for Q4_K: after each block's scaled sum, the block's min term fused in as the
     * integer kernels do it ({@link IntKernels#dotQ4_Kx8}): -(dmin * min) times dx * (the sum of the
     * activation quants), from {@code mins} (per block and row, as dw) and {@code xs}
     * ({@link QuantizedRows#scaledSums}).
     */
    static void tileK(float[] panel, int blocks, float[] x, float[] xd, float[] xs, int[] xo, int[] so, float[] dw, float[] mins, float[] acc, int ao) {
        int x0 = xo[0], x1 = xo[1], x2 = xo[2], x3 = xo[3], x4 = xo[4], x5 = xo[5];
        int s0 = so[0], s1 = so[1], s2 = so[2], s3 = so[3], s4 = so[4], s5 = so[5];
        int a0 = ao, a1 = a0 + PANEL, a2 = a1 + PANEL, a3 = a2 + PANEL, a4 = a3 + PANEL, a5 = a4 + PANEL;
        // the accumulators in registers for the call (in memory between blocks they took 12% longer)
        FloatVector r00 = FloatVector.fromArray(F, acc, a0), r01 = FloatVector.fromArray(F, acc, a0 + L),
                r10 = FloatVector.fromArray(F, acc, a1), r11 = FloatVector.fromArray(F, acc, a1 + L),
                r20 = FloatVector.fromArray(F, acc, a2), r21 = FloatVector.fromArray(F, acc, a2 + L),
                r30 = FloatVector.fromArray(F, acc, a3), r31 = FloatVector.fromArray(F, acc, a3 + L),
                r40 = FloatVector.fromArray(F, acc, a4), r41 = FloatVector.fromArray(F, acc, a4 + L),
                r50 = FloatVector.fromArray(F, acc, a5), r51 = FloatVector.fromArray(F, acc, a5 + L);
        for (int b = 0; b < blocks; b++) {
            FloatVector z = FloatVector.zero(F), c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
            for (int k = 32 * b, e = k + 32; k < e; k++) {
                FloatVector w0 = FloatVector.fromArray(F, panel, PANEL * k), w1 = FloatVector.fromArray(F, panel, PANEL * k + L), v;
                v = FloatVector.broadcast(F, x[x0 + k]);
                c00 = w0.lanewise(VectorOperators.FMA, v, c00);
                c01 = w1.lanewise(VectorOperators.FMA, v, c01);
                v = FloatVector.broadcast(F, x[x1 + k]);
                c10 = w0.lanewise(VectorOperators.FMA, v, c10);
                c11 = w1.lanewise(VectorOperators.FMA, v, c11);
                v = FloatVector.broadcast(F, x[x2 + k]);
                c20 = w0.lanewise(VectorOperators.FMA, v, c20);
                c21 = w1.lanewise(VectorOperators.FMA, v, c21);
                v = FloatVector.broadcast(F, x[x3 + k]);
                c30 = w0.lanewise(VectorOperators.FMA, v, c30);
                c31 = w1.lanewise(VectorOperators.FMA, v, c31);
                v = FloatVector.broadcast(F, x[x4 + k]);
                c40 = w0.lanewise(VectorOperators.FMA, v, c40);
                c41 = w1.lanewise(VectorOperators.FMA, v, c41);
                v = FloatVector.broadcast(F, x[x5 + k]);
                c50 = w0.lanewise(VectorOperators.FMA, v, c50);
                c51 = w1.lanewise(VectorOperators.FMA, v, c51);
            }
            FloatVector d0 = FloatVector.fromArray(F, dw, PANEL * b), d1 = FloatVector.fromArray(F, dw, PANEL * b + L);
            FloatVector m0 = FloatVector.fromArray(F, mins, PANEL * b).lanewise(VectorOperators.NEG), m1 = FloatVector.fromArray(F, mins, PANEL * b + L).lanewise(VectorOperators.NEG), e;
            FloatVector dv;
            dv = FloatVector.broadcast(F, xd[s0 + b]);
            e = FloatVector.broadcast(F, xs[s0 + b]);
            r00 = c00.lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dv), r00);
            r00 = m0.lanewise(VectorOperators.FMA, e, r00);
            r01 = c01.lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dv), r01);
            r01 = m1.lanewise(VectorOperators.FMA, e, r01);
            dv = FloatVector.broadcast(F, xd[s1 + b]);
            e = FloatVector.broadcast(F, xs[s1 + b]);
            r10 = c10.lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dv), r10);
            r10 = m0.lanewise(VectorOperators.FMA, e, r10);
            r11 = c11.lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dv), r11);
            r11 = m1.lanewise(VectorOperators.FMA, e, r11);
            dv = FloatVector.broadcast(F, xd[s2 + b]);
            e = FloatVector.broadcast(F, xs[s2 + b]);
            r20 = c20.lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dv), r20);
            r20 = m0.lanewise(VectorOperators.FMA, e, r20);
            r21 = c21.lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dv), r21);
            r21 = m1.lanewise(VectorOperators.FMA, e, r21);
            dv = FloatVector.broadcast(F, xd[s3 + b]);
            e = FloatVector.broadcast(F, xs[s3 + b]);
            r30 = c30.lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dv), r30);
            r30 = m0.lanewise(VectorOperators.FMA, e, r30);
            r31 = c31.lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dv), r31);
            r31 = m1.lanewise(VectorOperators.FMA, e, r31);
            dv = FloatVector.broadcast(F, xd[s4 + b]);
            e = FloatVector.broadcast(F, xs[s4 + b]);
            r40 = c40.lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dv), r40);
            r40 = m0.lanewise(VectorOperators.FMA, e, r40);
            r41 = c41.lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dv), r41);
            r41 = m1.lanewise(VectorOperators.FMA, e, r41);
            dv = FloatVector.broadcast(F, xd[s5 + b]);
            e = FloatVector.broadcast(F, xs[s5 + b]);
            r50 = c50.lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dv), r50);
            r50 = m0.lanewise(VectorOperators.FMA, e, r50);
            r51 = c51.lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dv), r51);
            r51 = m1.lanewise(VectorOperators.FMA, e, r51);
        }
        r00.intoArray(acc, a0);
        r01.intoArray(acc, a0 + L);
        r10.intoArray(acc, a1);
        r11.intoArray(acc, a1 + L);
        r20.intoArray(acc, a2);
        r21.intoArray(acc, a2 + L);
        r30.intoArray(acc, a3);
        r31.intoArray(acc, a3 + L);
        r40.intoArray(acc, a4);
        r41.intoArray(acc, a4 + L);
        r50.intoArray(acc, a5);
        r51.intoArray(acc, a5 + L);
    }

    /** {@link #tileK} for four activation rows. */
    static void tile4K(float[] panel, int blocks, float[] x, float[] xd, float[] xs, int[] xo, int[] so, float[] dw, float[] mins, float[] acc, int ao) {
        int x0 = xo[0], x1 = xo[1], x2 = xo[2], x3 = xo[3];
        int s0 = so[0], s1 = so[1], s2 = so[2], s3 = so[3];
        int a0 = ao, a1 = a0 + PANEL, a2 = a1 + PANEL, a3 = a2 + PANEL;
        // the accumulators in registers for the call (in memory between blocks they took 12% longer)
        FloatVector r00 = FloatVector.fromArray(F, acc, a0), r01 = FloatVector.fromArray(F, acc, a0 + L),
                r10 = FloatVector.fromArray(F, acc, a1), r11 = FloatVector.fromArray(F, acc, a1 + L),
                r20 = FloatVector.fromArray(F, acc, a2), r21 = FloatVector.fromArray(F, acc, a2 + L),
                r30 = FloatVector.fromArray(F, acc, a3), r31 = FloatVector.fromArray(F, acc, a3 + L);
        for (int b = 0; b < blocks; b++) {
            FloatVector z = FloatVector.zero(F), c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
            for (int k = 32 * b, e = k + 32; k < e; k++) {
                FloatVector w0 = FloatVector.fromArray(F, panel, PANEL * k), w1 = FloatVector.fromArray(F, panel, PANEL * k + L), v;
                v = FloatVector.broadcast(F, x[x0 + k]);
                c00 = w0.lanewise(VectorOperators.FMA, v, c00);
                c01 = w1.lanewise(VectorOperators.FMA, v, c01);
                v = FloatVector.broadcast(F, x[x1 + k]);
                c10 = w0.lanewise(VectorOperators.FMA, v, c10);
                c11 = w1.lanewise(VectorOperators.FMA, v, c11);
                v = FloatVector.broadcast(F, x[x2 + k]);
                c20 = w0.lanewise(VectorOperators.FMA, v, c20);
                c21 = w1.lanewise(VectorOperators.FMA, v, c21);
                v = FloatVector.broadcast(F, x[x3 + k]);
                c30 = w0.lanewise(VectorOperators.FMA, v, c30);
                c31 = w1.lanewise(VectorOperators.FMA, v, c31);
            }
            FloatVector d0 = FloatVector.fromArray(F, dw, PANEL * b), d1 = FloatVector.fromArray(F, dw, PANEL * b + L);
            FloatVector m0 = FloatVector.fromArray(F, mins, PANEL * b).lanewise(VectorOperators.NEG), m1 = FloatVector.fromArray(F, mins, PANEL * b + L).lanewise(VectorOperators.NEG), e;
            FloatVector dv;
            dv = FloatVector.broadcast(F, xd[s0 + b]);
            e = FloatVector.broadcast(F, xs[s0 + b]);
            r00 = c00.lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dv), r00);
            r00 = m0.lanewise(VectorOperators.FMA, e, r00);
            r01 = c01.lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dv), r01);
            r01 = m1.lanewise(VectorOperators.FMA, e, r01);
            dv = FloatVector.broadcast(F, xd[s1 + b]);
            e = FloatVector.broadcast(F, xs[s1 + b]);
            r10 = c10.lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dv), r10);
            r10 = m0.lanewise(VectorOperators.FMA, e, r10);
            r11 = c11.lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dv), r11);
            r11 = m1.lanewise(VectorOperators.FMA, e, r11);
            dv = FloatVector.broadcast(F, xd[s2 + b]);
            e = FloatVector.broadcast(F, xs[s2 + b]);
            r20 = c20.lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dv), r20);
            r20 = m0.lanewise(VectorOperators.FMA, e, r20);
            r21 = c21.lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dv), r21);
            r21 = m1.lanewise(VectorOperators.FMA, e, r21);
            dv = FloatVector.broadcast(F, xd[s3 + b]);
            e = FloatVector.broadcast(F, xs[s3 + b]);
            r30 = c30.lanewise(VectorOperators.FMA, d0.lanewise(VectorOperators.MUL, dv), r30);
            r30 = m0.lanewise(VectorOperators.FMA, e, r30);
            r31 = c31.lanewise(VectorOperators.FMA, d1.lanewise(VectorOperators.MUL, dv), r31);
            r31 = m1.lanewise(VectorOperators.FMA, e, r31);
        }
        r00.intoArray(acc, a0);
        r01.intoArray(acc, a0 + L);
        r10.intoArray(acc, a1);
        r11.intoArray(acc, a1 + L);
        r20.intoArray(acc, a2);
        r21.intoArray(acc, a2 + L);
        r30.intoArray(acc, a3);
        r31.intoArray(acc, a3 + L);
    }
}
