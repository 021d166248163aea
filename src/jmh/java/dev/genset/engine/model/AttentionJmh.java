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
 * weighted two heads at a time), with keys and values stored as f32, f16, q8_0 or q4_0. Divide by positions times heads for the time per position and
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

    /** How keys and values are stored: "f32", "f16", "q8_0" or "q4_0" (converted a tile or run at a time). */
    @Param({"f32", "f16", "q8_0", "q4_0"})
    public String type;

    private KvStore keys, values;
    private float[] q, att;
    private float[][] scratch;
    private int tiles, stride;

    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom random = new SplittableRandom(42);
        tiles = (positions + ArrayMath.TILE - 1) / ArrayMath.TILE;
        stride = tiles * ArrayMath.TILE;
        KvType kvType = KvType.parse(type);
        keys = new KvStore(kvType, stride * headDim);  // one KV head's, as the cache keeps them
        values = new KvStore(kvType, stride * headDim);
        float[] key = new float[headDim], value = new float[headDim];
        for (int p = 0; p < stride; p++) {
            for (int i = 0; i < headDim; i++) {
                key[i] = (float) random.nextGaussian();
                value[i] = (float) random.nextGaussian();
            }
            keys.putTiled(p / ArrayMath.TILE * ArrayMath.TILE * headDim, p % ArrayMath.TILE, key, 0, headDim);
            values.putRun(p * headDim, value, 0, headDim);
        }
        q = new float[heads * headDim];
        for (int i = 0; i < q.length; i++) q[i] = (float) random.nextGaussian();
        att = new float[heads * headDim];
        scratch = new float[][] {new float[heads * stride], new float[ArrayMath.LANES], new float[heads],
                new float[headDim * ArrayMath.TILE], new float[headDim * Transformer.VALUE_POSITIONS], new float[ArrayMath.TILE]};
    }

    /** Every head's scores, a tile of keys at a time for all the heads (KV head 0's keys; f32 only). */
    @Benchmark
    public float[] scores() {
        if (keys.f32 == null) return null;
        float scale = (float) (1.0 / Math.sqrt(headDim));
        for (int t = 0; t < tiles; t++)
            for (int h = 0; h < heads; h++)
                ArrayMath.scores(scratch[0], h * stride + t * ArrayMath.TILE, q, h * headDim, keys.f32, t * ArrayMath.TILE * headDim, headDim, scale);
        return scratch[0];
    }

    /** The whole step for the group as the forward pass takes it: scores, softmax numerators, weighted values. */
    @Benchmark
    public float[] attend() {
        Transformer.attend(q, att, 0, heads, headDim, positions, keys, 0, ArrayMath.TILE * headDim, values, 0, scratch);
        return att;
    }
}
