package dev.genset.engine.tensor;

/**
 * Matrix products of a weight tensor (rows x cols, row-major) with activations, split across
 * the threads of a {@link Parallel} pool.
 */
public final class MatMul {
    private MatMul() {}

    /** out[r] = dot(w row r, x) for r in [0, rows). */
    public static void matvec(Parallel pool, FloatTensor w, float[] x, float[] out, int rows, int cols) {
        pool.forRange(rows, (from, to) -> {
            for (int r = from; r < to; r++) out[r] = w.dot((long) r * cols, x, 0, cols);
        });
    }

    /**
     * Batched product: for each of {@code batch} activation rows x[b*cols ..], out[b*rows + r] =
     * dot(w row r, x row b).
     */
    public static void matmul(Parallel pool, FloatTensor w, float[] x, int batch, float[] out, int rows, int cols) {
        pool.forRange(rows, (from, to) -> {
            for (int r = from; r < to; r++) {
                long off = (long) r * cols;
                for (int b = 0; b < batch; b++) out[b * rows + r] = w.dot(off, x, b * cols, cols);
            }
        });
    }
}
