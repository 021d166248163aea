package dev.genset.engine.embed;

import dev.genset.engine.gguf.GgufFile;
import dev.genset.engine.model.KvCache;
import dev.genset.engine.model.Model;
import dev.genset.engine.model.Transformer;
import dev.genset.engine.tensor.Parallel;

import java.util.Arrays;
import java.util.concurrent.CancellationException;

/**
 * Embeddings of token sequences, as llama.cpp's embedding mode computes them: the sequence runs
 * through the model on a cache of its own, in batches; the final hidden states (after the output
 * norm) are pooled into one vector, which is scaled to unit length. Not thread-safe: one sequence
 * at a time.
 */
public final class Embedder {
    /** How the hidden states of a sequence become one vector. */
    public enum Pooling {
        /** The mean over every token. */
        MEAN,
        /** The first token's state. */
        CLS,
        /** The last token's state (the usual choice for embedding models built on causal decoders). */
        LAST;

        /**
         * The model's pooling from its metadata ({@code ARCH.pooling_type} as llama.cpp writes it:
         * 1 mean, 2 first token, 3 last token); mean when it names none, as for generative models.
         */
        public static Pooling of(GgufFile gguf) {
            String arch = gguf.getString("general.architecture", "llama");
            long type = gguf.getLong(arch + ".pooling_type", 1);
            return type == 2 ? CLS : type == 3 ? LAST : MEAN;
        }
    }

    private final Model model;
    private final Transformer transformer;
    private final Pooling pooling;
    private final int dim;
    private final float[] hidden;
    private KvCache cache;

    /** An embedder running batches of up to {@code maxBatch} tokens on {@code pool}. */
    public Embedder(Model model, Parallel pool, int maxBatch, Pooling pooling) {
        if (maxBatch < 1) throw new IllegalArgumentException("maxBatch must be at least 1");
        this.model = model;
        this.transformer = model.newTransformer(pool, maxBatch);
        this.pooling = pooling;
        this.dim = model.config().dim();
        this.hidden = new float[maxBatch * dim];
    }

    public Pooling pooling() {
        return pooling;
    }

    /** Length of the vectors this embedder returns. */
    public int dimensions() {
        return dim;
    }

    /**
     * The unit-length embedding of {@code tokens} (at least one, each a vocabulary id). An
     * interrupted thread stops before its next batch with a {@link CancellationException}.
     */
    public float[] embed(int[] tokens) {
        if (tokens.length == 0) throw new IllegalArgumentException("nothing to embed: no tokens");
        int batch = transformer.maxBatch();
        // attention is causal: the first token's state depends on that token alone
        int length = pooling == Pooling.CLS ? 1 : tokens.length;
        // one cache, as long as the longest sequence so far, kept for the next (a 4k-token cache of a 1B model is 180 MB)
        if (cache == null || cache.capacity() < length) cache = model.newCache(length);
        else cache.truncate(0);
        KvCache[] caches = new KvCache[batch];
        Arrays.fill(caches, cache);
        int[] positions = new int[batch];
        float[] sum = new float[dim];
        for (int from = 0; from < length; from += batch) {
            if (Thread.currentThread().isInterrupted()) throw new CancellationException("embedding cancelled");
            int n = Math.min(batch, length - from);
            for (int r = 0; r < n; r++) positions[r] = from + r;
            transformer.hidden(n, Arrays.copyOfRange(tokens, from, from + n), positions, caches, hidden);
            switch (pooling) {
                case MEAN -> { for (int r = 0; r < n; r++) for (int i = 0; i < dim; i++) sum[i] += hidden[r * dim + i]; }
                case CLS -> System.arraycopy(hidden, 0, sum, 0, dim);
                case LAST -> { if (from + n == length) System.arraycopy(hidden, (n - 1) * dim, sum, 0, dim); }
            }
        }
        if (pooling == Pooling.MEAN) for (int i = 0; i < dim; i++) sum[i] /= tokens.length;
        return normalized(sum, dim);
    }

    /** The first {@code n} values of {@code v} scaled to unit length (all zeros stay zeros). */
    public static float[] normalized(float[] v, int n) {
        double squares = 0;
        for (int i = 0; i < n; i++) squares += (double) v[i] * v[i];
        float[] out = Arrays.copyOf(v, n);
        if (squares > 0) {
            float scale = (float) (1 / Math.sqrt(squares));
            for (int i = 0; i < n; i++) out[i] *= scale;
        }
        return out;
    }
}
