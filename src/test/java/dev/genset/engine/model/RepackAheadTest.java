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
 * A loaded model's matrices are repacked on a thread of their own ahead of the first products
 * ({@link Model#load}): whether a forward pass finds a form made ahead, waits for the one being
 * made, or makes it itself, it computes what a model repacking on first use computes.
 */
class RepackAheadTest {
    /** Query rows of 4 x 32 values against a hidden size of 256, so that each matrix's row length differs from some other's. */
    static final ModelShape NARROW_HEADS = new ModelShape("narrow-heads", "llama", 256, 2, 4, 2, 32, 512, 32000, 512, 10000f, 1e-5f,
            false, false, false, true, "ggml-vocab-llama-spm.gguf");

    @ParameterizedTest
    @EnumSource(RandomModelWriter.FileType.class)
    void formsMadeAheadComputeWhatFormsMadeOnFirstUseCompute(RandomModelWriter.FileType type, @TempDir Path dir) throws Exception {
        Path f = dir.resolve("m.gguf");
        new RandomModelWriter(NARROW_HEADS, type, 5).write(f);
        float[] onFirstUse;
        try (Model model = Model.load(f, false); Parallel pool = new Parallel(2)) {
            onFirstUse = WarmUpTest.logits(model, model.newTransformer(pool, 8));
        }
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
