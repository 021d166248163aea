package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.genset.engine.tensor.Simd.F;
import static dev.genset.engine.tensor.Simd.L;

/**
 * Matrix products of a weight tensor (rows x cols, row-major) with activations, split across
 * the threads of a {@link Parallel} pool. Calls allocate nothing once a thread has run one of
 * the same size (the task object and the decode buffers are reused per thread).
 *
 * <p><b>Q8_0, Q4_0, Q4_K, Q5_K, Q6_K, IQ4_NL and IQ4_XS (and Q3_K, Q5_0) multiply in integers</b>, as llama.cpp does: the activation rows are first
 * quantized to 8 bits per 32-value block ({@link QuantizedRows}, once per call, on the pool's
 * threads), then each block's product is an exact integer dot product scaled by the two block
 * scales ({@link IntKernels}). Q8_0, Q4_0, Q4_K and Q6_K weights whose rows come in whole groups of eight
 * are repacked, once per tensor, with eight rows interleaved ({@link InterleavedQ8_0}, {@link InterleavedQ4_0},
 * {@link InterleavedQ4_K}, {@link InterleavedQ6_K}); Q3_K and Q5_0 weights, and Q6_K in rows that
 * are not, are repacked to a byte per value ({@link PackedQuants}). The other types multiply floats.
 * Matrices that share their activations (a layer's query, key and value) can go in one product.
 * On CPUs with 512-bit vectors, batches of interleaved Q8_0, Q4_0, Q4_K and Q6_K weights (a prompt,
 * or the decode steps of many sequences) take {@link FloatGemm} instead: the same integer products,
 * computed exactly with float fused multiply-adds, bit for bit the integer kernels' results; Q4_0's
 * and Q4_K's take {@link ShortGemm}, whose block sums fit 16-bit lanes, with the same results again.
 *
 * <p><b>Batch invariance.</b> Every output element, the dot product of one weight row with one
 * activation row, is computed by the same sequence of floating-point operations whatever the
 * batch size and whatever else is in the batch: each type's single-row kernel defines the
 * sequence, and the batched path repeats it from a decoded tile. For F32, F16 and BF16 that
 * is: chunks of L values decoded exactly as {@link FloatTensor#dequantize} decodes them, fused into
 * one accumulator per (weight row, activation row) pair in column order, lanes summed in lane
 * order ({@link Simd#sum}), values past the last whole chunk added one by one. The integer
 * kernels have their own (see {@link IntKernels}). So a sequence decoded alone and the same
 * sequence decoded in a batch with others produce bit-identical logits.
 *
 * <p>A single activation row (decode) streams the weights once through the type's fused kernel.
 * A batch (prefill, or the decode steps of several sequences) decodes a tile of
 * {@value #TILE_ROWS} weight rows once and multiplies it with every activation row, so the
 * weights are read and decoded once per call (per chunk of activation rows for the integer
 * kernels) rather than once per token.
 */
public final class MatMul {
    private MatMul() {}

    static final int TILE_ROWS = 4;

    /** out[r] = dot(w row r, x) for r in [0, rows). */
    public static void matvec(Parallel pool, FloatTensor w, float[] x, float[] out, int rows, int cols) {
        run(pool, w, x, 1, out, rows, cols);
    }

    /**
     * Batched product: for each of {@code batch} activation rows x[b*cols ..], out[b*rows + r] =
     * dot(w row r, x row b). Element for element equal to {@link #matvec} of that activation row.
     */
    public static void matmul(Parallel pool, FloatTensor w, float[] x, int batch, float[] out, int rows, int cols) {
        run(pool, w, x, batch, out, rows, cols);
    }

    private static final ThreadLocal<Job> JOBS = ThreadLocal.withInitial(Job::new);
    private static final ThreadLocal<float[][]> TILES = ThreadLocal.withInitial(() -> new float[1][0]);

    private static float[] tile(int size) {
        return floats(TILES, size);
    }

    /** This thread's buffer from holder, at least {@code size} floats long (grown once, then reused). */
    private static float[] floats(ThreadLocal<float[][]> holder, int size) {
        float[][] h = holder.get();
        if (h[0].length < size) h[0] = new float[size];
        return h[0];
    }

    /** {@link #floats} for shorts. */
    private static short[] shorts(ThreadLocal<short[][]> holder, int size) {
        short[][] h = holder.get();
        if (h[0].length < size) h[0] = new short[size];
        return h[0];
    }

    /**
     * Products of several matrices with the same activations (a layer's query, key and value
     * projections; its gate and up projections): the activations are quantized once and the pool
     * takes all the matrices' rows in one hand-off, instead of one of each per matrix (a decode step
     * is made of such hand-offs, and each ends waiting for the slowest thread). out[i] is what
     * {@link #matmul} of ws[i] gives, bit for bit.
     */
    public static void matmul(Parallel pool, FloatTensor[] ws, float[] x, int batch, float[][] outs, int[] rows, int cols) {
        if (ws.length > MAX_PARTS) throw new IllegalArgumentException("at most " + MAX_PARTS + " matrices in one product, not " + ws.length);
        run(pool, ws, null, x, null, batch, outs, null, rows, 0, cols);
    }

    /**
     * Several matrices, each times an input row of its own: outs[i][0 .. rows[i]) = ws[i] · xs[i]
     * (rows of {@code cols} values), in one hand-off to the pool (as the experts a token is routed
     * to take their own inputs). Each result is the one {@link #matmul(Parallel, FloatTensor, float[], int, float[], int, int)}
     * gives for that matrix and row alone.
     */
    public static void matmulEach(Parallel pool, FloatTensor[] ws, float[][] xs, float[][] outs, int[] rows, int cols) {
        if (ws.length > MAX_PARTS) throw new IllegalArgumentException("at most " + MAX_PARTS + " matrices in one product, not " + ws.length);
        if (xs.length != ws.length) throw new IllegalArgumentException(ws.length + " matrices, " + xs.length + " inputs");
        run(pool, ws, null, null, xs, 1, outs, null, rows, 0, cols);
    }

    /**
     * Makes now, with the pool's threads, the repacked form that the first product of w (rows of
     * {@code cols} values) would otherwise make ({@link #run}); nothing for a matrix multiplied in
     * its stored form, or one already made. A model's loader calls it ahead of the first products,
     * so that they find their forms made (or waits for the one being made).
     */
    public static void repack(FloatTensor w, int cols, Parallel pool) {
        if (!IntKernels.handles(w) || cols <= 0 || cols % w.type().blockSize != 0) return;
        new Part().takeForms(w, cols, pool, Integer.MAX_VALUE);
    }

    /**
     * Products of at most this many activation rows take a Q8_0, Q4_0, Q4_K or Q6_K matrix that a model's
     * repacking ahead has not made yet in its stored bytes, in the repacked form's order
     * ({@link FloatTensor#expectRepackingAhead}), rather than make it or wait for it: a model's
     * first pass over a short prompt then need not wait for the whole file's repacking. Larger
     * batches are worth the repacked form's batched kernels. {@code genset.inOrderRows} sets it (0:
     * never), for measurements.
     */
    static final int IN_ORDER_ROWS = Integer.getInteger("genset.inOrderRows", 8);

