package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Matrix-vector and batched throughput per tensor type (not a unit test; run its main with the
 * test classpath). Weights live off-heap like a mapped model. With copies > 1 the matrices cycle
 * through more memory than the caches hold, as decoding a real model does. Prints medians.
 *
 * <p>Arguments: rows cols threads batch copies [types...]
 */
public final class KernelBench {
    public static void main(String[] args) {
        int rows = args.length > 0 ? Integer.parseInt(args[0]) : 5632;
        int cols = args.length > 1 ? Integer.parseInt(args[1]) : 2048;
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : Runtime.getRuntime().availableProcessors();
        int batch = args.length > 3 ? Integer.parseInt(args[3]) : 32;
        int copies = args.length > 4 ? Integer.parseInt(args[4]) : 1;
        GgmlType[] types = args.length > 5
                ? Arrays.stream(args, 5, args.length).map(GgmlType::valueOf).toArray(GgmlType[]::new)
                : TensorTestData.TYPES;
        System.out.printf("%d x %d, %d threads, batch %d, %d copies, %d float lanes%n", rows, cols, threads, batch, copies, Simd.L);
        float[] values = TensorTestData.weights(1, rows * cols);
        float[] x = TensorTestData.activations(2, cols * batch);
        float[] out = new float[rows * batch];
        try (Arena arena = Arena.ofShared(); Parallel one = new Parallel(1); Parallel pool = new Parallel(threads)) {
            for (GgmlType type : types) {
                byte[] bytes = Quantizer.quantize(type, values);
                FloatTensor[] ts = new FloatTensor[copies];
                for (int c = 0; c < copies; c++) {
                    MemorySegment seg = arena.allocate(bytes.length, 64);
                    MemorySegment.copy(MemorySegment.ofArray(bytes), 0, seg, 0, bytes.length);
                    ts[c] = FloatTensor.of(type, seg, (long) rows * cols);
                }
                double gb = bytes.length / 1e9, gflop = 2.0 * rows * cols / 1e9;
                double t1 = median(() -> { for (FloatTensor t : ts) MatMul.matvec(one, t, x, out, rows, cols); }, copies);
                double tn = median(() -> { for (FloatTensor t : ts) MatMul.matvec(pool, t, x, out, rows, cols); }, copies);
                double tb = median(() -> { for (FloatTensor t : ts) MatMul.matmul(pool, t, x, batch, out, rows, cols); }, copies);
                System.out.printf("%-5s %6.1f MB  matvec 1t %7.3f ms %6.1f GB/s %6.1f GFLOP/s | %dt %7.3f ms %6.1f GB/s | matmul b=%d %dt %8.2f ms %6.1f GFLOP/s%n",
                        type, bytes.length / 1e6, t1 * 1e3, gb / t1, gflop / t1, threads, tn * 1e3, gb / tn,
                        batch, threads, tb * 1e3, gflop * batch / tb);
            }
        }
    }

    /** Median seconds per matrix over 15 samples of at least 50 ms each, after a warm-up. */
    private static double median(Runnable r, int perRun) {
        long end = System.nanoTime() + 1_000_000_000L;
        while (System.nanoTime() < end) r.run();
        double[] samples = new double[15];
        for (int s = 0; s < samples.length; s++) {
            long start = System.nanoTime();
            int calls = 0;
            do {
                r.run();
                calls++;
            } while (System.nanoTime() - start < 50_000_000L);
            samples[s] = (System.nanoTime() - start) / 1e9 / calls / perRun;
        }
        Arrays.sort(samples);
        return samples[samples.length / 2];
    }
}
