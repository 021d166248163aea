package dev.genset.engine.model;

import dev.genset.engine.tensor.Parallel;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/** Greedy decoding of the bundled model must equal llama.cpp's token for token (models/README.md). */
class GreedyConformanceTest {
    static final int[] PROMPT = {1, 403, 407, 261, 378}; // <s> ▁Once ▁upon ▁a ▁time
    static final int[] LLAMA_CPP_CONTINUATION = {432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337,
            410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394};

    static int argmax(float[] logits, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (logits[off + i] > logits[off + best]) best = i;
        return best;
    }

    static int[] greedy(Model model, Transformer t, boolean batchedPrompt) {
        return greedy(model, t, batchedPrompt, KvType.F32);
    }

    static int[] greedy(Model model, Transformer t, boolean batchedPrompt, KvType kvType) {
        int vocab = model.config().vocabSize();
        KvCache cache = model.newCache(128, kvType, kvType);
        float[] logits = new float[vocab * t.maxBatch()];
        int next;
        if (batchedPrompt) {
            boolean[] want = new boolean[PROMPT.length];
            want[PROMPT.length - 1] = true;
            KvCache[] caches = new KvCache[PROMPT.length];
            Arrays.fill(caches, cache);
            t.forward(PROMPT.length, PROMPT, new int[] {0, 1, 2, 3, 4}, caches, want, logits);
        } else {
            for (int i = 0; i < PROMPT.length; i++)
                t.forward(1, new int[] {PROMPT[i]}, new int[] {i}, new KvCache[] {cache}, new boolean[] {true}, logits);
        }
        next = argmax(logits, 0, vocab);
        int[] out = new int[LLAMA_CPP_CONTINUATION.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = next;
            t.forward(1, new int[] {next}, new int[] {PROMPT.length + i}, new KvCache[] {cache}, new boolean[] {true}, logits);
            next = argmax(logits, 0, vocab);
        }
        return out;
    }

    @Test
    void tokenByTokenPromptMatchesLlamaCpp() throws Exception {
        try (Model model = Model.load(TestFiles.storiesModel()); Parallel pool = new Parallel(2)) {
            assertThat(greedy(model, model.newTransformer(pool, 1), false)).containsExactly(LLAMA_CPP_CONTINUATION);
        }
    }

    /** llama.cpp's own cache holds f16 by default, as this one does here. */
    @Test
    void withAnF16CacheMatchesLlamaCpp() throws Exception {
        try (Model model = Model.load(TestFiles.storiesModel()); Parallel pool = new Parallel(2)) {
            assertThat(greedy(model, model.newTransformer(pool, 8), true, KvType.F16)).containsExactly(LLAMA_CPP_CONTINUATION);
            assertThat(greedy(model, model.newTransformer(pool, 1), false, KvType.F16)).containsExactly(LLAMA_CPP_CONTINUATION);
        }
    }

    @Test
    void batchedPromptMatchesLlamaCpp() throws Exception {
        try (Model model = Model.load(TestFiles.storiesModel()); Parallel pool = new Parallel(2)) {
            assertThat(greedy(model, model.newTransformer(pool, 8), true)).containsExactly(LLAMA_CPP_CONTINUATION);
        }
    }
}
