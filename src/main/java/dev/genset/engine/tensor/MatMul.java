package dev.genset.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static dev.genset.engine.tensor.Simd.F;
import static dev.genset.engine.tensor.Simd.L;

/**
 * Matrix products of a weight tensor (rows x cols, row-major) with activations, split across
 * the threads of a {@link Parallel} pool. Calls allocate nothing once a thread has run one of
 * the same size (the task object and the decode buffers are reused per thread).
 *
 * <p>A single activation row (decode) streams each weight row once through the type's fused
 * dot kernel. A batch (prefill) decodes a tile of {@value #TILE_ROWS} weight rows to floats once
 * and multiplies it with every activation row, two at a time, so the weights are read and
 * decoded once per call rather than once per token.
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
     * dot(w row r, x row b).
     */
    public static void matmul(Parallel pool, FloatTensor w, float[] x, int batch, float[] out, int rows, int cols) {
        run(pool, w, x, batch, out, rows, cols);
    }

    private static final ThreadLocal<Job> JOBS = ThreadLocal.withInitial(Job::new);
    private static final ThreadLocal<float[][]> TILES = ThreadLocal.withInitial(() -> new float[1][0]);

    private static void run(Parallel pool, FloatTensor w, float[] x, int batch, float[] out, int rows, int cols) {
        if (batch <= 0 || rows <= 0) return;
        Job job = JOBS.get();
        if (job.busy) job = new Job();  // a product started from inside another one
        job.set(w, x, batch, out, rows, cols);
        try {
            if (batch == 1) pool.forRange(rows, job);
            else pool.forRange((rows + TILE_ROWS - 1) / TILE_ROWS, job);
        } finally {
            job.clear();
        }
    }

    /** The reusable task of one product; fields are set by the caller before forRange publishes it. */
    private static final class Job implements Parallel.RangeTask {
        FloatTensor w;
        float[] x, out;
        int batch, rows, cols;
        boolean busy;

        void set(FloatTensor w, float[] x, int batch, float[] out, int rows, int cols) {
            this.w = w;
            this.x = x;
            this.batch = batch;
            this.out = out;
            this.rows = rows;
            this.cols = cols;
            this.busy = true;
        }

        void clear() {
            w = null;
            x = out = null;
            busy = false;
        }

        @Override
        public void run(int from, int to) {
            if (batch == 1) {
                for (int r = from; r < to; r++) out[r] = w.dot((long) r * cols, x, 0, cols);
            } else {
                float[] tile = tile(TILE_ROWS * cols);
                for (int t = from; t < to; t++) tiled(w, x, batch, out, rows, cols, t * TILE_ROWS, tile);
            }
        }
    }

    private static float[] tile(int size) {
        float[][] holder = TILES.get();
        if (holder[0].length < size) holder[0] = new float[size];
        return holder[0];
    }

    /** Rows r0 .. r0+3 against every activation row. */
    static void tiled(FloatTensor w, float[] x, int batch, float[] out, int rows, int cols, int r0, float[] tile) {
        int tileRows = Math.min(TILE_ROWS, rows - r0);
        w.dequantize((long) r0 * cols, tile, 0, tileRows * cols);
        if (tileRows < TILE_ROWS || cols % L != 0 || !Simd.ENABLED) {
            for (int b = 0; b < batch; b++)
                for (int i = 0; i < tileRows; i++) out[b * rows + r0 + i] = F32Kernels.dot(tile, i * cols, x, b * cols, cols);
            return;
        }
        int b = 0;
        for (; b + 1 < batch; b += 2) F32Kernels.dot4x2(tile, cols, x, b * cols, (b + 1) * cols, out, b * rows + r0, (b + 1) * rows + r0);
        if (b < batch) F32Kernels.dot4x1(tile, cols, x, b * cols, out, b * rows + r0);
    }

    /** Float kernels over decoded tiles; cols is a multiple of the lane count for the blocked ones. */
    static final class F32Kernels {
        private F32Kernels() {}

        static float dot(float[] a, int ao, float[] b, int bo, int n) {
            int i = 0;
            float sum = 0f;
            if (Simd.ENABLED) {
                FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
                for (; i <= n - 2 * L; i += 2 * L) {
                    acc0 = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromArray(F, b, bo + i), acc0);
                    acc1 = FloatVector.fromArray(F, a, ao + i + L).fma(FloatVector.fromArray(F, b, bo + i + L), acc1);
                }
                for (; i <= n - L; i += L) acc0 = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromArray(F, b, bo + i), acc0);
                sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
            }
            for (; i < n; i++) sum += a[ao + i] * b[bo + i];
            return sum;
        }

        /**
         * Four tile rows times two activation rows: eight accumulators, each loaded weight vector
         * used twice and each activation vector four times.
         */
        static void dot4x2(float[] w, int cols, float[] x, int x0, int x1, float[] out, int o0, int o1) {
            FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
            for (int k = 0; k < cols; k += L) {
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
            out[o0] = a00.reduceLanes(VectorOperators.ADD);
            out[o0 + 1] = a10.reduceLanes(VectorOperators.ADD);
            out[o0 + 2] = a20.reduceLanes(VectorOperators.ADD);
            out[o0 + 3] = a30.reduceLanes(VectorOperators.ADD);
            out[o1] = a01.reduceLanes(VectorOperators.ADD);
            out[o1 + 1] = a11.reduceLanes(VectorOperators.ADD);
            out[o1 + 2] = a21.reduceLanes(VectorOperators.ADD);
            out[o1 + 3] = a31.reduceLanes(VectorOperators.ADD);
        }

        static void dot4x1(float[] w, int cols, float[] x, int x0, float[] out, int o0) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int k = 0; k < cols; k += L) {
                var v0 = FloatVector.fromArray(F, x, x0 + k);
                a0 = FloatVector.fromArray(F, w, k).fma(v0, a0);
                a1 = FloatVector.fromArray(F, w, cols + k).fma(v0, a1);
                a2 = FloatVector.fromArray(F, w, 2 * cols + k).fma(v0, a2);
                a3 = FloatVector.fromArray(F, w, 3 * cols + k).fma(v0, a3);
            }
            out[o0] = a0.reduceLanes(VectorOperators.ADD);
            out[o0 + 1] = a1.reduceLanes(VectorOperators.ADD);
            out[o0 + 2] = a2.reduceLanes(VectorOperators.ADD);
            out[o0 + 3] = a3.reduceLanes(VectorOperators.ADD);
        }
    }
}
