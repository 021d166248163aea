package dev.genset.engine.embed;

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
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class EmbedderTest {
    static Model model;
    static Parallel pool;
    static final int[] TOKENS = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298}; // <s> Once upon a time ...

    @BeforeAll
    static void load() throws Exception {
        model = Model.load(TestFiles.storiesModel());
        pool = new Parallel(2);
    }

    @AfterAll
    static void close() {
        pool.close();
        model.close();
    }

    static double norm(float[] v) {
        double s = 0;
        for (float f : v) s += (double) f * f;
        return Math.sqrt(s);
    }

    /** Each token's final hidden state, computed one token at a time. */
    static float[][] statesOneByOne(int[] tokens) {
        int dim = model.config().dim();
        Transformer t = model.newTransformer(pool, 1);
        KvCache cache = model.newCache(tokens.length);
        float[][] states = new float[tokens.length][dim];
        for (int i = 0; i < tokens.length; i++)
            t.hidden(1, new int[] {tokens[i]}, new int[] {i}, new KvCache[] {cache}, states[i]);
        return states;
    }

    @Test
    void hiddenStateIsWhatTheLogitsAreTakenFrom() {
        int dim = model.config().dim(), vocab = model.config().vocabSize();
        float[] state = statesOneByOne(TOKENS)[TOKENS.length - 1];
        Transformer t = model.newTransformer(pool, 1);
        KvCache cache = model.newCache(TOKENS.length);
        float[] logits = new float[vocab];
        for (int i = 0; i < TOKENS.length; i++)
            t.forward(1, new int[] {TOKENS[i]}, new int[] {i}, new KvCache[] {cache}, new boolean[] {true}, logits);
        for (int v = 0; v < vocab; v += 37)
            assertThat(model.weights().output().dot((long) v * dim, state, 0, dim)).as("logit %d", v).isCloseTo(logits[v], within(1e-4f));
    }

    @Test
    void meanPoolingIsTheUnitMeanOfTheStatesWhateverTheBatch() {
        float[][] states = statesOneByOne(TOKENS);
        int dim = model.config().dim();
        float[] mean = new float[dim];
        for (float[] s : states) for (int i = 0; i < dim; i++) mean[i] += s[i];
        for (int i = 0; i < dim; i++) mean[i] /= TOKENS.length;
        float[] expected = Embedder.normalized(mean, dim);
        float[] e1 = new Embedder(model, pool, 1, Embedder.Pooling.MEAN).embed(TOKENS);
        assertThat(e1).containsExactly(expected);
        for (int batch : new int[] {3, 4, 16})
            assertThat(new Embedder(model, pool, batch, Embedder.Pooling.MEAN).embed(TOKENS)).as("batch %d", batch).containsExactly(e1);
        assertThat(norm(e1)).isCloseTo(1.0, within(1e-5));
    }

    @Test
    void firstAndLastTokenPooling() {
        float[][] states = statesOneByOne(TOKENS);
        int dim = model.config().dim();
        assertThat(new Embedder(model, pool, 4, Embedder.Pooling.LAST).embed(TOKENS)).containsExactly(Embedder.normalized(states[TOKENS.length - 1], dim));
        assertThat(new Embedder(model, pool, 4, Embedder.Pooling.CLS).embed(TOKENS)).containsExactly(Embedder.normalized(states[0], dim));
    }

    @Test
    void differentTextsDifferAndTheSameTextIsTheSame() {
        Embedder e = new Embedder(model, pool, 8, Embedder.Pooling.of(model.gguf()));
        assertThat(e.pooling()).isEqualTo(Embedder.Pooling.MEAN); // a generative model names no pooling
        assertThat(e.dimensions()).isEqualTo(model.config().dim());
        float[] a = e.embed(TOKENS), b = e.embed(TOKENS), c = e.embed(Arrays.copyOf(TOKENS, 4));
        assertThat(b).containsExactly(a); // the cache kept from the first is reused
        assertThat(e.embed(TOKENS)).containsExactly(a);
        assertThat(c).containsExactly(new Embedder(model, pool, 8, Embedder.Pooling.MEAN).embed(Arrays.copyOf(TOKENS, 4)));
        double cos = 0;
        for (int i = 0; i < a.length; i++) cos += a[i] * c[i];
        assertThat(cos).isLessThan(0.9999).isGreaterThan(-1.0001);
        assertThatThrownBy(() -> e.embed(new int[0])).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no tokens");
    }
}