    /** Matrices one product may take (those a mixture of experts' token is routed to: a gate and an up matrix each). */
    public static final int MAX_PARTS = 32;

    private static void run(Parallel pool, FloatTensor w, float[] x, int batch, float[] out, int rows, int cols) {
        run(pool, null, w, x, null, batch, null, out, null, rows, cols);
    }

    /** Told how long each product took, from its call to its return (activations quantized and every thread's share done). */
    public interface ProductTimer {
        /**
         * A product of {@code weights} (a fused product's first matrix) with {@code batch} activation
         * rows took {@code nanos}; called on the thread that asked for the product.
         */
        void product(FloatTensor weights, int batch, long nanos);
    }

    /** Null but while a benchmark breaks a pass down ({@code genset bench --breakdown}): then one clock read each side of a product. */
    private static volatile ProductTimer productTimer;

    /** Times every product from now on with {@code timer} (null: none), whatever thread asks for it. */
    public static void timeProducts(ProductTimer timer) {
        productTimer = timer;
    }

    /** One matrix (w, out, rows) or several (ws, outs, rowCounts), on input x, or each on its own input row (xs). */
    private static void run(Parallel pool, FloatTensor[] ws, FloatTensor w, float[] x, float[][] xs, int batch, float[][] outs, float[] out,
                            int[] rowCounts, int rows, int cols) {
        int count = ws != null ? ws.length : 1;
        if (batch <= 0 || count == 0 || ws == null && rows <= 0) return;
        ProductTimer timer = productTimer;
        long began = timer == null ? 0 : System.nanoTime();
        Job job = JOBS.get();
        if (job.busy) job = new Job();  // a product started from inside another one
        job.set(x, batch, cols);
        try {
            boolean integer = false, pairs = false, steps = false, floats = false, q6Runs = false, timed = ReadAhead.AUTO, readsAhead = false;
            long work = 0;
            for (int i = 0; i < count; i++) {
                FloatTensor m = ws != null ? ws[i] : w;
                int r = ws != null ? rowCounts[i] : rows;
                // GGUF guarantees this for every tensor (ggml's rule); the kernels rely on it
                if (cols % m.type().blockSize != 0)
                    throw new IllegalArgumentException("rows of " + cols + " values are not whole " + m.type() + " blocks of " + m.type().blockSize);
                Part part = job.add(m, ws != null ? outs[i] : out, r);
                part.x = xs == null ? null : xs[i];
                if (part.integer) {
                    part.takeForms(m, cols, pool, batch);
                    integer = true;
                    part.shorts = xs == null && (part.q4 != null || part.q4k != null) && ShortGemm.takes(batch, m.type());
                    part.gemm = part.shorts || xs == null && part.interleaved() && FloatGemm.takes(batch, m.type());
                    floats |= part.gemm && !part.shorts;
                    pairs |= !part.gemm && (part.q8 != null || part.q6i != null);
                    q6Runs |= !part.gemm && part.q6i != null;
                    steps |= !part.gemm && (part.q4 != null || part.q4k != null);
                    readsAhead |= part.interleaved() && ReadAhead.reads(m.type(), true);
                }
                timed &= !part.inOrder;
                part.units = r <= 0 ? 0 : part.inOrder ? r : part.shorts ? ShortGemm.panels(r) : part.gemm ? FloatGemm.panels(r) : part.interleaved() ? r / 8 : job.fused ? r : (r + TILE_ROWS - 1) / TILE_ROWS;
                work += (long) r * cols * batch;
            }
            // interleaved weights multiply activation pairs or steps (and runs of four rows interleaved)
            // (Q6_K's runs of rows take every row's spread pairs where its kernels are 512-bit)
            if (integer && xs == null) job.xq.quantize(pool, x, batch, cols, pairs, steps, (pairs || steps) && batch >= 4, floats, q6Runs && IntKernels.WIDE_Q6_K);
            else if (integer)
                for (int i = 0; i < count; i++) if (job.parts[i].integer) job.parts[i].ownXq().quantize(pool, job.parts[i].x, 1, cols, pairs, steps, false, false);
            // a product of interleaved weights in their repacked form is timed, for the choice to read ahead
            // (a product with nothing to read ahead neither asks nor is timed)
            timed &= readsAhead;
            ReadAhead choice = ReadAhead.forBatch(batch);
            job.readAhead = readsAhead && choice.next(timed);
            long start = timed ? System.nanoTime() : 0;
            pool.forRange(job.seal(), job, work);
            if (timed) choice.record(job.readAhead, work, System.nanoTime() - start);
        } finally {
            job.clear();
        }
        if (timer != null) timer.product(ws != null ? ws[0] : w, batch, System.nanoTime() - began);
    }

    /** One matrix of a product: its weights in the form the kernels read, its output, and its share of the range. */
    private static final class Part {
        FloatTensor w;
        float[] out;
        int rows, units;
        boolean integer;
        /** Whether this Q8_0, Q4_0, Q4_K or Q6_K matrix is read in its stored bytes in its repacked form's order ({@link #IN_ORDER_ROWS}); then the range is over rows. */
        boolean inOrder;
        /** Whether this (interleaved Q4_0, Q8_0, Q4_K or Q6_K) matrix takes {@link FloatGemm}; then the range is over its panels. */
        boolean gemm;
        /** Whether this (interleaved Q4_0 or Q4_K) matrix takes {@link ShortGemm} (then {@link #gemm} too); the range is over its panels. */
        boolean shorts;
        /** Packed weights (Q6_K, and Q3_K or Q5_0 where repacked) in the form the integer kernels read. */
        PackedQuants q6;
        /** Q4_0 weights with eight rows interleaved, where repacked; then the range is over groups of 8 rows. */
        InterleavedQ4_0 q4;
        /** Q8_0 weights with eight rows interleaved, where repacked; then the range is over groups of 8 rows. */
        InterleavedQ8_0 q8;
        /** Q4_K weights with eight rows interleaved, where repacked; then the range is over groups of 8 rows. */
        InterleavedQ4_K q4k;
        /** Q6_K weights with eight rows interleaved (instead of {@link #q6}); then the range is over groups of 8 rows. */
        InterleavedQ6_K q6i;
        /** This matrix's own input row, where each has one ({@link #matmulEach}); else null: the job's. */
        float[] x;
        private QuantizedRows xq;

        /** This part's own quantized input (made once, reused). */
        QuantizedRows ownXq() {
            if (xq == null) xq = new QuantizedRows();
            return xq;
        }

        boolean interleaved() {
            return q4 != null || q8 != null || q4k != null || q6i != null;
        }

