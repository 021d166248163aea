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
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

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
            // The least over rounds until one allocates nothing, for up to 20 s: code not yet compiled
            // (or deoptimised and waiting for its recompilation) allocates, and in the whole suite
            // the compiler's queue holds earlier tests' methods. Code that allocates once compiled
            // does so in every round.
            long least = Long.MAX_VALUE, deadline = System.nanoTime() + 20_000_000_000L;
            for (int round = 0; least > 0 && (round < 5 || System.nanoTime() < deadline); round++) {
                long before = mx.getCurrentThreadAllocatedBytes();
                steps.run();
                least = Math.min(least, mx.getCurrentThreadAllocatedBytes() - before);
            }
            if (least > 0) assertThat(least).as("bytes allocated by 16 decode steps, at %s", allocationSites(steps)).isZero();
        }
    }

    /**
     * Where the calling thread allocates while the steps run again, as the JDK's allocation events
     * see it (sampled at buffer refills, so many rounds): the frames that name a failure's cause.
     */
    private static String allocationSites(Runnable steps) throws InterruptedException {
        Map<String, Integer> sites = new ConcurrentHashMap<>();
        long self = Thread.currentThread().threadId();
        try (var recording = new jdk.jfr.consumer.RecordingStream()) {
            for (String event : List.of("jdk.ObjectAllocationSample", "jdk.ObjectAllocationInNewTLAB", "jdk.ObjectAllocationOutsideTLAB"))
                recording.enable(event).withStackTrace().with("throttle", "100000/s");
            recording.onEvent(e -> {
                if (e.getThread() == null || e.getThread().getJavaThreadId() != self || e.getStackTrace() == null) return;
                List<String> frames = e.getStackTrace().getFrames().stream()
                        .map(f -> f.getMethod().getType().getName() + "." + f.getMethod().getName() + ":" + f.getLineNumber())
                        .filter(f -> f.startsWith("dev.genset.")).limit(2).toList();
                sites.merge(e.getClass("objectClass").getName() + " " + frames, 1, Integer::sum);
            });
            recording.startAsync();
            for (int i = 0; i < 200; i++) steps.run();
            Thread.sleep(1500);  // the stream delivers events about once a second
        }
        return sites.isEmpty() ? "(no allocation events)" : sites.toString();
    }
}
