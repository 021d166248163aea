package dev.genset.engine.tensor;

import dev.genset.engine.gguf.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

class MatMulTest {

    /**
     * out[b*rows + r] against a double-precision product of the decoded weights with the
     * activations as the kernels see them: as given, or quantized to 8 bits for the types that
     * multiply in integers (as llama.cpp does).
     */
    private static void check(FloatTensor w, float[] x, int batch, float[] out, int rows, int cols) {
        float[] dec = new float[rows * cols];
        w.dequantize(0, dec, 0, rows * cols);
        if (IntKernels.handles(w)) {
            QuantizedRows qx = new QuantizedRows();
            qx.quantize(x, batch, cols);
            x = new float[batch * cols];
            for (int b = 0; b < batch; b++) for (int k = 0; k < cols; k++) x[b * cols + k] = qx.value(b, k);
        }
        for (int b = 0; b < batch; b++)
            for (int r = 0; r < rows; r++) {
                double exact = 0, mag = 0;
                for (int k = 0; k < cols; k++) {
                    double p = (double) dec[r * cols + k] * x[b * cols + k];
                    exact += p;
                    mag += Math.abs(p);
                }
                assertThat((double) out[b * rows + r]).as("b=%d r=%d", b, r)
                        .isCloseTo(exact, org.assertj.core.data.Offset.offset(1e-5 * mag + 1e-30));
            }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void matvecAndBatchedProductsMatchTheReference(GgmlType type) {
        // rows not a multiple of the tile height; the larger shape is big enough to be shared out
        // among the pool's threads even for one activation row (Parallel.MIN_SHARED_WORK)
        for (int[] shape : new int[][] {{67, 512}, {261, 1024}}) checkShape(type, shape[0], shape[1]);
    }

    private static void checkShape(GgmlType type, int rows, int cols) {
        FloatTensor w = TensorTestData.quantized(type, TensorTestData.weights(9, rows * cols));
        for (int threads : new int[] {1, 2, 3})
            try (Parallel pool = new Parallel(threads)) {
                for (int batch : new int[] {1, 2, 3, 5, 8}) {
                    float[] x = TensorTestData.activations(batch, batch * cols);
                    float[] out = new float[batch * rows];
                    MatMul.matmul(pool, w, x, batch, out, rows, cols);
                    check(w, x, batch, out, rows, cols);
                    if (batch == 1) {
                        float[] out2 = new float[rows];
                        MatMul.matvec(pool, w, x, out2, rows, cols);
                        assertThat(out2).containsExactly(out);
                    }
                }
            }
    }

    /** The products of interleaved weights are timed for the choice to read ahead, and the choice does not change results. */
    @Test
    void productsOfInterleavedWeightsDecideWhetherToReadAhead() {
        org.junit.jupiter.api.Assumptions.assumeTrue(ReadAhead.AUTO, "the choice is set, not measured, in this run");
        int rows = 64, cols = 256;
        FloatTensor w = TensorTestData.quantized(GgmlType.Q4_0, TensorTestData.weights(5, rows * cols));
        float[] x = TensorTestData.activations(1, cols), first = new float[rows], out = new float[rows];
        try (Parallel pool = new Parallel(2)) {
            MatMul.matvec(pool, w, x, first, rows, cols);
            // enough products to finish the process's warm-up and a trial, wherever other tests left them
            for (int i = 0; i < ReadAhead.WARM_CALLS + ReadAhead.TRIAL_CALLS; i++) {
                MatMul.matvec(pool, w, x, out, rows, cols);
                if (!Arrays.equals(out, first)) assertThat(out).as("product %d", i).containsExactly(first);
            }
        }
        assertThat(ReadAhead.state()).as("products of one row decide their own way").matches("one row (on|off) \\(measured: \\d+\\.\\d\\dx faster than with(out)?\\), batches .*");
    }

    @Test
    void unevenColumnCountsWorkForFloatTypes() {
        int rows = 9, cols = 37;
        FloatTensor w = TensorTestData.quantized(GgmlType.F32, TensorTestData.weights(4, rows * cols));
        float[] x = TensorTestData.activations(5, 3 * cols);
        float[] out = new float[3 * rows];
        try (Parallel pool = new Parallel(2)) {
            MatMul.matmul(pool, w, x, 3, out, rows, cols);
        }
        check(w, x, 3, out, rows, cols);
    }

    /** Boxed vectors (a kernel past C2's inlining budget) show up as allocation, and cost 100x in speed. */
    /**
     * Several matrices with the same activations in one product (mixed types, as a Q4_K_M file's
     * projections are; rows in and out of whole groups of 8): each output bit for bit what its own
     * product gives, for a decode step and for batches.
     */
    @Test
    void matricesSharingTheirInputGiveWhatEachGivesAlone() {
        int cols = 512;
        GgmlType[] types = {GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.F32, GgmlType.Q4_0};
        int[] rows = {64, 24, 20, 43};
        FloatTensor[] ws = new FloatTensor[types.length];
        for (int i = 0; i < types.length; i++) ws[i] = TensorTestData.quantized(types[i], TensorTestData.weights(20 + i, rows[i] * cols));
        try (Parallel pool = new Parallel(3)) {
            for (int batch : new int[] {1, 6, 40}) {
                float[] x = TensorTestData.activations(30 + batch, batch * cols);
                float[][] outs = new float[types.length][];
                for (int i = 0; i < types.length; i++) outs[i] = new float[batch * rows[i]];
                MatMul.matmul(pool, ws, x, batch, outs, rows, cols);
                for (int i = 0; i < types.length; i++) {
                    float[] alone = new float[batch * rows[i]];
                    MatMul.matmul(pool, ws[i], x, batch, alone, rows[i], cols);
                    assertThat(outs[i]).as("%s, batch %d", types[i], batch).containsExactly(alone);
                }
            }
        } finally {
            for (FloatTensor w : ws) w.release();
        }
    }

    /** Matrices each on an input row of its own (the experts a token is routed to), in one product, give what each gives alone: bit for bit. */
    @Test
    void matricesOnInputsOfTheirOwnGiveWhatEachGivesAlone() {
        int cols = 512;
        GgmlType[] types = {GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.F32, GgmlType.Q4_0};
        int[] rows = {64, 24, 40, 16, 20, 8};
        FloatTensor[] ws = new FloatTensor[types.length];
        float[][] xs = new float[types.length][], outs = new float[types.length][];
        for (int i = 0; i < types.length; i++) {
            ws[i] = TensorTestData.quantized(types[i], TensorTestData.weights(50 + i, rows[i] * cols));
            xs[i] = TensorTestData.activations(60 + i, cols);
            outs[i] = new float[rows[i]];
        }
        try (Parallel pool = new Parallel(3)) {
            for (int round = 0; round < 2; round++) { // the second with the forms repacked and the buffers reused
                MatMul.matmulEach(pool, ws, xs, outs, rows, cols);
                for (int i = 0; i < types.length; i++) {
                    float[] alone = new float[rows[i]];
                    MatMul.matmul(pool, ws[i], xs[i], 1, alone, rows[i], cols);
                    assertThat(outs[i]).as("%s", types[i]).containsExactly(alone);
                }
            }
        } finally {
            for (FloatTensor w : ws) w.release();
        }
    }

    /**
     * In a process of its own ({@link ProductAllocationProbe}), as a model's kernels are compiled in
     * a server: with the whole test suite's shapes and types in one process, the JIT compiled a
     * batched kernel with its vectors left as objects in some runs on an AVX-512 machine (a hazard
     * of the Vector API's shared profiles, measured in BENCHMARKS.md round 23; `genset bench` warns
     * when it happens).
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void callsAllocateNothingOnceWarm(GgmlType type) throws Exception {
        // vectors wider than the hardware's are emulated with objects
        org.junit.jupiter.api.Assumptions.assumeTrue(
                Simd.F.vectorBitSize() <= jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize());
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        // this JVM's flags (the launcher's JIT settings among them), minus any debugger agent
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments())
            if (!arg.startsWith("-agentlib") && !arg.startsWith("-javaagent")) cmd.add(arg);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), ProductAllocationProbe.class.getName(), type.name()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(output).isZero();
        Matcher least = Pattern.compile("least (\\d+)").matcher(output);
        assertThat(least.find()).as(output).isTrue();
        assertThat(Long.parseLong(least.group(1))).as("bytes allocated by 600 products").isLessThan(1024);
    }

    /** The read-ahead before a pair of groups reads one byte of each cache line of exactly those groups. */
    @Test
    void readAheadReadsOneByteOfEachLineOfTheGroups() {
        long groupBytes = 3 * 64;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(4 * groupBytes);
            for (long i = 0; i < p.byteSize(); i++) p.set(ValueLayout.JAVA_BYTE, i, (byte) (i % 64 == 0 ? 1 + i / 64 : 100));
            // groups 1 and 2: lines 3 to 8, whose first bytes are 4 to 9
            assertThat(MatMul.readAhead(p, groupBytes, 1, 3)).isEqualTo(4 + 5 + 6 + 7 + 8 + 9);
            assertThat(MatMul.readAhead(p, groupBytes, 3, 4)).as("the last group, to the segment's end").isEqualTo(10 + 11 + 12);
            assertThat(MatMul.readAhead(p, groupBytes, 2, 2)).isZero();
        }
    }
}
