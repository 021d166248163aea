package dev.genset.engine.sampling;

import java.util.SplittableRandom;

/**
 * Picks the next token from a logits vector, in llama.cpp's order: repetition penalties, top-k, top-p,
 * min-p, temperature, then a draw from the softmax of what is left. One instance per sequence: it
 * keeps the token history for the penalties and reuses its vocabulary-sized buffers, so a step
 * allocates nothing. Not thread-safe.
 */
public final class Sampler {
    private final SamplerConfig config;
    private final SplittableRandom rng;
    private final int[] history; // ring buffer of the last repeatLastN accepted tokens
    private int historySize, historyPos;

    private float[] work = new float[0]; // penalised copy of the logits; the caller's array is left alone
    private int[] counts = new int[0];
    private int[] candidates = new int[0];
    private double[] weights = new double[0];
    private int lastCandidateCount;

    public Sampler(SamplerConfig config) {
        this.config = config;
        long seed = config.seed() == SamplerConfig.RANDOM_SEED ? new SplittableRandom().nextLong() : config.seed();
        this.rng = new SplittableRandom(seed);
        this.history = new int[config.repeatLastN()];
    }

    public SamplerConfig config() {
        return config;
    }

    /** Returns the chosen token id among {@code logits[0..vocabSize)}; {@code logits} is not modified. */
    public int sample(float[] logits, int vocabSize) {
        if (vocabSize <= 0 || vocabSize > logits.length)
            throw new IllegalArgumentException("vocabSize " + vocabSize + " does not fit logits of length " + logits.length);
        ensureCapacity(vocabSize);
        float[] v = logits;
        if (config.penaltiesEnabled() && historySize > 0) {
            System.arraycopy(logits, 0, work, 0, vocabSize);
            applyPenalties(work, vocabSize);
            v = work;
        }
        if (config.isGreedy()) {
            lastCandidateCount = 1;
            return argmax(v, vocabSize);
        }

        int k = config.topK() <= 0 ? vocabSize : Math.min(config.topK(), vocabSize);
        int n = TopK.select(v, vocabSize, k, candidates);
        float max = v[candidates[0]];
        int minKeep = config.minKeep();

        if (config.topP() < 1f && n > 1) {
            double sum = 0;
            for (int i = 0; i < n; i++) sum += weights[i] = Math.exp(v[candidates[i]] - max);
            double cum = 0;
            for (int i = 0; i < n; i++) {
                cum += weights[i] / sum;
                if (cum >= config.topP() && i + 1 >= minKeep) {
                    n = i + 1;
                    break;
                }
            }
        }
        if (config.minP() > 0f && n > 1) {
            // p_i >= minP * p_max  <=>  logit_i >= max + ln(minP); candidates are sorted, so this keeps a prefix.
            double threshold = max + Math.log(config.minP());
            int kept = 0;
            while (kept < n && v[candidates[kept]] >= threshold) kept++;
            n = Math.max(kept, Math.min(minKeep, n));
        }
        lastCandidateCount = n;

        double invTemp = 1.0 / config.temperature(), sum = 0;
        for (int i = 0; i < n; i++) sum += weights[i] = Math.exp((v[candidates[i]] - max) * invTemp);
        double u = rng.nextDouble() * sum, cum = 0;
        for (int i = 0; i < n; i++) {
            cum += weights[i];
            if (u < cum) return candidates[i];
        }
        return candidates[n - 1]; // rounding left u just past the total
    }

    /** Records a token (sampled or forced, e.g. the prompt) for the repetition penalties. */
    public void accept(int token) {
        if (history.length == 0) return;
        history[historyPos] = token;
        historyPos = (historyPos + 1) % history.length;
        historySize = Math.min(historySize + 1, history.length);
    }

    /** Forgets the token history; the RNG continues its sequence. */
    public void reset() {
        historySize = historyPos = 0;
    }

    /** Number of candidates the last {@link #sample} drew from, after all filters (for diagnostics and tests). */
    public int lastCandidateCount() {
        return lastCandidateCount;
    }

    /**
     * Applies the repeat, frequency and presence penalties for the recorded history to {@code logits} in
     * place, as llama.cpp does: repeat divides a positive logit and multiplies a non-positive one, then
     * {@code count * frequency + (count > 0 ? presence : 0)} is subtracted.
     */
    public void applyPenalties(float[] logits, int vocabSize) {
        if (!config.penaltiesEnabled()) return;
        ensureCapacity(vocabSize);
        for (int i = 0; i < historySize; i++) {
            int t = history[i];
            if (t >= 0 && t < vocabSize) counts[t]++;
        }
        for (int i = 0; i < historySize; i++) {
            int t = history[i];
            if (t < 0 || t >= vocabSize || counts[t] == 0) continue;
            int c = counts[t];
            counts[t] = 0; // each distinct token once; also leaves counts zeroed for the next step
            float l = logits[t];
            l = l <= 0 ? l * config.repeatPenalty() : l / config.repeatPenalty();
            logits[t] = l - c * config.frequencyPenalty() - config.presencePenalty();
        }
    }

    /** Index of the largest value; ties go to the lowest index. */
    static int argmax(float[] v, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (v[i] > v[best] || Float.isNaN(v[best]) && !Float.isNaN(v[i])) best = i;
        return best;
    }

    private void ensureCapacity(int vocabSize) {
        if (work.length >= vocabSize) return;
        work = new float[vocabSize];
        counts = new int[vocabSize];
        candidates = new int[vocabSize];
        weights = new double[vocabSize];
    }
}