        /**
         * The forms w (rows of {@code cols} values) is multiplied in, made now on the pool if not
         * made yet (on first use, or ahead of it by {@link MatMul#repack}): the one place that says
         * which form each type takes. A product of {@code batch} rows, at most {@link #IN_ORDER_ROWS},
         * takes a matrix whose form a model's repacking ahead is still to make in its stored bytes
         * instead ({@link #inOrder}).
         */
        void takeForms(FloatTensor w, int cols, Parallel pool, int batch) {
            inOrder = batch <= IN_ORDER_ROWS && w.comingAhead(cols);
            if (inOrder) return;
            if (w instanceof Q6_KTensor t && (q6i = t.interleaved(pool, cols)) == null) q6 = t.packed(pool);
            if (w instanceof DecodedTensor d && d.packs()) q6 = d.packed(pool);
            if (w instanceof Q4_0Tensor t) q4 = t.interleaved(pool, cols);
            if (w instanceof Q8_0Tensor t) q8 = t.interleaved(pool, cols);
            if (w instanceof Q4_KTensor t) q4k = t.interleaved(pool, cols);
        }

        void clear() {
            w = null;
            out = null;
            x = null;
            q6 = null;
            q4 = null;
            q8 = null;
            q4k = null;
            q6i = null;
            gemm = false;
            shorts = false;
            inOrder = false;
        }

        /** Units [from, to) of this matrix. */
        void run(Job job, int from, int to) {
            QuantizedRows xq = x != null ? this.xq : job.xq;
            float[] in = x != null ? x : job.x;
            int batch = job.batch, cols = job.cols;
            if (inOrder) {
                inOrderRows(w, xq, batch, out, rows, cols, from, to);
            } else if (shorts && q4 != null) {
                ShortGemm.q4_0(q4, xq, batch, out, rows, from, to, job.readAhead);
            } else if (shorts) {
                ShortGemm.q4_K(q4k, xq, batch, out, rows, from, to, job.readAhead);
            } else if (gemm && q4 != null) {
                FloatGemm.q4_0(q4, xq, batch, out, rows, from, to);
            } else if (gemm && q8 != null) {
                FloatGemm.q8_0(q8, xq, batch, out, rows, from, to);
            } else if (gemm && q4k != null) {
                FloatGemm.q4_K(q4k, xq, batch, out, rows, from, to);
            } else if (gemm) {
                FloatGemm.q6_K(q6i, xq, batch, out, rows, from, to);
            } else if (q4 != null) {
                interleavedQ4_0(q4, xq, batch, out, rows, from, to, job.readAhead);
            } else if (q8 != null) {
                interleavedQ8_0(q8, xq, batch, out, rows, from, to, job.readAhead);
            } else if (q4k != null) {
                interleavedQ4_K(q4k, xq, batch, out, rows, from, to, job.readAhead);
            } else if (q6i != null) {
                interleavedQ6_K(q6i, xq, batch, out, rows, from, to, job.readAhead);
            } else if (integer) {
                if (batch == 1) intSingleRow(w, q6, xq, out, from, to, cols);
                else intTiled(w, q6, xq, batch, out, rows, cols, from, to);
            } else if (job.fused) {
                singleRow(w, in, out, from, to, cols);
            } else {
                float[] tile = tile(TILE_ROWS * cols);
                for (int t = from; t < to; t++) tiled(w, in, batch, out, rows, cols, t * TILE_ROWS, tile);
            }
        }
    }

    /**
     * The reusable task of one product, over the units of its matrices one after another; fields
     * are set by the caller before forRange publishes it.
     */
    private static final class Job implements Parallel.RangeTask {
        final Part[] parts = new Part[MAX_PARTS];
        /** parts[i]'s units are [start[i], start[i + 1]). */
        final int[] start = new int[MAX_PARTS + 1];
        int count;
        float[] x;
        int batch, cols;
        boolean busy, fused;
        /** Whether this call's decoding kernels read their weights ahead ({@link ReadAhead}). */
        boolean readAhead;
        /** The activations quantized to 8 bits, for weights that take the integer kernels. */
        final QuantizedRows xq = new QuantizedRows();

        Job() {
            for (int i = 0; i < MAX_PARTS; i++) parts[i] = new Part();
        }

        void set(float[] x, int batch, int cols) {
            this.x = x;
            this.batch = batch;
            this.cols = cols;
            this.fused = batch == 1 && Simd.ENABLED;
            this.count = 0;
            this.busy = true;
        }

        Part add(FloatTensor w, float[] out, int rows) {
            Part p = parts[count++];
            p.w = w;
            p.out = out;
            p.rows = rows;
            p.integer = IntKernels.handles(w);
            return p;
        }

        /** Lays the parts' units end to end; returns the total. */
        int seal() {
            for (int i = 0; i < count; i++) start[i + 1] = start[i] + parts[i].units;
            return start[count];
        }

        void clear() {
            for (int i = 0; i < count; i++) parts[i].clear();
            count = 0;
            x = null;
            busy = false;
        }

        @Override
        public void run(int from, int to) {
            for (int i = 0; i < count; i++) {
                int a = Math.max(from, start[i]), b = Math.min(to, start[i + 1]);
                if (a < b) parts[i].run(this, a - start[i], b - start[i]);
            }
        }
    }

    /** out[r] for r in [from, to) against the single quantized activation row, weights streamed in place. */
    static void intSingleRow(FloatTensor w, PackedQuants q6, QuantizedRows x, float[] out, int from, int to, int cols) {
        MemorySegment s = w.segment();
        int blocks = cols / IntKernels.BLOCK;
        if (q6 != null) {  // Q6_K, and the types packed as it is
            float[] lanes = LANES.get();
            for (int r = from; r < to; r++) out[r] = IntKernels.dotQ6_K(q6.quants, (long) r * blocks, q6.scales, x.q, x.d, 0, blocks, lanes);
            return;
        }
        switch (w) {
            case Q8_0Tensor t -> { for (int r = from; r < to; r++) out[r] = IntKernels.dotQ8_0(s, (long) r * blocks, x.q, x.d, 0, blocks); }
            case Q4_0Tensor t -> { for (int r = from; r < to; r++) out[r] = IntKernels.dotQ4_0(s, (long) r * blocks, x.q, x.d, 0, blocks); }
            case Q4_KTensor t -> kQuantRows(s, false, x, out, from, to, blocks);
            case DecodedTensor t when IntKernels.isQ5_K(t) -> kQuantRows(s, true, x, out, from, to, blocks);
            case DecodedTensor t when IntKernels.isQ3_K(t) -> {
                // each row widened to 16-bit quants, then Q6_K's tile kernel (a fused kernel with the
                // 3-bit unpacking measured no faster, and this shares the batched path's code)
                float[] scales = floats(SCALES, 2 * blocks);
                short[] row = shorts(SHORT_TILES, cols);
                for (int r = from; r < to; r++) {
                    long first = (long) r * (blocks / 8);
                    IntKernels.widenQ3_KScales(s, first, blocks / 8, scales, 0);
                    IntKernels.widenQ3_K(s, first, blocks / 8, row, 0);
                    out[r] = IntKernels.tileDotQ6_K(row, 0, scales, 0, x.q, x.d, 0, blocks);
                }
            }
            case DecodedTensor t when t.type() == GgmlType.IQ4_NL -> {
                for (int r = from; r < to; r++) out[r] = IntKernels.dotIQ4_NL(s, (long) r * blocks, x.q, x.d, 0, blocks);
            }
            case DecodedTensor t when t.type() == GgmlType.IQ4_XS -> {
                float[] scales = floats(SCALES, blocks);
                for (int r = from; r < to; r++) {
                    long first = (long) r * (blocks / 8);
                    IntKernels.widenIQ4_XSScales(s, first, blocks / 8, scales, 0);
                    out[r] = IntKernels.dotIQ4_XS(s, first, x.q, x.d, 0, blocks / 8, scales);
                }
            }
            default -> throw new IllegalStateException(w.type() + " has no integer kernel");
        }
    }

