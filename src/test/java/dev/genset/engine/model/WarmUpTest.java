package dev.genset.engine.model;

import dev.genset.bench.ModelShape;
import dev.genset.bench.RandomModelWriter;
import dev.genset.engine.tensor.Parallel;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link Model#warmUp} runs the forward pass and leaves nothing behind: what follows computes exactly what it would have. */
class WarmUpTest {
    static final ModelShape SMALL = new ModelShape("small-llama", "llama", 256, 2, 4, 2, 64, 512, 32000, 512, 10000f, 1e-5f,
            false, false, false, true, "ggml-vocab-llama-spm.gguf");

    /** The logits of a five-token prompt in one batch and of the next token alone, on a fresh cache. */
    static float[] logits(Model model, Transformer t) {
        int vocab = model.config().vocabSize();
        KvCache cache = model.newCache(16);
        float[] out = new float[2 * vocab];
        int[] prompt = GreedyConformanceTest.PROMPT;
        KvCache[] caches = new KvCache[prompt.length];
        Arrays.fill(caches, cache);
        boolean[] want = new boolean[prompt.length];
        want[prompt.length - 1] = true;
        t.forward(prompt.length, prompt, new int[] {0, 1, 2, 3, 4}, caches, want, out);
        float[] next = new float[vocab];
        t.forward(1, new int[] {GreedyConformanceTest.argmax(out, 0, vocab)}, new int[] {prompt.length}, new KvCache[] {cache}, new boolean[] {true}, next);
        System.arraycopy(next, 0, out, vocab, vocab);
        return out;
    }

    @Test
    void bundledModelStillMatchesLlamaCppAfterAWarmUp() throws Exception {
        try (Model model = Model.load(TestFiles.storiesModel()); Parallel pool = new Parallel(2)) {
            float[] before = logits(model, model.newTransformer(pool, 8));
            assertThat(model.warmUp(pool)).isPositive();
            assertThat(logits(model, model.newTransformer(pool, 8))).containsExactly(before);
            assertThat(GreedyConformanceTest.greedy(model, model.newTransformer(pool, 8), true))
                    .containsExactly(GreedyConformanceTest.LLAMA_CPP_CONTINUATION);
        }
    }

    @ParameterizedTest
    @EnumSource(RandomModelWriter.FileType.class)
    void quantizedModelsComputeTheSameAfterAWarmUp(RandomModelWriter.FileType type, @TempDir Path dir) throws Exception {
        Path f = dir.resolve("m.gguf");
        new RandomModelWriter(SMALL, type, 3).write(f);
        float[] cold;
        try (Model model = Model.load(f); Parallel pool = new Parallel(2)) {
            cold = logits(model, model.newTransformer(pool, 8));
        }
        try (Model model = Model.load(f); Parallel pool = new Parallel(2)) {
            model.warmUp(pool);
            assertThat(logits(model, model.newTransformer(pool, 8))).containsExactly(cold);
        }
        // a server's warm-up: decoding steps of several sequences, each a cache of its own, every row's logits
        for (int sequences : new int[] {3, 16}) {
            try (Model model = Model.load(f); Parallel pool = new Parallel(2)) {
                assertThat(model.warmUp(pool, KvType.F32, KvType.Q8_0, sequences)).isPositive();
                assertThat(logits(model, model.newTransformer(pool, 8))).containsExactly(cold);
            }
        }
    }
}
