package dev.genset.engine.batch;

import dev.genset.engine.model.KvCache;
import dev.genset.engine.model.Model;
import dev.genset.engine.model.Transformer;
import dev.genset.engine.tensor.Parallel;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

class PromptCacheTest {
    static Model model;
    static Parallel pool;

    @BeforeAll
    static void load() throws Exception {
        model = Model.load(TestFiles.storiesModel());
        pool = new Parallel(1);
    }

    @AfterAll
    static void close() {
        pool.close();
        model.close();
    }

    /** A KV cache holding the given tokens, computed by the forward pass. */
    static KvCache computed(int[] tokens) {
        KvCache cache = model.newCache(64);
        Transformer t = model.newTransformer(pool, tokens.length);
        int[] positions = new int[tokens.length];
        for (int i = 0; i < tokens.length; i++) positions[i] = i;
        KvCache[] caches = new KvCache[tokens.length];
        Arrays.fill(caches, cache);
        t.forward(tokens.length, tokens, positions, caches, new boolean[tokens.length], new float[tokens.length * model.config().vocabSize()]);
        return cache;
    }

    static int[] tokens(int first, int length) {
        int[] t = new int[length];
        for (int i = 0; i < length; i++) t[i] = first + i;
        return t;
    }

    /** What an entry of this many tokens takes. */
    static long bytes(int tokens) {
        return model.newCache(64).savedBytes(tokens);
    }

    PromptCache cacheOf(int tokens) {
        return new PromptCache(bytes(tokens));
    }

    @Test
    void findsTheLongestPrefixWithinTheScope() {
        PromptCache c = cacheOf(100);
        int[] a = tokens(10, 20), b = tokens(10, 30);
        b[25] = 300;
        assertThat(c.save(a, a.length, "x", computed(a))).isTrue();
        assertThat(c.save(b, 25, "x", computed(b))).as("extends a, so replaces it").isTrue();
        assertThat(c.entries()).isEqualTo(1);
        assertThat(c.bytes()).isEqualTo(bytes(25));
        assertThat(c.save(a, a.length, "x", computed(a))).as("held by the longer entry").isFalse();
        assertThat(c.save(a, a.length, "y", computed(a))).as("another scope keeps its own").isTrue();

        PromptCache.Match m = c.longest(tokens(10, 40), "x");
        assertThat(m.common()).isEqualTo(25);
        assertThat(m.entry().scope).isEqualTo("x");
        assertThat(c.longest(tokens(10, 40), "y").common()).isEqualTo(20);
        assertThat(c.longest(tokens(10, 40), null)).as("no entry of the shared scope").isNull();
        assertThat(c.longest(tokens(11, 40), "x")).as("nothing in common").isNull();
    }

    @Test
    void theCopyHoldsTheComputedKeysAndValues() {
        PromptCache c = cacheOf(100);
        int[] a = tokens(10, 20);
        KvCache original = computed(a);
        c.save(a, a.length, null, original);
        KvCache restored = model.newCache(64);
        c.longest(a, null).entry().restore(restored, 19);
        KvCache recomputed = computed(Arrays.copyOf(a, 19));
        assertThat(restored.length()).isEqualTo(19);
        // continuing both from position 19 gives the same logits
        float[] one = next(restored, a[19]), two = next(recomputed, a[19]);
        assertThat(one).isEqualTo(two);
    }

    static float[] next(KvCache cache, int token) {
        float[] logits = new float[model.config().vocabSize()];
        model.newTransformer(pool, 1).forward(1, new int[]{token}, new int[]{cache.length()}, new KvCache[]{cache}, new boolean[]{true}, logits);
        return logits;
    }

    @Test
    void keepsWithinItsBudgetDroppingTheLeastRecentlyUsed() {
        PromptCache c = new PromptCache(3 * bytes(20));
        int[] a = tokens(10, 20), b = tokens(40, 20), d = tokens(70, 20), e = tokens(100, 20);
        c.save(a, 20, null, computed(a));
        c.save(b, 20, null, computed(b));
        c.save(d, 20, null, computed(d));
        c.touch(c.longest(a, null).entry());  // b is now the least recently used
        c.save(e, 20, null, computed(e));
        assertThat(c.entries()).isEqualTo(3);
        assertThat(c.bytes()).isEqualTo(3 * bytes(20));
        assertThat(c.longest(b, null)).as("evicted").isNull();
        assertThat(c.longest(a, null).common()).isEqualTo(20);
        assertThat(c.longest(e, null).common()).isEqualTo(20);
        assertThat(c.tokens()).isEqualTo(60);
    }

    @Test
    void aRestoreContinuesWhereTheCacheStands() {
        PromptCache c = cacheOf(100);
        int[] a = tokens(10, 30);
        c.save(a, a.length, null, computed(a));
        KvCache partly = computed(Arrays.copyOf(a, 12));  // holds the first 12 already
        c.longest(a, null).entry().restore(partly, 29);
        KvCache whole = computed(Arrays.copyOf(a, 29));
        assertThat(next(partly, a[29])).isEqualTo(next(whole, a[29]));
        c.clear();
        assertThat(c.entries()).isZero();
        assertThat(c.bytes()).isZero();
    }

    @Test
    void refusesWhatIsTooShortOrTooLarge() {
        PromptCache c = cacheOf(30);
        int[] shortOne = tokens(10, PromptCache.MIN_TOKENS - 1), large = tokens(10, 40);
        assertThat(c.save(shortOne, shortOne.length, null, computed(shortOne))).isFalse();
        assertThat(c.save(large, large.length, null, computed(large))).as("over the whole budget").isFalse();
        PromptCache none = new PromptCache(0);
        int[] a = tokens(10, 20);
        assertThat(none.save(a, a.length, null, computed(a))).isFalse();
        assertThat(c.entries() + none.entries()).isZero();
    }
}