    /** Rows of a matrix {@link #compileAhead} multiplies: enough calls of its kernel for the JIT to compile it. */
    static final int COMPILE_AHEAD_ROWS = 256;

    /**
     * Has the JIT compile, on a thread of its own, the stored-bytes kernel ({@link #inOrderRows})
     * that a model's first pass takes for {@code w} (rows of {@code cols} values) at its end, when
     * none of the pass's {@code earlier} matrices share it (a Q4_0 or Q4_K file's Q6_K output matrix
     * after its layers; not a Q4_K_M file's, whose layers have Q6_K matrices too): a daemon thread
     * multiplies a few of w's rows with a zero row and drops the results. Otherwise that kernel is
     * compiled when the pass reaches w, and the pass waits for it (about 0.15 s of the compiler on a
     * two-core machine) while the compiler had sat partly idle during the layers (load to first
     * token 0.92x to 0.96x; BENCHMARKS.md, round 41). Nothing when w's products would not read its
     * stored bytes ({@link FloatTensor#expectRepackingAhead}), so this never makes a repacked form.
     * Returns the thread, or null. If the model is closed meanwhile, the thread's next read of w
     * fails and it ends.
     */
    public static Thread compileAhead(FloatTensor w, int cols, FloatTensor... earlier) {
        if (!IntKernels.handles(w) || cols <= 0 || cols % w.type().blockSize != 0 || !w.comingAhead(cols)) return null;
        for (FloatTensor e : earlier) if (e != null && e.type() == w.type()) return null;
        int rows = (int) Math.min(COMPILE_AHEAD_ROWS, w.size() / cols);
        return Thread.ofPlatform().daemon().name("genset-compile-ahead").start(() -> {
            try {
                QuantizedRows zero = new QuantizedRows();
                zero.quantize(new float[cols], 1, cols);
                inOrderRows(w, zero, 1, new float[rows], rows, cols, 0, rows);
            } catch (RuntimeException e) {
                // the model was closed under it: nothing was to come of it anyway
            }
        });
    }

    /** Rows [from, to) of a Q8_0, Q4_0, Q4_K or Q6_K matrix in its stored bytes, each activation row in the repacked form's order ({@link #IN_ORDER_ROWS}). */
    static void inOrderRows(FloatTensor w, QuantizedRows x, int batch, float[] out, int rows, int cols, int from, int to) {
        MemorySegment s = w.segment();
        int blocks = cols / IntKernels.BLOCK;
        if (w instanceof Q8_0Tensor) {
            for (int r = from; r < to; r++)
                for (int b = 0; b < batch; b++) out[b * rows + r] = IntKernels.dotQ8_0InOrder(s, (long) r * blocks, x.q, x.d, b * blocks, blocks);
        } else if (w instanceof Q6_KTensor) {
            int superBlocks = blocks / 8;
            for (int r = from; r < to; r++)
                for (int b = 0; b < batch; b++) out[b * rows + r] = IntKernels.dotQ6_KInOrder(s, (long) r * superBlocks, x.q, x.d, b * blocks, superBlocks);
        } else if (w instanceof Q4_KTensor) {
            int superBlocks = blocks / 8;
            float[] sm = LANES.get();
            for (int r = from; r < to; r++)
                for (int b = 0; b < batch; b++)
                    out[b * rows + r] = IntKernels.dotQ4_KInOrder(s, (long) r * superBlocks, x.q, x.d, x.scaledSums, b * blocks, superBlocks, sm);
        } else {
            for (int r = from; r < to; r++)
                for (int b = 0; b < batch; b++) out[b * rows + r] = IntKernels.dotQ4_0InOrder(s, (long) r * blocks, x.q, x.d, b * blocks, blocks);
        }
    }

    /** Each thread's sum of the bytes {@link #readAhead} read, kept so that the reads are not optimised away. */
    private static final ThreadLocal<long[]> READ_AHEAD_SUM = ThreadLocal.withInitial(() -> new long[1]);

    /**
     * Reads one byte of each 64-byte cache line of groups [g, end) of an interleaved matrix (each
     * {@code groupBytes} long, one after another) and returns their sum. These loads depend on
     * nothing, so the core has many of the lines' misses in flight at once, where the kernel that
     * follows, busy between its loads, had its bytes come from memory a few lines at a time (the
     * hardware prefetchers did not run far enough ahead of it): the kernel then reads them from the
     * core's cache. Decoding on two threads 1.28x to 1.39x faster with Q4_0 weights, 1.07x to 1.14x
     * with Q8_0, 1.11x to 1.17x with Q4_K on one machine (BENCHMARKS.md, round 25), slower on
     * another, so whether it is done is measured ({@link ReadAhead}).
     * Java has no prefetch instruction; these are plain loads.
     */
    static long readAhead(MemorySegment p, long groupBytes, int g, int end) {
        long sum = 0;
        for (long a = g * groupBytes, e = end * groupBytes; a < e; a += 64) sum += p.get(ValueLayout.JAVA_BYTE, a);
        return sum;
    }

    /** Keeps one product's {@link #readAhead} sums (this thread's). */
    private static void keep(long sum) {
        READ_AHEAD_SUM.get()[0] += sum;
    }

