package dev.genset.engine.model;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The attention kernels for the query heads of one KV head over {@code positions} cached
 * positions, one thread, with keys and values laid out as {@link KvCache} keeps them: the
 * scores alone, and the whole step as the forward pass takes it (scores, softmax, the values
 * weighted two heads at a time). Divide by positions times heads for the time per position and
 * head. Built and run only with the {@code jmh} Maven profile (see
 * BENCHMARKS.md).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class AttentionJmh {

    /** Cached positions attended over. */
    @Param({"1024"})
    public int positions;

    /** Query heads sharing the KV head (TinyLlama's 32 over 4). */
    @Param({"8"})
    public int heads;

    @Param({"64"})
    public int headDim;

    /** KV heads in a position's row of values (the stride between positions). */
    @Param({"4"})
    public int kvHeads;

    private float[] keys, values, q, att, scores, tail, sums;
    private int tiles, stride, kvDim;

    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom random = new SplittableRandom(42);
        kvDim = kvHeads * headDim;
        tiles = (positions + ArrayMath.TILE - 1) / ArrayMath.TILE;
        stride = tiles * ArrayMath.TILE;
        keys = new float[stride * kvDim];
        values = new float[stride * kvDim];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = (float) random.nextGaussian();
            values[i] = (float) random.nextGaussian();
        }
        q = new float[heads * headDim];
        for (int i = 0; i < q.length; i++) q[i] = (float) random.nextGaussian();
        att = new float[heads * headDim];
        scores = new float[heads * stride];
        tail = new float[ArrayMath.LANES];
        sums = new float[heads];
    }

    /** Every head's scores, a tile of keys at a time for all the heads (KV head 0's keys). */
    @Benchmark
    public float[] scores() {
        float scale = (float) (1.0 / Math.sqrt(headDim));
        for (int t = 0; t < tiles; t++)
            for (int h = 0; h < heads; h++)
                ArrayMath.scores(scores, h * stride + t * ArrayMath.TILE, q, h * headDim, keys, t * ArrayMath.TILE * kvDim, headDim, scale);
        return scores;
    }

    /** The whole step for the group as the forward pass takes it: scores, softmax numerators, weighted values. */
    @Benchmark
    public float[] attend() {
        Transformer.attend(q, att, 0, heads, headDim, positions, keys, 0, ArrayMath.TILE * kvDim, values, 0, kvDim, scores, tail, sums);
        return att;
    }
}
