package dev.genset.engine.sampling;

import java.util.ArrayList;
import java.util.List;

/**
 * Log-probabilities of the model's raw distribution (before any sampler filter), for OpenAI-style
 * {@code logprobs} / {@code top_logprobs}. Sums in double so a 150k vocabulary keeps its precision.
 */
public final class LogProbs {
    private LogProbs() {}

    /** log(sum(exp(logits))) over {@code [0, vocabSize)}, computed stably. */
    public static double logSumExp(float[] logits, int vocabSize) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocabSize; i++) max = Math.max(max, logits[i]);
        if (max == Float.NEGATIVE_INFINITY) return max;
        double sum = 0;
        for (int i = 0; i < vocabSize; i++) sum += Math.exp(logits[i] - max);
        return max + Math.log(sum);
    }

    /** Writes log-softmax of the logits into {@code out} (allocated if null or too small) and returns it. */
    public static float[] logSoftmax(float[] logits, int vocabSize, float[] out) {
        if (out == null || out.length < vocabSize) out = new float[vocabSize];
        double lse = logSumExp(logits, vocabSize);
        for (int i = 0; i < vocabSize; i++) out[i] = (float) (logits[i] - lse);
        return out;
    }

    /** Log-probability of one token. */
    public static float logprob(float[] logits, int vocabSize, int token) {
        return (float) (logits[token] - logSumExp(logits, vocabSize));
    }

    /** The {@code n} most likely tokens, best first (ties: lower id first), with their log-probabilities. */
    public static List<TokenLogprob> top(float[] logits, int vocabSize, int n) {
        n = Math.min(n, vocabSize);
        if (n <= 0) return List.of();
        int[] idx = new int[n];
        int count = TopK.select(logits, vocabSize, n, idx);
        double lse = logSumExp(logits, vocabSize);
        var result = new ArrayList<TokenLogprob>(count);
        for (int i = 0; i < count; i++) result.add(new TokenLogprob(idx[i], (float) (logits[idx[i]] - lse)));
        return List.copyOf(result);
    }
}
