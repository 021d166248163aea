package dev.genset.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * Activation rows quantized to signed 8-bit integers in 32-value blocks, each block with an fp16
 * scale: what llama.cpp does to activations (its Q8_0) before multiplying them with Q8_0 or Q4_0
 * weights, so that each block's dot product is integer arithmetic. Q4_K weights use the same
 * blocks here (llama.cpp quantizes their activations in 256-value blocks). The values are kept widened to
 * 16 bits, the form {@link IntKernels} multiplies.
 *
 * <p>Quantization follows llama.cpp's x86 code: scale d = amax / 127 stored as fp16, values
 * round-half-even(x * 127 / amax). One object per caller, reused: no allocation once it has held
 * a batch of the same size.
 */
final class QuantizedRows {
    static final int BLOCK = 32;

    /** Quantized values, row-major: row r starts at r * cols. */
    short[] q = new short[0];
    /** Block scales, row-major: row r's block g at r * blocks + g. */
    float[] d = new float[0];
    /**
     * Each block's scale times the sum of its quantized values: what a weight type with a
     * per-block offset (Q4_K's mins) multiplies that offset by.
     */
    float[] scaledSums = new float[0];
    /** Each block's sum of its quantized values (what {@link IntKernels#dotQ4_0x8} corrects unsigned quants by). */
    int[] sums = new int[0];
    /**
     * Adjacent quants (2k, 2k + 1) of each row packed into one int, low half first: the form whose
     * broadcast multiplies interleaved Q8_0 and Q6_K weights ({@link IntKernels#dotQ8_0x8},
     * {@link IntKernels#dotQ6_Kx8}); made by {@link #quantize(Parallel, float[], int, int, boolean, boolean, boolean, boolean)}.
     */
    int[] pairs = new int[0];
    /**
     * What the byte lanes of {@link InterleavedQ4_0} and {@link InterleavedQ4_K} multiply: per run of four quants x0 .. x3, two ints,
     * the pair (x0, x1) and the steps (x2 - 16 x0, x3 - 16 x1), low half first (see
     * {@link IntKernels#dotQ4_0x8}); made by {@link #quantize(Parallel, float[], int, int, boolean, boolean, boolean, boolean)}.
     * A step is at most 127 + 16 * 127 in size: a short.
     */
    int[] steps = new int[0];
    /**
     * {@link #pairs} and {@link #steps} spread for the 512-bit kernels ({@link IntKernels#WIDE_Q4}, {@link IntKernels#WIDE_Q8_0}, {@link IntKernels#WIDE_Q6_K}), row r
     * at r * 4 * cols, for the rows the single-row kernels take (all rows, or those past the last
     * four when runs of four are interleaved; pairs of all rows when asked, for Q6_K's two-row 512-bit
     * kernel, {@link IntKernels#dotQ6_Kx16x2w}): each int repeated over eight lanes, so that one load
     * gives two chunks' activations side by side, as the 32 weight bytes of two chunks widen. Pairs
     * in order (pair 2m, then 2m + 1: 16 ints a step of {@link IntKernels#dotQ8_0x16w}); steps by two
     * chunks c = 2m, 2m + 1: their pairs, then their steps (32 ints, {@link IntKernels#dotQ4_0x16w}).
     */
    int[] widePairs = new int[0], wideSteps = new int[0];
    /** Whether a 512-bit kernel takes pairs (Q8_0's, or Q6_K's where its kernel is wide too): then they are spread. */
    private static final boolean WIDE_PAIRS = IntKernels.WIDE_Q8_0 || IntKernels.WIDE_Q6_K;
    /** {@link #q} as floats (whole numbers), row-major: what {@link FloatGemm} broadcasts; made when asked. */
    float[] values = new float[0];
    int rows, cols, blocks;

    /** Quantizes rows [0, rows) of x (cols values each, cols a multiple of 32). */
    void quantize(float[] x, int rows, int cols) {
        size(rows, cols);
        for (int b = 0, n = rows * blocks; b < n; b++) quantizeBlock(x, b * BLOCK, q, d, scaledSums, sums, b);
    }

