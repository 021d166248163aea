package dev.genset.engine.tensor;

import dev.genset.engine.model.KvCache;
import dev.genset.engine.model.KvType;
import dev.genset.engine.model.Model;
import dev.genset.engine.model.Transformer;
import dev.genset.testing.SyntheticModel;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A whole decode step (one row through every layer and the output matrix) allocates nothing once warm, with each type of KV cache. */
class DecodeStepAllocationTest {

    @ParameterizedTest
    @EnumSource(KvType.class)
    void oneDecodeStepAllocatesNothingOnTheCallingThreadOnceWarm(KvType kvType, @TempDir Path dir) throws Exception {
        // vectors wider than the hardware's are emulated with objects
        assumeTrue(Simd.F.vectorBitSize() <= jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize());
        Path file = kvType.blockSize() > 1  // heads of whole blocks of 32, which the bundled model's are not
                ? new SyntheticModel("llama", 128, 2, 4, 2, 48, 5).write(dir.resolve("q8.gguf"))
                : Path.of(System.getProperty("genset.repo", "."), "models", "stories260K.gguf");
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (Model model = Model.load(file); Parallel pool = new Parallel(2)) {
            Transformer t = model.newTransformer(pool, 1);
            KvCache cache = model.newCache(32, kvType, kvType);
            int[] token = {1}, position = {0};
            KvCache[] caches = {cache};
            boolean[] want = {true};
            float[] logits = new float[model.config().vocabSize()];
            Runnable steps = () -> {
                cache.truncate(0);
                for (int p = 0; p < 16; p++) {
                    token[0] = 1 + p;
                    position[0] = p;
                    t.forward(1, token, position, caches, want, logits);
                }
            };
            for (int i = 0; i < 300; i++) steps.run();  // until compiled: escape analysis removes the temporaries
            // the least over a few rounds: JIT activity (recompilation, deoptimisation) can allocate once
            long least = Long.MAX_VALUE;
            for (int round = 0; round < 5; round++) {
                long before = mx.getCurrentThreadAllocatedBytes();
                steps.run();
                least = Math.min(least, mx.getCurrentThreadAllocatedBytes() - before);
            }
            assertThat(least).as("bytes allocated by 16 decode steps").isZero();
        }
    }
}