    /**
     * Groups [from, to) of 8 interleaved Q4_0 rows against every activation row: for each pair of
     * groups (or a group left over), the activation rows four at a time (in chunks that stay in L2,
     * as {@link #intTiled} takes them) and then one by one, so the groups' bytes (a few kilobytes)
     * are read from memory once per chunk and from the core's cache for the rest of it. Every
     * kernel does the single-row sequence, so results are batch-invariant.
     */
    static void interleavedQ4_0(InterleavedQ4_0 w, QuantizedRows x, int batch, float[] out, int rows, int from, int to, boolean ahead) {
        int blocks = w.cols / IntKernels.BLOCK, quads = batch / 4;
        // 8 floats past the last block: the 512-bit kernel loads 16 from each block's scales
        float[] dw = floats(SCALES, 8 * blocks + 8), dw2 = floats(SECOND_SCALES, 8 * blocks + 8);
        long groupBytes = ReadAhead.bytes(GgmlType.Q4_0, ahead, InterleavedQ4_0.groupBytes(blocks)), read = 0;
        // runs of four activation rows in chunks whose pairs stay in L2 while the groups pass over them,
        // two groups at a time (sharing the activations' broadcasts), a group left over alone
        int chunk = Math.max(1, CHUNK_BYTES / (8 * w.cols));
        for (int t0 = 0; t0 < quads; t0 += chunk) {
            int t1 = Math.min(quads, t0 + chunk);
            for (int g = from; g < to; g += 2) {
                int o = InterleavedQ4_0.ROWS * g;
                if (t0 == 0) read += readAhead(w.data, groupBytes, g, Math.min(g + 2, to));
                IntKernels.groupScales(w.data, InterleavedQ4_0.scales(g, blocks), blocks, dw);
                if (g + 1 < to) {
                    IntKernels.groupScales(w.data, InterleavedQ4_0.scales(g + 1, blocks), blocks, dw2);
                    for (int t = t0; t < t1; t++)
                        IntKernels.dotQ4_0x16x4(w.data, g, blocks, dw, dw2, x.steps4, t * 4 * (w.cols / 2), x.sums4, x.d4, t * 4 * blocks,
                                out, 4 * t * rows + o, rows);
                } else {
                    for (int t = t0; t < t1; t++)
                        IntKernels.dotQ4_0x8x4(w.data, g, blocks, dw, x.steps4, t * 4 * (w.cols / 2), x.sums4, x.d4, t * 4 * blocks, out, 4 * t * rows + o, rows);
                }
            }
        }
        if (4 * quads == batch) {
            keep(read);
            return;
        }
        for (int g = from; g < to; g += 2) {  // the rows left (a decode step's only row): pairs of groups too
            int o = InterleavedQ4_0.ROWS * g;
            if (quads == 0) read += readAhead(w.data, groupBytes, g, Math.min(g + 2, to));
            if (g + 1 < to) {
                IntKernels.groupScales(w.data, InterleavedQ4_0.scales(g, blocks), blocks, dw);
                IntKernels.groupScales(w.data, InterleavedQ4_0.scales(g + 1, blocks), blocks, dw2);
                if (IntKernels.WIDE_Q4)
                    for (int b = 4 * quads; b < batch; b++)
                        IntKernels.dotQ4_0x16w(w.data, g, blocks, dw, dw2, x.wideSteps, x.sums, x.d, b * blocks, out, b * rows + o);
                else
                    for (int b = 4 * quads; b < batch; b++)
                        IntKernels.dotQ4_0x16(w.data, g, blocks, dw, dw2, x.steps, x.sums, x.d, b * blocks, out, b * rows + o);
            } else {
                for (int b = 4 * quads; b < batch; b++)
                    IntKernels.dotQ4_0x8(w.data, g, blocks, x.steps, x.sums, x.d, b * blocks, out, b * rows + o);
            }
        }
        keep(read);
    }

    /** {@link #interleavedQ4_0} for Q8_0. */
    static void interleavedQ8_0(InterleavedQ8_0 w, QuantizedRows x, int batch, float[] out, int rows, int from, int to, boolean ahead) {
        int blocks = w.cols / IntKernels.BLOCK, quads = batch / 4;
        float[] dw = floats(SCALES, 8 * blocks), dw2 = floats(SECOND_SCALES, 8 * blocks);
        long groupBytes = ReadAhead.bytes(GgmlType.Q8_0, ahead, InterleavedQ8_0.groupBytes(blocks)), read = 0;
        int chunk = Math.max(1, CHUNK_BYTES / (8 * w.cols));
        for (int t0 = 0; t0 < quads; t0 += chunk) {
            int t1 = Math.min(quads, t0 + chunk);
            for (int g = from; g < to; g++) {
                if (t0 == 0) read += readAhead(w.data, groupBytes, g, g + 1);
                IntKernels.groupScales(w.data, InterleavedQ8_0.scales(g, blocks), blocks, dw);
                for (int t = t0; t < t1; t++)
                    IntKernels.dotQ8_0x8x4(w.data, g, blocks, dw, x.pairs4, t * 4 * (w.cols / 2), x.d4, t * 4 * blocks, out, 4 * t * rows + 8 * g, rows);
            }
        }
        if (4 * quads == batch) {
            keep(read);
            return;
        }
        for (int g = from; g < to; g += 2) {
            if (quads == 0) read += readAhead(w.data, groupBytes, g, Math.min(g + 2, to));
            if (g + 1 < to) {
                IntKernels.groupScales(w.data, InterleavedQ8_0.scales(g, blocks), blocks, dw);
                IntKernels.groupScales(w.data, InterleavedQ8_0.scales(g + 1, blocks), blocks, dw2);
                if (IntKernels.WIDE_Q8_0)
                    for (int b = 4 * quads; b < batch; b++)
                        IntKernels.dotQ8_0x16w(w.data, g, blocks, dw, dw2, x.widePairs, x.d, b * blocks, out, b * rows + 8 * g);
                else
                    for (int b = 4 * quads; b < batch; b++)
                        IntKernels.dotQ8_0x16(w.data, g, blocks, dw, dw2, x.pairs, x.d, b * blocks, out, b * rows + 8 * g);
            } else {
                for (int b = 4 * quads; b < batch; b++)
                    IntKernels.dotQ8_0x8(w.data, g, blocks, x.pairs, x.d, b * blocks, out, b * rows + 8 * g);
            }
        }
        keep(read);
    }