    private void size(int rows, int cols) {
        if (cols % BLOCK != 0) throw new IllegalArgumentException(cols + " columns is not a whole number of 32-value blocks");
        this.rows = rows;
        this.cols = cols;
        this.blocks = cols / BLOCK;
        if (q.length < rows * cols) q = new short[rows * cols];
        if (d.length < rows * blocks) {
            d = new float[rows * blocks];
            scaledSums = new float[rows * blocks];
            sums = new int[rows * blocks];
        }
    }

    /**
     * {@link #quantize}, then (if asked) the {@link #pairs}, the {@link #steps} and the runs of four
     * rows interleaved ({@link #pairs4}, {@link #steps4} and the rest), four rows to a unit of work
     * spread over the pool's threads: for a prompt this is a few hundred microseconds a product that
     * the other threads would otherwise wait out. The same values however the rows are split.
     * With {@code floats}, the quants as floats too ({@link #values}).
     */
    void quantize(Parallel pool, float[] x, int rows, int cols, boolean pairs, boolean steps, boolean interleave, boolean floats) {
        quantize(pool, x, rows, cols, pairs, steps, interleave, floats, false);
    }

    /**
     * The same, with {@code widePairsOfAll} the {@link #widePairs} of every row, those in runs of four
     * too (for {@link IntKernels#dotQ6_Kx16x2w}).
     */
    void quantize(Parallel pool, float[] x, int rows, int cols, boolean pairs, boolean steps, boolean interleave, boolean floats, boolean widePairsOfAll) {
        size(rows, cols);
        if (floats && values.length < rows * cols) values = new float[rows * cols];
        int half = cols / 2, quads = rows / 4;
        if (pairs && this.pairs.length < rows * half) this.pairs = new int[rows * half];
        if (steps && this.steps.length < rows * half) this.steps = new int[rows * half];
        sizeWide(pairs && WIDE_PAIRS, steps && IntKernels.WIDE_Q4);
        if (interleave) {
            if (pairs && pairs4.length < quads * 4 * half) pairs4 = new int[quads * 4 * half];
            if (steps && steps4.length < quads * 4 * half) steps4 = new int[quads * 4 * half];
            if (sums4.length < quads * 4 * blocks) {
                sums4 = new int[quads * 4 * blocks];
                d4 = new float[quads * 4 * blocks];
                scaledSums4 = new float[quads * 4 * blocks];
            }
        }
        task.x = x;
        task.pairs = pairs;
        task.steps = steps;
        task.interleave = interleave;
        task.floats = floats;
        task.widePairsOfAll = widePairsOfAll;
        try {
            pool.forRange((rows + 3) / 4, task, 8L * rows * cols);
        } finally {
            task.x = null;
        }
    }

    /** The reusable task of {@link #quantize(Parallel, float[], int, int, boolean, boolean, boolean, boolean, boolean)}: runs of four rows. */
    private final class QuadTask implements Parallel.RangeTask {
        float[] x;
        boolean pairs, steps, interleave, floats, widePairsOfAll;

        @Override
        public void run(int from, int to) {
            int first = 4 * from, end = Math.min(rows, 4 * to);
            for (int b = first * blocks; b < end * blocks; b++) quantizeBlock(x, b * BLOCK, q, d, scaledSums, sums, b);
            if (floats) for (int i = first * cols, n = end * cols; i < n; i++) values[i] = q[i];
            if (pairs) pairUp(first, end);
            if (steps) stepUp(first, end);
            int single = Math.max(first, interleave ? rows / 4 * 4 : 0);
            if (pairs && WIDE_PAIRS) spreadPairs(widePairsOfAll ? first : single, end);
            if (steps && IntKernels.WIDE_Q4) spreadSteps(single, end);
            if (interleave) for (int t = from; t < to && 4 * t + 4 <= rows; t++) interleave4(t, pairs, steps);
        }
    }

