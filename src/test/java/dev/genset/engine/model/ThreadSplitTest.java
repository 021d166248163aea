package dev.genset.engine.model;

import dev.genset.engine.tensor.Parallel;
import dev.genset.testing.SyntheticModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A prompt's forward pass gives the same bits on one thread and on several: the products, the
 * attention, and the per-row steps a prompt's size spreads over the pool (its RMS norms and its
 * SwiGLU gating, which a decoding step keeps on the calling thread).
 */
class ThreadSplitTest {

    @Test
    void aPromptsLogitsAreTheSameBitsOnOneThreadAndOnTwo(@TempDir Path dir) throws Exception {
        // wide enough that 128 rows' norms (4 * 128 * 512) and gating (8 * 128 * 1024) go to the pool
        SyntheticModel sm = new SyntheticModel("llama", 512, 2, 8, 4, 1024, 11);
        int n = 128;
        int[] tokens = new int[n];
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < n; i++) tokens[i] = r.nextInt(sm.vocab);
        try (Model model = Model.load(sm.write(dir.resolve("wide.gguf")));
             Parallel one = new Parallel(1); Parallel two = new Parallel(2)) {
            float[] alone = logits(model, one, tokens), shared = logits(model, two, tokens);
            assertThat(alone).isNotEqualTo(new float[alone.length]);
            for (int i = 0; i < alone.length; i++)
                assertThat(Float.floatToRawIntBits(shared[i])).as("logit %d", i).isEqualTo(Float.floatToRawIntBits(alone[i]));
        }
    }

    private static float[] logits(Model model, Parallel pool, int[] tokens) {
        int n = tokens.length, vocab = model.config().vocabSize();
        Transformer t = model.newTransformer(pool, n);
        KvCache cache = model.newCache(n, KvType.F16, KvType.F16);
        KvCache[] caches = new KvCache[n];
        Arrays.fill(caches, cache);
        boolean[] want = new boolean[n];
        Arrays.fill(want, true);
        int[] positions = new int[n];
        Arrays.setAll(positions, i -> i);
        float[] logits = new float[n * vocab];
        t.forward(n, tokens, positions, caches, want, logits);
        return logits;
    }
}
