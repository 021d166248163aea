package dev.genset.engine.model;

import dev.genset.engine.gguf.GgmlType;
import dev.genset.engine.tensor.FloatTensor;
import dev.genset.testing.SyntheticModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Matrices the kernels would repack stay in their stored form when the repacked forms would not fit in memory. */
class RepackingLimitTest {

    @Test
    void theMachinesMemoryIsKnown() {
        long bytes = Weights.physicalMemory();
        assertThat(bytes).isGreaterThan(256L << 20).isLessThan(1L << 50);
        // what the JVM's management bean says (it reads the same sources), within a page
        long bean = ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
        assertThat((double) bytes).isCloseTo(bean, org.assertj.core.data.Percentage.withPercentage(1));
    }

    @Test
    void repackingIsGivenUpWhenItWouldNotFit(@TempDir Path dir) throws Exception {
        Path f = new SyntheticModel("llama", 256, 1, 4, 2, 256, 1).writeWithType(dir.resolve("q50.gguf"), "blk.0.ffn_up.weight", GgmlType.Q5_0);
        try (Model m = Model.load(f)) {
            FloatTensor up = m.weights().layers()[0].wUp();
            long repacked = up.repackedBytes();
            assertThat(repacked).isEqualTo(256L * 256 * 5 / 4);  // a byte and a quarter per value
            long file = m.gguf().fileSize();
            // room for the file and the repacked forms: nothing changes
            assertThat(Weights.limitRepacking(m.weights(), file, 64L << 30)).isFalse();
            assertThat(up.repackedBytes()).isEqualTo(repacked);
            // no room: kept in the stored form, and products still run
            assertThat(Weights.limitRepacking(m.weights(), file, file + repacked / 2)).isTrue();
            assertThat(up.repackedBytes()).isZero();
            try (var pool = new dev.genset.engine.tensor.Parallel(1)) {
                float[] logits = new float[m.config().vocabSize()];
                m.newTransformer(pool, 1).forward(1, new int[] {1}, new int[] {0}, new KvCache[] {m.newCache(4)}, new boolean[] {true}, logits);
                for (float v : logits) assertThat(v).isFinite();
            }
        }
    }
}