    private final QuadTask task = new QuadTask();

    /**
     * {@link #pairs}, {@link #steps}, {@link #sums}, {@link #d} and {@link #scaledSums} of each run of
     * four rows interleaved (see {@link IntKernels#dotQ4_0x8x4}); rows past the last four are left out.
     */
    int[] pairs4 = new int[0], steps4 = new int[0], sums4 = new int[0];
    float[] d4 = new float[0], scaledSums4 = new float[0];

    /** Rows 4t .. 4t + 3 into {@link #pairs4} and {@link #steps4} (those asked for), {@link #sums4}, {@link #d4} and {@link #scaledSums4}. */
    private void interleave4(int t, boolean pairs, boolean steps) {
        int half = cols / 2;
        for (int a = 0; a < 4; a++) {
            int row = 4 * t + a;
            if (pairs) for (int k = 0; k < half; k++) pairs4[4 * (t * half + k) + a] = this.pairs[row * half + k];
            if (steps) for (int k = 0; k < half; k++) steps4[4 * (t * half + k) + a] = this.steps[row * half + k];
            for (int b = 0; b < blocks; b++) {
                sums4[4 * (t * blocks + b) + a] = sums[row * blocks + b];
                d4[4 * (t * blocks + b) + a] = d[row * blocks + b];
                scaledSums4[4 * (t * blocks + b) + a] = scaledSums[row * blocks + b];
            }
        }
    }

    /** Rows [first, end) of {@link #pairs} from the quantized values. */
    private void pairUp(int first, int end) {
        for (int k = first * cols / 2, n = end * cols / 2; k < n; k++) pairs[k] = (q[2 * k] & 0xFFFF) | q[2 * k + 1] << 16;
    }

    /** Rows [first, end) of {@link #steps} from the quantized values: two ints per run of four. */
    private void stepUp(int first, int end) {
        for (int i = first * cols, n = end * cols; i < n; i += 4) {
            steps[i / 2] = (q[i] & 0xFFFF) | q[i + 1] << 16;
            steps[i / 2 + 1] = ((q[i + 2] - 16 * q[i]) & 0xFFFF) | (q[i + 3] - 16 * q[i + 1]) << 16;
        }
    }

    private void sizeWide(boolean pairs, boolean steps) {
        if (pairs && widePairs.length < rows * 4 * cols) widePairs = new int[rows * 4 * cols];
        if (steps && wideSteps.length < rows * 4 * cols) wideSteps = new int[rows * 4 * cols];
    }

    /** {@link #widePairs} and {@link #wideSteps} of every row, whatever the CPU (tests of the 512-bit kernels). */
    void spreadAll() {
        sizeWide(true, true);
        spreadPairs(0, rows);
        spreadSteps(0, rows);
    }

    /** Rows [first, end) of {@link #widePairs}: each pair eight times. */
    private void spreadPairs(int first, int end) {
        for (int k = first * cols / 2, n = end * cols / 2; k < n; k++) Arrays.fill(widePairs, 8 * k, 8 * k + 8, pairs[k]);
    }

    /** Rows [first, end) of {@link #wideSteps}: per two chunks (four ints of steps), ints 0, 2, 1, 3 eight times each. */
    private void spreadSteps(int first, int end) {
        for (int k = first * cols / 2, n = end * cols / 2; k < n; k += 4) {
            Arrays.fill(wideSteps, 8 * k, 8 * k + 8, steps[k]);
            Arrays.fill(wideSteps, 8 * k + 8, 8 * k + 16, steps[k + 2]);
            Arrays.fill(wideSteps, 8 * k + 16, 8 * k + 24, steps[k + 1]);
            Arrays.fill(wideSteps, 8 * k + 24, 8 * k + 32, steps[k + 3]);
        }
    }

