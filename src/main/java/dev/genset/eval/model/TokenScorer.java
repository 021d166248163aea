package dev.genset.eval.model;

import dev.genset.engine.model.KvCache;
import dev.genset.engine.model.KvType;
import dev.genset.engine.model.Model;
import dev.genset.engine.model.Transformer;
import dev.genset.engine.tensor.Parallel;

import java.util.Arrays;

/**
 * Log-probabilities of tokens under a local model, one sequence at a time in one KV cache. The
 * cache keeps what it last evaluated, so a sequence that shares a prefix with the previous one
 * only evaluates the rest; rows are evaluated {@code batchSize} at a time and logits are only
 * computed for the positions that are scored.
 */
public final class TokenScorer {
    /** Receives the log-probability of each scored token. */
    @FunctionalInterface
    public interface Sink {
        /**
         * @param index   which target (0-based, in order)
         * @param logprob natural-log probability of the target token at that position
         * @param argmax  whether the target was the most likely token (ties: the lower id)
         */
        void accept(int index, double logprob, boolean argmax);
    }

    private final Transformer transformer;
    private final KvCache cache;
    private final int vocab;
    private final int batch;
    private final float[] logits;
    private final int[] tokens, positions;
    private final KvCache[] caches;
    private final boolean[] want;
    private int[] cached = new int[0]; // the tokens whose keys and values the cache holds

    /** With an f32 KV cache. */
    public TokenScorer(Model model, Parallel pool, int contextSize, int batchSize) {
        this(model, pool, contextSize, batchSize, KvType.F32, KvType.F32);
    }

    /** With a KV cache storing keys and values as {@code keyType} and {@code valueType}. */
    public TokenScorer(Model model, Parallel pool, int contextSize, int batchSize, KvType keyType, KvType valueType) {
        this.batch = Math.max(1, Math.min(batchSize, contextSize));
        this.transformer = model.newTransformer(pool, batch);
        this.cache = model.newCache(contextSize, keyType, valueType);
        this.vocab = model.config().vocabSize();
        this.logits = new float[batch * vocab];
        this.tokens = new int[batch];
        this.positions = new int[batch];
        this.want = new boolean[batch];
        this.caches = new KvCache[batch];
        Arrays.fill(caches, cache);
    }

    public int contextSize() {
        return cache.capacity();
    }

    /**
     * Makes the cache hold {@code input[0, n)} at positions {@code 0..n-1}, reusing at most
     * {@code maxReuse} leading tokens it already holds, and scores {@code targets[j]} as the token
     * after position {@code firstLogit + j}, for {@code j} in {@code [0, n - firstLogit)}.
     */
    public void evaluate(int[] input, int n, int maxReuse, int firstLogit, int[] targets, Sink sink) {
        if (n < 1 || n > cache.capacity())
            throw new IllegalArgumentException(n + " tokens do not fit a context of " + cache.capacity());
        if (firstLogit < 0 || firstLogit >= n || targets.length < n - firstLogit)
            throw new IllegalArgumentException("scored positions [" + firstLogit + ", " + n + ") with " + targets.length + " targets");
        int limit = Math.min(Math.min(maxReuse, firstLogit), Math.min(cached.length, cache.length()));
        int common = 0;
        while (common < limit && cached[common] == input[common]) common++;
        cache.truncate(common);
        cached = new int[0]; // until this evaluation is complete
        for (int from = common; from < n; from += batch) {
            int m = Math.min(batch, n - from);
            int rowsWithLogits = 0;
            for (int i = 0; i < m; i++) {
                tokens[i] = input[from + i];
                positions[i] = from + i;
                want[i] = from + i >= firstLogit;
                if (want[i]) rowsWithLogits++;
            }
            transformer.forward(m, tokens, positions, caches, want, logits);
            int row = 0;
            for (int i = 0; i < m && rowsWithLogits > 0; i++) {
                if (!want[i]) continue;
                int j = from + i - firstLogit;
                score(row++ * vocab, targets[j], j, sink);
            }
        }
        cached = Arrays.copyOf(input, n);
    }

    /** Log-softmax of one logits row at the target, in double as llama.cpp's perplexity does. */
    private void score(int off, int target, int index, Sink sink) {
        float max = Float.NEGATIVE_INFINITY;
        int best = 0;
        for (int i = 0; i < vocab; i++) {
            float l = logits[off + i];
            if (l > max) {
                max = l;
                best = i;
            }
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) sum += Math.exp(logits[off + i] - max);
        double lp = logits[off + target] - max - Math.log(sum);
        sink.accept(index, lp, best == target);
    }
}
