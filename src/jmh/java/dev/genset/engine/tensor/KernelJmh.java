package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Kernel benchmarks per tensor type: one row's dot product, a matrix-vector product (decode) and
 * a batched product (prompt processing), with the weights off-heap like a mapped model file.
 * Built and run only with the {@code jmh} Maven profile (see BENCHMARKS.md).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class KernelJmh {

    @Param({"Q8_0", "Q4_0", "Q6_K", "Q4_K", "F16"})
    public String type;

    @Param({"2048"})
    public int rows;

    @Param({"2048"})
    public int cols;

    @Param({"1"})
    public int threads;

    @Param({"16"})
    public int batch;

    private Arena arena;
    private Parallel pool;
    private FloatTensor w;
    private float[] x, out;

    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom random = new SplittableRandom(42);
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) values[i] = (float) (random.nextGaussian() * 0.02);
        GgmlType t = GgmlType.valueOf(type);
        byte[] bytes;
        if (Quantizer.encodes(t)) {
            bytes = Quantizer.quantize(t, values);
        } else {
            // types only read (Q5_K, IQ4_XS, ...): random bytes make valid blocks of any type, with some
            // scales NaN or infinite, which x86 multiplies at full speed
            bytes = new byte[Math.toIntExact(t.byteSize((long) rows * cols))];
            for (int i = 0; i < bytes.length; i++) bytes[i] = (byte) random.nextInt(256);
        }
        arena = Arena.ofShared();
        MemorySegment seg = arena.allocate(bytes.length, 64);
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, seg, 0, bytes.length);
        w = FloatTensor.of(t, seg, (long) rows * cols);
        x = new float[batch * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
        out = new float[batch * rows];
        pool = new Parallel(threads);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }

    /** One weight row times one activation row (the canonical dot). */
    @Benchmark
    public float dot() {
        return w.dot(0, x, 0, cols);
    }

    /** Every weight row times one activation row: a decode step's product. */
    @Benchmark
    public float[] matvec() {
        MatMul.matvec(pool, w, x, out, rows, cols);
        return out;
    }

    /** Every weight row times {@code batch} activation rows: prompt processing's product. */
    @Benchmark
    public float[] matmul() {
        MatMul.matmul(pool, w, x, batch, out, rows, cols);
        return out;
    }
}
