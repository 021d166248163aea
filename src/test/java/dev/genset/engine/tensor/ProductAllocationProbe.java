package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;

import java.lang.management.ManagementFactory;

/**
 * Run in a process of its own by {@link MatMulTest}: for one weight type, warms single-row,
 * four-row and sixteen-row products ({@link FloatGemm}'s, where it is on) until compiled, then prints the fewest bytes the calling thread and the pool's
 * allocated over 600 products in any round ({@code least BYTES}).
 */
public final class ProductAllocationProbe {
    private ProductAllocationProbe() {}

    public static void main(String[] args) {
        GgmlType type = GgmlType.valueOf(args[0]);
        int rows = 256, cols = 1024;
        FloatTensor w = TensorTestData.quantized(type, TensorTestData.weights(2, rows * cols));
        float[] x = TensorTestData.activations(3, 16 * cols);
        float[] out = new float[16 * rows];
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (Parallel pool = new Parallel(2)) {
            for (int i = 0; i < 2000; i++) {  // warm up until compiled: escape analysis removes the temporaries
                MatMul.matvec(pool, w, x, out, rows, cols);
                MatMul.matmul(pool, w, x, 4, out, rows, cols);
                MatMul.matmul(pool, w, x, 16, out, rows, cols);
            }
            // the minimum over rounds: JIT activity (a recompilation on a new shape) can allocate for a
            // while; boxing in compiled code allocates in every round
            long least = Long.MAX_VALUE, deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
            for (int round = 0; (round < 40 || System.nanoTime() < deadline) && least >= 1024; round++) {
                long before = pool.workerAllocatedBytes() + mx.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 200; i++) {
                    MatMul.matvec(pool, w, x, out, rows, cols);
                    MatMul.matmul(pool, w, x, 4, out, rows, cols);
                    MatMul.matmul(pool, w, x, 16, out, rows, cols);
                }
                least = Math.min(least, pool.workerAllocatedBytes() + mx.getCurrentThreadAllocatedBytes() - before);
            }
            System.out.println("least " + least);
        } finally {
            w.release();
        }
    }
}