    /** One block by the vector code, or by the scalar reference (the same results) where there is no vector code or during the {@link ColdStart}. */
    private static void quantizeBlock(float[] x, int off, short[] q, float[] d, float[] scaledSums, int[] sums, int block) {
        if (Simd.ENABLED && !ColdStart.on()) quantizeBlockVector(x, off, q, d, scaledSums, sums, block);
        else quantizeBlockScalar(x, off, q, d, scaledSums, sums, block);
    }

    /**
     * 127 / amax, the factor that takes the block's values to quants; 0 for a block of zeros, and
     * for one whose largest value is so small (below about 4e-37) that the factor overflows: its
     * fp16 scale is 0 anyway, and an infinite factor would turn its values into wrapped integers.
     */
    private static float inverse(float amax) {
        float id = amax != 0f ? 127f / amax : 0f;
        return id == Float.POSITIVE_INFINITY ? 0f : id;
    }

    /** The reference: one value at a time. */
    static void quantizeBlockScalar(float[] x, int off, short[] q, float[] d, float[] scaledSums, int[] sums, int block) {
        float amax = 0f;
        for (int j = 0; j < BLOCK; j++) amax = Math.max(amax, Math.abs(x[off + j]));
        d[block] = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
        float id = inverse(amax);
        int sum = 0;
        for (int j = 0; j < BLOCK; j++) sum += q[off + j] = (short) Math.rint(x[off + j] * id);
        scaledSums[block] = d[block] * sum;
        sums[block] = sum;
    }

    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final VectorSpecies<Short> S8 = ShortVector.SPECIES_128;
    /** 1.5 * 2^23: added to a float below 2^22 in size and subtracted again, it rounds it to an integer, ties to even, as Math.rint does. */
    private static final float ROUND = 0x1.8p23f;

    /**
     * {@link #quantizeBlockScalar} eight values at a time, with the same results: the largest
     * magnitude and the integer sum do not depend on the order they are taken in (the sum's terms
     * are whole numbers, exact in floats), the products x * id are the same float products, and
     * rounding by adding and subtracting {@link #ROUND} is Math.rint for them (at most 127 or so in
     * size). A NaN among the values makes amax and every product NaN, which converts to 0, as the
     * scalar cast does; an infinity makes id 0 and its product NaN, likewise.
     */
    static void quantizeBlockVector(float[] x, int off, short[] q, float[] d, float[] scaledSums, int[] sums, int block) {
        FloatVector v0 = FloatVector.fromArray(F8, x, off), v1 = FloatVector.fromArray(F8, x, off + 8),
                v2 = FloatVector.fromArray(F8, x, off + 16), v3 = FloatVector.fromArray(F8, x, off + 24);
        float amax = v0.abs().max(v1.abs()).max(v2.abs().max(v3.abs())).reduceLanes(VectorOperators.MAX);
        float scale = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
        d[block] = scale;
        float id = inverse(amax);
        FloatVector r0 = v0.mul(id).add(ROUND).sub(ROUND), r1 = v1.mul(id).add(ROUND).sub(ROUND),
                r2 = v2.mul(id).add(ROUND).sub(ROUND), r3 = v3.mul(id).add(ROUND).sub(ROUND);
        ((ShortVector) r0.convertShape(VectorOperators.F2S, S8, 0)).intoArray(q, off);
        ((ShortVector) r1.convertShape(VectorOperators.F2S, S8, 0)).intoArray(q, off + 8);
        ((ShortVector) r2.convertShape(VectorOperators.F2S, S8, 0)).intoArray(q, off + 16);
        ((ShortVector) r3.convertShape(VectorOperators.F2S, S8, 0)).intoArray(q, off + 24);
        int sum = (int) r0.add(r1).add(r2.add(r3)).reduceLanes(VectorOperators.ADD);
        scaledSums[block] = scale * sum;
        sums[block] = sum;
    }

    /** The value of element i of row r as the kernels see it (q * d), for tests. */
    float value(int r, int i) {
        return q[r * cols + i] * d[r * blocks + i / BLOCK];
    }
}
