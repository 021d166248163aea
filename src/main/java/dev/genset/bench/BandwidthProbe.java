package dev.genset.bench;

import dev.genset.engine.tensor.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Measures how fast the machine's cores together can stream memory that is not in cache: the
 * physical ceiling for token generation, which reads every weight once per token.
 */
public final class BandwidthProbe {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private BandwidthProbe() {}

    /** Median read bandwidth in bytes per second over {@code passes} passes of a {@code bytes} buffer. */
    public static double measure(Parallel pool, long bytes, int passes) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(bytes, 64);
            buf.fill((byte) 1);
            long floats = bytes / 4;
            int chunks = pool.threads() * 16;
            long per = floats / chunks / (2L * S.length()) * (2L * S.length());
            float[] sink = new float[chunks];
            double[] rates = new double[passes];
            for (int pass = -1; pass < passes; pass++) {
                long start = System.nanoTime();
                pool.forRange(chunks, (from, to) -> {
                    for (int c = from; c < to; c++) {
                        FloatVector acc0 = FloatVector.zero(S), acc1 = FloatVector.zero(S);
                        long base = c * per * 4;
                        for (long i = 0; i < per; i += 2L * S.length()) {
                            acc0 = acc0.add(FloatVector.fromMemorySegment(S, buf, base + i * 4, ByteOrder.LITTLE_ENDIAN));
                            acc1 = acc1.add(FloatVector.fromMemorySegment(S, buf, base + (i + S.length()) * 4, ByteOrder.LITTLE_ENDIAN));
                        }
                        sink[c] = acc0.add(acc1).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
                    }
                });
                long ns = System.nanoTime() - start;
                if (pass >= 0) rates[pass] = chunks * per * 4 * 1e9 / ns;
            }
            if (Float.isNaN(sink[0] + sink[chunks - 1])) throw new IllegalStateException(); // keeps the sums alive
            Arrays.sort(rates);
            return rates[passes / 2];
        }
    }
}