    /** {@link #interleavedQ4_0} for Q4_K. */
    static void interleavedQ4_K(InterleavedQ4_K w, QuantizedRows x, int batch, float[] out, int rows, int from, int to, boolean ahead) {
        int superBlocks = w.cols / Q4_KTensor.BLOCK, blocks = w.cols / IntKernels.BLOCK, quads = batch / 4;
        // each sub-block's 8 scales, then its 8 mins
        float[] sm = floats(SCALES, 16 * blocks), sm2 = floats(SECOND_SCALES, 16 * blocks);
        long groupBytes = ReadAhead.bytes(GgmlType.Q4_K, ahead, InterleavedQ4_K.groupBytes(superBlocks)), read = 0;
        int chunk = Math.max(1, CHUNK_BYTES / (8 * w.cols));
        for (int t0 = 0; t0 < quads; t0 += chunk) {
            int t1 = Math.min(quads, t0 + chunk);
            for (int g = from; g < to; g += 2) {
                if (t0 == 0) read += readAhead(w.data, groupBytes, g, Math.min(g + 2, to));
                IntKernels.groupScalesQ4_K(w.data, g, superBlocks, sm);
                if (g + 1 < to) {
                    IntKernels.groupScalesQ4_K(w.data, g + 1, superBlocks, sm2);
                    for (int t = t0; t < t1; t++)
                        IntKernels.dotQ4_Kx16x4(w.data, g, superBlocks, sm, sm2, x.steps4, t * 4 * (w.cols / 2), x.scaledSums4, x.d4,
                                t * 4 * blocks, out, 4 * t * rows + 8 * g, rows);
                } else {
                    for (int t = t0; t < t1; t++)
                        IntKernels.dotQ4_Kx8x4(w.data, g, superBlocks, sm, x.steps4, t * 4 * (w.cols / 2), x.scaledSums4, x.d4, t * 4 * blocks,
                                out, 4 * t * rows + 8 * g, rows);
                }
            }
        }
        if (4 * quads == batch) {
            keep(read);
            return;
        }
        for (int g = from; g < to; g += 2) {
            if (quads == 0) read += readAhead(w.data, groupBytes, g, Math.min(g + 2, to));
            if (g + 1 < to && IntKernels.WIDE_Q4) {  // both groups' scales and negated mins side by side (the 512-bit kernel's form)
                float[] pair = floats(PAIR_SCALES, 32 * blocks);
                IntKernels.pairScalesQ4_K(w.data, g, superBlocks, pair);
                for (int b = 4 * quads; b < batch; b++)
                    IntKernels.dotQ4_Kx16w(w.data, g, superBlocks, pair, x.wideSteps, x.d, x.scaledSums, b * blocks, out, b * rows + 8 * g);
                continue;
            }
            IntKernels.groupScalesQ4_K(w.data, g, superBlocks, sm);
            if (g + 1 < to) {
                IntKernels.groupScalesQ4_K(w.data, g + 1, superBlocks, sm2);
                for (int b = 4 * quads; b < batch; b++)
                    IntKernels.dotQ4_Kx16(w.data, g, superBlocks, sm, sm2, x.steps, x.d, x.scaledSums, b * blocks, out, b * rows + 8 * g);
            } else {
                for (int b = 4 * quads; b < batch; b++)
                    IntKernels.dotQ4_Kx8(w.data, g, superBlocks, sm, x.steps, x.d, x.scaledSums, b * blocks, out, b * rows + 8 * g);
            }
        }
        keep(read);
    }

    /** {@link #interleavedQ4_0} for Q6_K. */
    static void interleavedQ6_K(InterleavedQ6_K w, QuantizedRows x, int batch, float[] out, int rows, int from, int to, boolean ahead) {
        int superBlocks = w.cols / Q6_KTensor.BLOCK, blocks = w.cols / IntKernels.BLOCK, quads = batch / 4, subBlocks = 16 * superBlocks;
        float[] scales = floats(SCALES, 8 * subBlocks), scales2 = floats(SECOND_SCALES, 8 * subBlocks);
        long groupBytes = ReadAhead.bytes(GgmlType.Q6_K, ahead, InterleavedQ6_K.groupBytes(superBlocks)), read = 0;
        int chunk = Math.max(1, CHUNK_BYTES / (8 * w.cols));
        for (int t0 = 0; t0 < quads; t0 += chunk) {
            int t1 = Math.min(quads, t0 + chunk);
            for (int g = from; g < to; g += 2) {
                if (t0 == 0) read += readAhead(w.data, groupBytes, g, Math.min(g + 2, to));
                if (g + 1 < to && IntKernels.WIDE_Q6_K) {  // two activation rows at a time in 512 bits, each row's pairs spread
                    float[] pair = floats(PAIR_SCALES, 16 * subBlocks);
                    IntKernels.pairScalesQ6_K(w.data, g, superBlocks, pair);
                    for (int r = 4 * t0; r < 4 * t1; r += 2)
                        IntKernels.dotQ6_Kx16x2w(w.data, g, superBlocks, pair, x.widePairs, r * 4 * w.cols, 4 * w.cols, x.d, r * blocks, blocks,
                                out, r * rows + 8 * g, rows);
                    continue;
                }
                IntKernels.groupScalesQ6_K(w.data, g, superBlocks, scales);
                if (g + 1 < to) {
                    IntKernels.groupScalesQ6_K(w.data, g + 1, superBlocks, scales2);
                    for (int t = t0; t < t1; t++)
                        IntKernels.dotQ6_Kx16x4(w.data, g, superBlocks, scales, scales2, x.pairs4, t * 4 * (w.cols / 2), x.d4, t * 4 * blocks,
                                out, 4 * t * rows + 8 * g, rows);
                } else {
                    for (int t = t0; t < t1; t++)
                        IntKernels.dotQ6_Kx8x4(w.data, g, superBlocks, scales, x.pairs4, t * 4 * (w.cols / 2), x.d4, t * 4 * blocks, out, 4 * t * rows + 8 * g, rows);
                }
            }
        }
        if (4 * quads == batch) {
            keep(read);
            return;
        }
        for (int g = from; g < to; g += 2) {
            if (quads == 0) read += readAhead(w.data, groupBytes, g, Math.min(g + 2, to));
            if (g + 1 < to && IntKernels.WIDE_Q6_K) {  // both groups' scales side by side (the 512-bit kernel's form)
                float[] pair = floats(PAIR_SCALES, 16 * subBlocks);
                IntKernels.pairScalesQ6_K(w.data, g, superBlocks, pair);
                for (int b = 4 * quads; b < batch; b++)
                    IntKernels.dotQ6_Kx16w(w.data, g, superBlocks, pair, x.widePairs, x.d, b * blocks, out, b * rows + 8 * g);
                continue;
            }
            IntKernels.groupScalesQ6_K(w.data, g, superBlocks, scales);
            if (g + 1 < to) {
                IntKernels.groupScalesQ6_K(w.data, g + 1, superBlocks, scales2);
                for (int b = 4 * quads; b < batch; b++)
                    IntKernels.dotQ6_Kx16(w.data, g, superBlocks, scales, scales2, x.pairs, x.d, b * blocks, out, b * rows + 8 * g);
            } else {
                for (int b = 4 * quads; b < batch; b++)
                    IntKernels.dotQ6_Kx8(w.data, g, superBlocks, scales, x.pairs, x.d, b * blocks, out, b * rows + 8 * g);
            }
        }
        keep(read);
    }

    /** Q4_K or Q5_K rows: each row's scales and mins unpacked, then its fused kernel. */
    private static void kQuantRows(MemorySegment s, boolean q5, QuantizedRows x, float[] out, int from, int to, int blocks) {
        float[] lanes = LANES.get();
        float[] scales = floats(SCALES, blocks), mins = floats(MINS, blocks);
        for (int r = from; r < to; r++) {
            long first = (long) r * (blocks / 8);
            if (q5) {
                IntKernels.widenQ5_KScales(s, first, blocks / 8, scales, 0, mins, 0);
                out[r] = IntKernels.dotQ5_K(s, first, x.q, x.d, x.scaledSums, 0, blocks / 8, scales, mins, lanes);
            } else {
                IntKernels.widenQ4_KScales(s, first, blocks / 8, scales, 0, mins, 0);
                out[r] = IntKernels.dotQ4_K(s, first, x.q, x.d, x.scaledSums, 0, blocks / 8, scales, mins, lanes);
            }
        }
    }

    private static final ThreadLocal<float[]> LANES = ThreadLocal.withInitial(() -> new float[32]);
    private static final ThreadLocal<short[][]> SHORT_TILES = ThreadLocal.withInitial(() -> new short[1][0]);

