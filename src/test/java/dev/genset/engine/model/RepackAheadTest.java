package dev.genset.engine.model;

import dev.genset.bench.ModelShape;
import dev.genset.bench.RandomModelWriter;
import dev.genset.engine.tensor.Parallel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

/**
 * A loaded model's matrices are repacked on a thread of their own from the end of its first pass
 * ({@link Model#load}): whether a forward pass reads a matrix's stored bytes in its repacked order
 * (a first pass of a few rows), finds a form made ahead, waits for the one being made, or makes it
 * itself, it computes what a model repacking on first use computes.
 */
class RepackAheadTest {
    /** Query rows of 4 x 32 values against a hidden size of 256, so that each matrix's row length differs from some other's. */
    static final ModelShape NARROW_HEADS = new ModelShape("narrow-heads", "llama", 256, 2, 4, 2, 32, 512, 32000, 512, 10000f, 1e-5f,
            false, false, false, true, "ggml-vocab-llama-spm.gguf");

    /** The reference: {@link WarmUpTest#logits} of a model that repacks each matrix on its first product, with no repacking ahead. */
    private static float[] logitsRepackingOnFirstUse(Path f) throws Exception {
        try (Model model = Model.load(f, false); Parallel pool = new Parallel(2)) {
            return WarmUpTest.logits(model, model.newTransformer(pool, 8));
        }
    }

    @ParameterizedTest
    @EnumSource(RandomModelWriter.FileType.class)
    void formsMadeAheadComputeWhatFormsMadeOnFirstUseCompute(RandomModelWriter.FileType type, @TempDir Path dir) throws Exception {
        Path f = dir.resolve("m.gguf");
        new RandomModelWriter(NARROW_HEADS, type, 5).write(f);
        float[] onFirstUse = logitsRepackingOnFirstUse(f);
        try (Model model = Model.load(f); Parallel pool = new Parallel(2)) {  // racing the repacking
            assertThat(WarmUpTest.logits(model, model.newTransformer(pool, 8))).containsExactly(onFirstUse);
        }
        try (Model model = Model.load(f); Parallel pool = new Parallel(2)) {  // every form made ahead
            model.awaitRepacking();
            for (var m : model.weights().matrices())
                assertThat(m.repacked()).as("%s made ahead", m.type()).isEqualTo(m.repackedBytes() > 0);
            assertThat(WarmUpTest.logits(model, model.newTransformer(pool, 8))).containsExactly(onFirstUse);
        }
    }

    /**
     * Until a pass has ended, nothing is repacked ahead: a first pass of a few rows reads the Q8_0,
     * Q4_0, Q4_K and Q6_K matrices in their stored bytes (a transformer made without the model's end-of-pass
     * signal, so that the repacking does not start) and computes what the repacked forms compute.
     */
    @ParameterizedTest
    @EnumSource(value = RandomModelWriter.FileType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q4_K_M"})
    void aFirstPassOfAFewRowsReadsTheStoredBytesAndTheRepackingFollowsIt(RandomModelWriter.FileType type, @TempDir Path dir) throws Exception {
        Path f = dir.resolve("m.gguf");
        new RandomModelWriter(NARROW_HEADS, type, 6).write(f);
        float[] onFirstUse = logitsRepackingOnFirstUse(f);
        try (Model model = Model.load(f); Parallel pool = new Parallel(2)) {
            Transformer unsignalled = model.newTransformer(pool, 8);
            unsignalled.afterForward = null;
            assertThat(WarmUpTest.logits(model, unsignalled)).containsExactly(onFirstUse);
            for (var m : model.weights().matrices())  // Q8_0, Q4_0, Q4_K and Q6_K
                assertThat(m.repacked()).as("%s repacked before any pass ended", m.type()).isFalse();
            assertThat(model.repacking()).as("the repacking waits for a pass's end").isTrue();
            // a pass through the model's own transformer ends by starting the repacking
            model.newTransformer(pool, 8).forward(1, new int[] {1}, new int[] {0}, new KvCache[] {model.newCache(4)}, new boolean[] {true},
                    new float[model.config().vocabSize()]);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (model.repacking() && System.nanoTime() < deadline) Thread.sleep(10);
            assertThat(model.repacking()).as("the repacking, started by that pass's end, has ended").isFalse();
            for (var m : model.weights().matrices()) assertThat(m.repacked()).isEqualTo(m.repackedBytes() > 0);
            assertThat(WarmUpTest.logits(model, model.newTransformer(pool, 8))).containsExactly(onFirstUse);
        }
    }

    /**
     * Where the repacked matrices cannot be read in order (Q5_0, packed at a byte and a quarter a
     * value), a first pass could do nothing without their forms, so the repacking starts at load.
     */
    @Test
    void aModelWithNothingToReadInOrderRepacksFromItsLoad(@TempDir Path dir) throws Exception {
        Path f = new dev.genset.testing.SyntheticModel("llama", 256, 1, 4, 2, 256, 1)
                .writeWithType(dir.resolve("q50.gguf"), "blk.0.ffn_up.weight", dev.genset.engine.gguf.GgmlType.Q5_0);
        try (Model model = Model.load(f)) {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (model.repacking() && System.nanoTime() < deadline) Thread.sleep(10);
            assertThat(model.repacking()).as("repacked without a pass").isFalse();
            assertThat(model.weights().layers()[0].wUp().repacked()).isTrue();
        }
    }

    @Test
    void closingWhileRepackingStopsItAndFreesEverything(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("m.gguf");
        new RandomModelWriter(WarmUpTest.SMALL, RandomModelWriter.FileType.Q4_0, 7).write(f);
        for (int i = 0; i < 20; i++) {
            Model model = Model.load(f);
            assertThatCode(model::close).doesNotThrowAnyException();
            // the repacking thread is gone once close returns: nothing packs into freed memory
            assertThat(model.repacking()).isFalse();
        }
        // and a model closed that way loads and computes again as before
        try (Model model = Model.load(f); Parallel pool = new Parallel(2)) {
            assertThat(WarmUpTest.logits(model, model.newTransformer(pool, 8))).hasSize(2 * model.config().vocabSize());
        }
    }

    @Test
    void awaitingAModelWithNothingToRepackReturnsAtOnce() throws Exception {
        try (Model model = Model.load(dev.genset.testing.TestFiles.storiesModel())) {  // f32 weights: nothing to repack
            long start = System.nanoTime();
            model.awaitRepacking();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(1));
        }
    }
}
