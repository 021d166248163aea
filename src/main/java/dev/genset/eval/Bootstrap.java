package dev.genset.eval;

import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;

/**
 * Bootstrap standard errors: the statistic is recomputed on {@code iterations} resamples of the
 * documents (drawn with replacement from a seeded generator, so results repeat), and its standard
 * deviation over the resamples is the standard error.
 */
public final class Bootstrap {
    public static final int DEFAULT_ITERATIONS = 1000;
    public static final long DEFAULT_SEED = 1234;

    private Bootstrap() {}

    /** Standard error of the mean of {@code values}; NaN with fewer than two values. */
    public static double meanStderr(double[] values, int iterations, long seed) {
        return stderr(values.length, iterations, seed, idx -> {
            double s = 0;
            for (int i : idx) s += values[i];
            return s / idx.length;
        });
    }

    /** Standard error of any statistic of a resample, given as the indices of the drawn documents. */
    public static double stderr(int n, int iterations, long seed, ToDoubleFunction<int[]> statistic) {
        if (n < 2 || iterations < 2) return Double.NaN;
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] idx = new int[n];
        double sum = 0, sumSq = 0;
        for (int b = 0; b < iterations; b++) {
            for (int i = 0; i < n; i++) idx[i] = rnd.nextInt(n);
            double s = statistic.applyAsDouble(idx);
            sum += s;
            sumSq += s * s;
        }
        double mean = sum / iterations;
        return Math.sqrt(Math.max(0, (sumSq - iterations * mean * mean) / (iterations - 1)));
    }
}