    /** Activation bytes (16-bit values) a batch chunk may take: chunks stay in L2 while tiles sweep over them. */
    private static final int CHUNK_BYTES = 128 * 1024;

    /**
     * Tiles [from, to) of {@value #TILE_ROWS} weight rows against every quantized activation row.
     * Activation rows are taken in chunks small enough to stay in the core's L2 cache while every
     * tile of this thread's range passes over them (tiles are widened again per chunk: cheap next
     * to the products). Pairs go two weight rows by two activation rows at a time.
     */
    static void intTiled(FloatTensor w, PackedQuants q6, QuantizedRows x, int batch, float[] out, int rows, int cols, int from, int to) {
        int blocks = cols / IntKernels.BLOCK;
        short[] tile = shorts(SHORT_TILES, TILE_ROWS * cols);
        float[] d = floats(SCALES, TILE_ROWS * blocks);
        int chunk = Math.max(2, Math.min(batch, CHUNK_BYTES / (2 * cols)) & ~1);
        MemorySegment s = w.segment();
        if (q6 != null || IntKernels.isQ3_K(w)) {
            q6kTiled(q6, w, x, batch, out, rows, cols, from, to, tile, chunk);
            return;
        }
        boolean q8 = w instanceof Q8_0Tensor, q4k = w instanceof Q4_KTensor, q5k = IntKernels.isQ5_K(w), withMins = q4k || q5k;
        float[] mins = withMins ? floats(MINS, TILE_ROWS * blocks) : null;
        float[] lanes = LANES.get();
        for (int b0 = 0; b0 < batch; b0 += chunk) {
            int b1 = Math.min(batch, b0 + chunk);
            for (int t = from; t < to; t++) {
                int r0 = t * TILE_ROWS, tileRows = Math.min(TILE_ROWS, rows - r0);
                if (q8) IntKernels.widenQ8_0(s, (long) r0 * blocks, tileRows * blocks, tile, 0, d, 0);
                else if (q4k) IntKernels.widenQ4_K(s, (long) r0 * (blocks / 8), tileRows * (blocks / 8), tile, 0, d, mins, 0);
                else if (q5k) IntKernels.widenQ5_K(s, (long) r0 * (blocks / 8), tileRows * (blocks / 8), tile, 0, d, mins, 0);
                else if (w.type() == GgmlType.IQ4_NL) IntKernels.widenIQ4_NL(s, (long) r0 * blocks, tileRows * blocks, tile, 0, d, 0);
                else if (w.type() == GgmlType.IQ4_XS) IntKernels.widenIQ4_XS(s, (long) r0 * (blocks / 8), tileRows * (blocks / 8), tile, 0, d, 0);
                else IntKernels.widenQ4_0(s, (long) r0 * blocks, tileRows * blocks, tile, 0, d, 0);
                int b = b0;
                for (; b + 1 < b1; b += 2) {
                    int i = 0;
                    for (; i + 1 < tileRows; i += 2)
                        IntKernels.tileDot2x2(tile, i * cols, cols, d, i * blocks, blocks, x.q, x.d, b * blocks, (b + 1) * blocks,
                                out, b * rows + r0 + i, (b + 1) * rows + r0 + i, lanes);
                    for (; i < tileRows; i++) {
                        out[b * rows + r0 + i] = IntKernels.tileDot(tile, i * cols, d, i * blocks, x.q, x.d, b * blocks, blocks);
                        out[(b + 1) * rows + r0 + i] = IntKernels.tileDot(tile, i * cols, d, i * blocks, x.q, x.d, (b + 1) * blocks, blocks);
                    }
                }
                for (; b < b1; b++)
                    for (int i = 0; i < tileRows; i++)
                        out[b * rows + r0 + i] = IntKernels.tileDot(tile, i * cols, d, i * blocks, x.q, x.d, b * blocks, blocks);
                if (withMins)
                    for (b = b0; b < b1; b++)
                        for (int i = 0; i < tileRows; i++) subtractMins(mins, x, b, blocks, out, b * rows + r0 + i, i, lanes);
            }
        }
    }

    private static final ThreadLocal<float[][]> MINS = ThreadLocal.withInitial(() -> new float[1][0]);
    /** The second group's scales and mins where two interleaved groups are multiplied at once. */
    private static final ThreadLocal<float[][]> SECOND_SCALES = ThreadLocal.withInitial(() -> new float[1][0]);

    /**
     * Subtracts the Q4_K (or Q5_K) min term of each pair from out (the tile kernels leave the lane sum
     * there): for weight row r0 + i and activation row b, the min terms fused super-block by
     * super-block and summed, as {@link IntKernels#dotQ4_K} does.
     */
    private static void subtractMins(float[] mins, QuantizedRows x, int b, int blocks, float[] out, int o, int i, float[] lanes) {
        FloatVector m = FloatVector.zero(FloatVector.SPECIES_256);
        for (int g = 0; g < blocks; g += 8)
            m = FloatVector.fromArray(FloatVector.SPECIES_256, mins, i * blocks + g).fma(FloatVector.fromArray(FloatVector.SPECIES_256, x.scaledSums, b * blocks + g), m);
        m.intoArray(lanes, 0);
        out[o] -= IntKernels.sum(lanes, 0);
    }    /**
     * out[r] for r in [from, to) against a single activation row: each row streamed once through
     * its type's fused kernel (the switch on the sealed type gives each kernel loop its own,
     * monomorphic, call site). One row at a time measured faster than interleaving two or four:
     * decoding is memory-bound and one sequential stream per thread suits the prefetchers best.
     */
    static void singleRow(FloatTensor w, float[] x, float[] out, int from, int to, int cols) {
        MemorySegment s = w.segment();
        switch (w) {
            case Q8_0Tensor _, Q4_0Tensor _, Q4_KTensor _, Q6_KTensor _ -> throw new IllegalStateException(w.type() + " takes the integer kernels");
            case F16Tensor t -> { for (int r = from; r < to; r++) out[r] = F16Tensor.dotVector(s, (long) r * cols, x, 0, cols); }
            case BF16Tensor t -> { for (int r = from; r < to; r++) out[r] = BF16Tensor.dotVector(s, (long) r * cols, x, 0, cols); }
            case F32Tensor t -> { for (int r = from; r < to; r++) out[r] = F32Tensor.dotVector(s, (long) r * cols, x, 0, cols); }
            case DecodedTensor t -> { for (int r = from; r < to; r++) out[r] = t.dot((long) r * cols, x, 0, cols); }
        }
    }

