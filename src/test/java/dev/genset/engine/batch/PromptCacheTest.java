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
        KvCache cache = model.newCache(128);
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
        // room for the two entries it ends with: keys are kept in whole tiles, whose size follows the vector width
        PromptCache c = new PromptCache(bytes(25) + bytes(20));
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

    /** tokens a, then b. */
    static int[] concat(int[] a, int[] b) {
        int[] t = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, t, a.length, b.length);
        return t;
    }

    @Test
    void promptsBehindOneSystemPromptKeepItOnce() {
        int[] system = tokens(10, 40), a = concat(system, tokens(100, 10)), b = concat(system, tokens(200, 10));
        PromptCache c = cacheOf(200);
        assertThat(c.save(a, a.length, null, computed(a))).isTrue();
        assertThat(c.save(b, b.length, null, computed(b))).isTrue();
        assertThat(c.entries()).isEqualTo(2);
        // b keeps only what follows the 40 tokens it shares with a
        KvCache any = model.newCache(64);
        assertThat(c.bytes()).isEqualTo(bytes(50) + any.savedBytes(40, 50)).isLessThan(2 * bytes(50));
        assertThat(c.tokens()).isEqualTo(60);
        // each restores as computed: b through a's first 40 positions, then its own
        for (int[] p : new int[][] {a, b}) {
            KvCache restored = model.newCache(64);
            PromptCache.Match m = c.longest(p, null);
            assertThat(m.common()).isEqualTo(50);
            m.entry().restore(restored, 49);
            assertThat(next(restored, p[49])).isEqualTo(next(computed(Arrays.copyOf(p, 49)), p[49]));
        }
        // a restore that starts inside b's own part, and one that stops inside the shared part
        KvCache partly = computed(Arrays.copyOf(b, 45));
        c.longest(b, null).entry().restore(partly, 49);
        assertThat(next(partly, b[49])).isEqualTo(next(computed(Arrays.copyOf(b, 49)), b[49]));
        KvCache shortOne = model.newCache(64);
        c.longest(b, null).entry().restore(shortOne, 30);
        assertThat(next(shortOne, b[30])).isEqualTo(next(computed(Arrays.copyOf(b, 30)), b[30]));
    }

    @Test
    void anEntryOthersBuildOnIsNotEvictedBeforeThem() {
        int[] system = tokens(10, 40), a = concat(system, tokens(100, 10)), b = concat(system, tokens(200, 10)), d = concat(system, tokens(300, 10));
        KvCache any = model.newCache(64);
        PromptCache c = new PromptCache(bytes(50) + any.savedBytes(40, 50) + 1); // a, and one prompt's own part
        c.save(a, a.length, null, computed(a));
        c.save(b, b.length, null, computed(b));
        c.touch(c.longest(b, null).entry()); // b used after a, and a with it: still only b can go
        assertThat(c.save(d, d.length, null, computed(d))).isTrue();
        assertThat(c.entries()).isEqualTo(2);
        assertThat(c.longest(d, null).common()).isEqualTo(50);
        assertThat(c.longest(b, null).common()).as("b went; a's 40 shared tokens stay").isEqualTo(40);
        assertThat(c.longest(a, null).common()).isEqualTo(50);
    }

    @Test
    void theNextTurnReplacesItsLeafButNotAParent() {
        int[] system = tokens(10, 40), a = concat(system, tokens(100, 10)), b = concat(system, tokens(200, 10));
        PromptCache c = cacheOf(300);
        c.save(a, a.length, null, computed(a));
        int[] a2 = concat(a, tokens(400, 8)); // a's conversation, a turn later
        c.save(a2, a2.length, null, computed(a2));
        assertThat(c.entries()).as("a2 took a's place").isEqualTo(1);
        assertThat(c.bytes()).isEqualTo(bytes(58));
        c.save(b, b.length, null, computed(b));
        int[] a3 = concat(a2, tokens(450, 8));
        c.save(a3, a3.length, null, computed(a3));
        assertThat(c.entries()).as("a2 holds b's beginning: a3 builds on it").isEqualTo(3);
        KvCache restored = model.newCache(80);
        c.longest(a3, null).entry().restore(restored, a3.length - 1);
        assertThat(next(restored, a3[a3.length - 1])).isEqualTo(next(computed(Arrays.copyOf(a3, a3.length - 1)), a3[a3.length - 1]));
    }

    @Test
    void cachesSharingABudgetKeepWithinItTogether() {
        PromptCacheBudget shared = new PromptCacheBudget(3 * bytes(20));
        PromptCache one = new PromptCache(10 * bytes(20), shared), two = new PromptCache(10 * bytes(20), shared);
        int[] a = tokens(10, 20), b = tokens(40, 20), d = tokens(70, 20), e = tokens(100, 20);
        assertThat(one.save(a, 20, null, computed(a))).isTrue();
        assertThat(one.save(b, 20, null, computed(b))).isTrue();
        assertThat(two.save(d, 20, null, computed(d))).isTrue();
        assertThat(shared.used()).isEqualTo(3 * bytes(20));
        // the budget is spent: two makes room from its own prompts now, one keeps both of its own until its own turn
        assertThat(two.save(e, 20, null, computed(e))).isTrue();
        assertThat(two.entries()).isEqualTo(1);
        assertThat(two.longest(d, null)).isNull();
        assertThat(one.entries()).isEqualTo(2);
        // in its scheduler's next turn one gives back a prompt used before two's oldest (its least recently used)
        assertThat(one.makeRoom()).isTrue();
        assertThat(one.entries()).isEqualTo(1);
        assertThat(one.longest(a, null)).isNull();
        assertThat(one.longest(b, null)).isNotNull();
        assertThat(one.makeRoom()).as("asked once, served once").isFalse();
        int[] f = tokens(130, 20);
        assertThat(two.save(f, 20, null, computed(f))).isTrue();
        assertThat(two.entries()).as("now without dropping its own").isEqualTo(2);
        // with nothing of its own to drop, a cache keeps nothing now rather than take the others' room, and asks for some
        PromptCache three = new PromptCache(10 * bytes(20), shared);
        assertThat(three.save(d, 20, null, computed(d))).isFalse();
        assertThat(shared.used()).isEqualTo(3 * bytes(20));
        assertThat(two.makeRoom()).isTrue();  // e, used before three asked
        assertThat(three.save(d, 20, null, computed(d))).isTrue();
        assertThat(shared.used()).isEqualTo(3 * bytes(20));
        // every other cache was asked: one's b, used before three asked, goes too (a cache keeps less, never more)
        assertThat(one.makeRoom()).isTrue();
        assertThat(one.entries()).isZero();
        assertThat(shared.used()).isEqualTo(2 * bytes(20));
        two.clear();
        assertThat(shared.used()).isEqualTo(bytes(20));
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