    /** Rows r0 .. r0+3 against every activation row, from the decoded tile. */
    static void tiled(FloatTensor w, float[] x, int batch, float[] out, int rows, int cols, int r0, float[] tile) {
        int tileRows = Math.min(TILE_ROWS, rows - r0);
        w.dequantize((long) r0 * cols, tile, 0, tileRows * cols);
        if (!Simd.ENABLED) {
            for (int b = 0; b < batch; b++)
                for (int i = 0; i < tileRows; i++) out[b * rows + r0 + i] = F32Kernels.dotScalar(tile, i * cols, x, b * cols, cols);
            return;
        }
        if (tileRows < TILE_ROWS) {
            for (int b = 0; b < batch; b++)
                for (int i = 0; i < tileRows; i++) out[b * rows + r0 + i] = F32Kernels.dot(tile, i * cols, x, b * cols, cols);
            return;
        }
        int b = 0;
        for (; b + 1 < batch; b += 2) F32Kernels.dot4x2(tile, cols, x, b * cols, (b + 1) * cols, out, b * rows + r0, (b + 1) * rows + r0);
        if (b < batch) F32Kernels.dot4x1(tile, cols, x, b * cols, out, b * rows + r0);
    }

    /** Two groups' scales side by side for the 512-bit decoding kernels ({@link IntKernels#pairScalesQ4_K}, {@link IntKernels#pairScalesQ6_K}). */
    private static final ThreadLocal<float[][]> PAIR_SCALES = ThreadLocal.withInitial(() -> new float[1][0]);
    private static final ThreadLocal<float[][]> SCALES = ThreadLocal.withInitial(() -> new float[1][0]);

    /**
     * Q6_K tiles: {@value #TILE_ROWS} weight rows widened from the packed form, then each
     * activation row of the chunk against the tile two weight rows at a time, with the operations
     * of {@link IntKernels#dotQ6_K}.
     */
    private static void q6kTiled(PackedQuants p, FloatTensor w, QuantizedRows x, int batch, float[] out, int rows, int cols, int from, int to,
                                 short[] tile, int chunk) {
        int blocks = cols / IntKernels.BLOCK;
        float[] lanes = LANES.get();
        // Q3_K, widened in place: the tile's scales, 16 per super-block, row after row
        float[] tileScales = p == null ? floats(SCALES, 2 * TILE_ROWS * blocks) : null;
        for (int b0 = 0; b0 < batch; b0 += chunk) {
            int b1 = Math.min(batch, b0 + chunk);
            for (int t = from; t < to; t++) {
                int r0 = t * TILE_ROWS, tileRows = Math.min(TILE_ROWS, rows - r0);
                float[] sc;
                int so;  // the tile's first scale
                if (p != null) {
                    IntKernels.widenQ6_K(p.quants, (long) r0 * blocks, tileRows * blocks, tile, 0);
                    sc = p.scales;
                    so = 2 * r0 * blocks;
                } else {
                    IntKernels.widenQ3_K(w.segment(), (long) r0 * (blocks / 8), tileRows * (blocks / 8), tile, 0);
                    IntKernels.widenQ3_KScales(w.segment(), (long) r0 * (blocks / 8), tileRows * (blocks / 8), tileScales, 0);
                    sc = tileScales;
                    so = 0;
                }
                for (int b = b0; b < b1; b++) {
                    int i = 0;
                    for (; i + 1 < tileRows; i += 2)
                        IntKernels.tileDotQ6_Kx2(tile, i * cols, cols, sc, so + 2 * i * blocks, x.q, x.d, b * blocks, blocks, out, b * rows + r0 + i, lanes);
                    for (; i < tileRows; i++)
                        out[b * rows + r0 + i] = IntKernels.tileDotQ6_K(tile, i * cols, sc, so + 2 * i * blocks, x.q, x.d, b * blocks, blocks);
                }
            }
        }
    }

    /**
     * Float kernels over decoded tiles, each pair following the canonical sequence: one
     * accumulator over whole chunks in column order, {@link Simd#sum}, then the rest one by one.
     */
    static final class F32Kernels {
        private F32Kernels() {}

        /** The sequential sum used everywhere when the vector paths are disabled. */
        static float dotScalar(float[] a, int ao, float[] b, int bo, int n) {
            float sum = 0f;
            for (int i = 0; i < n; i++) sum += a[ao + i] * b[bo + i];
            return sum;
        }

        static float dot(float[] a, int ao, float[] b, int bo, int n) {
            FloatVector acc = FloatVector.zero(F);
            int i = 0;
            for (; i <= n - L; i += L) acc = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromArray(F, b, bo + i), acc);
            float sum = Simd.sum(acc);
            for (; i < n; i++) sum += a[ao + i] * b[bo + i];
            return sum;
        }

        /**
         * Four tile rows times two activation rows: eight accumulators, each loaded weight vector
         * used twice and each activation vector four times.
         */
        static void dot4x2(float[] w, int cols, float[] x, int x0, int x1, float[] out, int o0, int o1) {
            FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
            int k = 0;
            for (; k <= cols - L; k += L) {
                var v0 = FloatVector.fromArray(F, x, x0 + k);
                var v1 = FloatVector.fromArray(F, x, x1 + k);
                var w0 = FloatVector.fromArray(F, w, k);
                a00 = w0.fma(v0, a00);
                a01 = w0.fma(v1, a01);
                var w1 = FloatVector.fromArray(F, w, cols + k);
                a10 = w1.fma(v0, a10);
                a11 = w1.fma(v1, a11);
                var w2 = FloatVector.fromArray(F, w, 2 * cols + k);
                a20 = w2.fma(v0, a20);
                a21 = w2.fma(v1, a21);
                var w3 = FloatVector.fromArray(F, w, 3 * cols + k);
                a30 = w3.fma(v0, a30);
                a31 = w3.fma(v1, a31);
            }
            out[o0] = Simd.sum(a00);
            out[o0 + 1] = Simd.sum(a10);
            out[o0 + 2] = Simd.sum(a20);
            out[o0 + 3] = Simd.sum(a30);
            out[o1] = Simd.sum(a01);
            out[o1 + 1] = Simd.sum(a11);
            out[o1 + 2] = Simd.sum(a21);
            out[o1 + 3] = Simd.sum(a31);
            for (; k < cols; k++) {
                float u = x[x0 + k], v = x[x1 + k];
                for (int i = 0; i < 4; i++) {
                    out[o0 + i] += w[i * cols + k] * u;
                    out[o1 + i] += w[i * cols + k] * v;
                }
            }
        }

        static void dot4x1(float[] w, int cols, float[] x, int x0, float[] out, int o0) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            int k = 0;
            for (; k <= cols - L; k += L) {
                var v0 = FloatVector.fromArray(F, x, x0 + k);
                a0 = FloatVector.fromArray(F, w, k).fma(v0, a0);
                a1 = FloatVector.fromArray(F, w, cols + k).fma(v0, a1);
                a2 = FloatVector.fromArray(F, w, 2 * cols + k).fma(v0, a2);
                a3 = FloatVector.fromArray(F, w, 3 * cols + k).fma(v0, a3);
            }
            out[o0] = Simd.sum(a0);
            out[o0 + 1] = Simd.sum(a1);
            out[o0 + 2] = Simd.sum(a2);
            out[o0 + 3] = Simd.sum(a3);
            for (; k < cols; k++) {
                float u = x[x0 + k];
                for (int i = 0; i < 4; i++) out[o0 + i] += w[i * cols + k] * u;
            }
        }
    }
}
