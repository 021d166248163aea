package dev.genset.engine.sampling;

import dev.genset.engine.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from a logits vector, in llama.cpp's order: repetition penalties, DRY,
 * top-n-sigma, top-k, typical, top-p, min-p, XTC, temperature (dynamic, if asked), then a draw from
 * the softmax of what is left; or, with Mirostat, temperature and Mirostat alone. One instance per
 * sequence: it keeps the token history for the penalties and reuses its vocabulary-sized buffers,
 * so a step allocates nothing. Not thread-safe.
 */
public final class Sampler {
    private final SamplerConfig config;
    private final SamplerConfig.Advanced advanced;
    private final SamplerConfig.Dry dry;
    private final SequenceBreakers breakers;
    private final SplittableRandom rng;
    private final int[] history; // ring buffer of the last repeatLastN accepted tokens
    private int historySize, historyPos;
    private int[] dryHistory = new int[16]; // DRY's own window: tokens in order, the oldest dropped past its last n
    private int dryCount;
    private float mu;           // Mirostat's running bound on surprise

    private float[] work = new float[0]; // penalised copy of the logits; the caller's array is left alone
    private int[] counts = new int[0];
    private int[] candidates = new int[0];
    private double[] weights = new double[0];
    private int lastCandidateCount;
    private float lastTemperature;

    // DRY's scratch, reused
    private int[] reversed = new int[0], z = new int[0], touched = new int[0];
    private int[] longest = new int[0]; // by token: 1 + the longest repeat it would extend (0: none)
    private long[] keys = new long[0];  // typical's sort keys

    public Sampler(SamplerConfig config) {
        this(config, (Tokenizer) null);
    }

    /** A sampler whose DRY breakers are read as {@code tokenizer}'s tokens (without one, DRY has no breakers). */
    public Sampler(SamplerConfig config, Tokenizer tokenizer) {
        this(config, config.advanced().dry().enabled() ? SequenceBreakers.of(tokenizer, config.advanced().dry().breakers()) : SequenceBreakers.NONE);
    }

    /** A sampler with DRY's breakers already as tokens. */
    Sampler(SamplerConfig config, SequenceBreakers breakers) {
        this.config = config;
        this.advanced = config.advanced();
        this.dry = advanced.dry();
        this.breakers = breakers;
        long seed = config.seed() == SamplerConfig.RANDOM_SEED ? new SplittableRandom().nextLong() : config.seed();
        this.rng = new SplittableRandom(seed);
        this.history = new int[config.repeatLastN()];
        this.mu = 2f * advanced.mirostatTau();
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
        boolean penalties = config.penaltiesEnabled() && historySize > 0, repeats = dry.enabled() && dryCount > dry.allowedLength();
        if (!config.mirostat() && (penalties || repeats)) {
            System.arraycopy(logits, 0, work, 0, vocabSize);
            if (penalties) applyPenalties(work, vocabSize);
            if (repeats) applyDry(work, vocabSize);
            v = work;
        }
        if (config.isGreedy()) {
            lastCandidateCount = 1;
            lastTemperature = 0f;
            return argmax(v, vocabSize);
        }
        if (config.mirostat()) return advanced.mirostat() == 1 ? mirostat(v, vocabSize) : mirostatV2(v, vocabSize);

        int k = config.topK() <= 0 ? vocabSize : Math.min(config.topK(), vocabSize);
        float sigmaFloor = advanced.topNSigma() > 0 ? sigmaFloor(v, vocabSize) : Float.NEGATIVE_INFINITY;
        int n = TopK.select(v, vocabSize, k, candidates);
        float max = v[candidates[0]];
        int minKeep = config.minKeep();

        if (advanced.topNSigma() > 0) {
            int kept = 1;
            while (kept < n && v[candidates[kept]] >= sigmaFloor) kept++;
            n = kept;
        }
        if (advanced.typicalP() < 1f && n > 1) {
            n = typical(v, n, max, minKeep);
            max = v[candidates[0]]; // the likeliest kept: min-p measures from it, as llama.cpp's does from what is left
        }
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
        int first = 0; // XTC drops candidates from the top
        if (advanced.xtcProbability() > 0f && advanced.xtcThreshold() <= 0.5f && n > 1 && rng.nextDouble() <= advanced.xtcProbability())
            first = xtcFirst(v, n, max);
        lastCandidateCount = n - first;

        float temperature = advanced.dynatempRange() > 0f ? dynamicTemperature(v, first, n) : config.temperature();
        lastTemperature = temperature;
        if (temperature <= 0f) return candidates[first];
        return draw(v, first, n, temperature);
    }

    /** A draw from the softmax of candidates[first..n) at {@code temperature}. */
    private int draw(float[] v, int first, int n, float temperature) {
        double top = v[candidates[first]], invTemp = 1.0 / temperature, sum = 0;
        for (int i = first; i < n; i++) sum += weights[i] = Math.exp((v[candidates[i]] - top) * invTemp);
        double u = rng.nextDouble() * sum, cum = 0;
        for (int i = first; i < n; i++) {
            cum += weights[i];
            if (u < cum) return candidates[i];
        }
        return candidates[n - 1]; // rounding left u just past the total
    }

    /** The logit below which top-n-sigma drops a token: the top logit less n standard deviations of all (finite) logits. */
    private float sigmaFloor(float[] v, int vocabSize) {
        double sum = 0, max = Double.NEGATIVE_INFINITY;
        int count = 0;
        for (int i = 0; i < vocabSize; i++) {
            if (v[i] == Float.NEGATIVE_INFINITY) continue;
            sum += v[i];
            max = Math.max(max, v[i]);
            count++;
        }
        if (count == 0) return Float.NEGATIVE_INFINITY;
        double mean = sum / count, acc = 0;
        for (int i = 0; i < vocabSize; i++) if (v[i] != Float.NEGATIVE_INFINITY) acc += (v[i] - mean) * (v[i] - mean);
        return (float) (max - advanced.topNSigma() * Math.sqrt(acc / count));
    }

    /**
     * Locally typical sampling over candidates[0..n): keeps, in order of how close each token's
     * surprise ({@code -ln p}) is to the entropy, tokens until their probability passes typicalP;
     * the kept ones go back in logit order. Returns how many are kept.
     */
    private int typical(float[] v, int n, float max, int minKeep) {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += weights[i] = Math.exp(v[candidates[i]] - max);
        double entropy = 0;
        for (int i = 0; i < n; i++) {
            double p = weights[i] / sum;
            if (p > 0) entropy -= p * Math.log(p);
        }
        // order candidate positions by |surprise - entropy|: each as a key of (distance, position), sorted
        if (keys.length < n) keys = new long[candidates.length];
        for (int i = 0; i < n; i++) {
            float distance = (float) Math.abs(-Math.log(weights[i] / sum) - entropy);
            keys[i] = (long) Float.floatToIntBits(distance) << 32 | i; // a non-negative float's bits order as it does
        }
        Arrays.sort(keys, 0, n);
        double cum = 0;
        int kept = n;
        for (int i = 0; i < n; i++) {
            cum += weights[(int) keys[i]] / sum;
            if (cum > advanced.typicalP() && i + 1 >= minKeep) {
                kept = i + 1;
                break;
            }
        }
        for (int i = 0; i < kept; i++) keys[i] = (int) keys[i]; // the kept positions, back in logit order
        Arrays.sort(keys, 0, kept);
        for (int i = 0; i < kept; i++) candidates[i] = candidates[(int) keys[i]]; // positions only grow: in place
        return kept;
    }

    /**
     * XTC: the first candidate to keep. Every candidate at or above the threshold probability but
     * the least likely of them is dropped (when at least two are that likely).
     */
    private int xtcFirst(float[] v, int n, float max) {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += weights[i] = Math.exp(v[candidates[i]] - max);
        int last = 0;
        for (int i = 0; i < n && weights[i] / sum >= advanced.xtcThreshold(); i++) last = i;
        return n - last >= config.minKeep() ? last : 0;
    }

    /** The temperature for this step: within ± the range, higher the flatter (the more uncertain) the candidates. */
    private float dynamicTemperature(float[] v, int first, int n) {
        float t = config.temperature(), low = Math.max(0f, t - advanced.dynatempRange()), high = t + advanced.dynatempRange();
        int count = n - first;
        if (count <= 1) return t;
        double top = v[candidates[first]], sum = 0;
        for (int i = first; i < n; i++) sum += weights[i] = Math.exp(v[candidates[i]] - top);
        double entropy = 0;
        for (int i = first; i < n; i++) {
            double p = weights[i] / sum;
            if (p > 0) entropy -= p * Math.log(p);
        }
        double normalized = entropy / Math.log(count);
        return (float) (low + (high - low) * Math.pow(normalized, advanced.dynatempExponent()));
    }

    /**
     * Mirostat (1): estimates the Zipf exponent of the distribution from its 100 likeliest tokens,
     * picks the top-k that makes the expected surprise {@code mu}, draws, then moves {@code mu}
     * toward the target by the surprise seen.
     */
    private int mirostat(float[] v, int vocabSize) {
        float invTemp = 1f / config.temperature();
        int m = Math.min(100, vocabSize);
        int n = TopK.select(v, vocabSize, m, candidates);
        double sumTiBi = 0, sumTiSq = 0;
        for (int i = 0; i < n - 1; i++) {
            double ti = Math.log((i + 2) / (double) (i + 1));
            double bi = (v[candidates[i]] - v[candidates[i + 1]]) * invTemp; // ln(p_i / p_i+1)
            sumTiBi += ti * bi;
            sumTiSq += ti * ti;
        }
        double sHat = sumTiBi / sumTiSq, epsilonHat = sHat - 1;
        double kReal = Math.pow(epsilonHat * Math.pow(2, mu) / (1 - Math.pow(vocabSize, -epsilonHat)), 1 / sHat);
        int k = Double.isFinite(kReal) ? (int) Math.max(1, Math.min(vocabSize, kReal)) : (kReal > 0 ? vocabSize : 1);
        if (k > n) n = TopK.select(v, vocabSize, k, candidates);
        else n = k;
        return mirostatDraw(v, n, invTemp);
    }

    /** Mirostat 2.0: keeps the tokens whose surprise is at most {@code mu} (at least one), draws, and updates {@code mu}. */
    private int mirostatV2(float[] v, int vocabSize) {
        float invTemp = 1f / config.temperature();
        float max = v[argmax(v, vocabSize)];
        double sum = 0;
        for (int i = 0; i < vocabSize; i++) sum += Math.exp((v[i] - max) * invTemp);
        // -log2 p_i <= mu  <=>  (l_i - max) / T >= ln(sum) - mu ln 2
        double floor = Math.log(sum) - mu * Math.log(2);
        int count = 0;
        for (int i = 0; i < vocabSize; i++) if ((v[i] - max) * invTemp >= floor) count++;
        int n = TopK.select(v, vocabSize, Math.max(1, count), candidates);
        return mirostatDraw(v, n, invTemp);
    }

    private int mirostatDraw(float[] v, int n, float invTemp) {
        lastCandidateCount = n;
        lastTemperature = config.temperature();
        double top = v[candidates[0]], sum = 0;
        for (int i = 0; i < n; i++) sum += weights[i] = Math.exp((v[candidates[i]] - top) * invTemp);
        double u = rng.nextDouble() * sum, cum = 0;
        int chosen = n - 1;
        for (int i = 0; i < n; i++) {
            cum += weights[i];
            if (u < cum) {
                chosen = i;
                break;
            }
        }
        double surprise = -Math.log(weights[chosen] / sum) / Math.log(2);
        mu -= (float) (advanced.mirostatEta() * (surprise - advanced.mirostatTau()));
        return candidates[chosen];
    }

    /** Mirostat's current bound on surprise, in bits (for tests). */
    float mu() {
        return mu;
    }

    /** Records a token (sampled or forced, e.g. the prompt) for the repetition penalties and DRY. */
    public void accept(int token) {
        if (history.length > 0) {
            history[historyPos] = token;
            historyPos = (historyPos + 1) % history.length;
            historySize = Math.min(historySize + 1, history.length);
        }
        if (dry.enabled()) {
            int window = dry.lastN() < 0 ? Integer.MAX_VALUE : dry.lastN();
            if (dryCount == window) { // full: drop the oldest
                System.arraycopy(dryHistory, 1, dryHistory, 0, dryCount - 1);
                dryCount--;
            }
            if (dryCount == dryHistory.length) dryHistory = Arrays.copyOf(dryHistory, dryHistory.length * 2);
            dryHistory[dryCount++] = token;
        }
    }

    /** Forgets the token history; the RNG continues its sequence. */
    public void reset() {
        historySize = historyPos = 0;
        dryCount = 0;
        mu = 2f * advanced.mirostatTau();
    }

    /** Number of candidates the last {@link #sample} drew from, after all filters (for diagnostics and tests). */
    public int lastCandidateCount() {
        return lastCandidateCount;
    }

    /** The temperature the last {@link #sample} used (dynamic temperature moves it; for tests). */
    float lastTemperature() {
        return lastTemperature;
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

    /**
     * DRY: for each token that would extend a sequence of the window's last tokens that occurred
     * before (no further back than the last sequence breaker), subtracts
     * {@code multiplier * base^(length - allowedLength)} from its logit, for the longest such
     * sequence of at least {@code allowedLength} tokens. A token that is a breaker by itself is not
     * penalised.
     */
    void applyDry(float[] logits, int vocabSize) {
        int n = dryCount;
        if (n <= dry.allowedLength()) return;
        if (reversed.length < n) {
            reversed = new int[Math.max(n, 2 * reversed.length)];
            z = new int[reversed.length];
            touched = new int[reversed.length];
        }
        for (int i = 0; i < n; i++) reversed[i] = dryHistory[n - 1 - i]; // reversed[0]: the latest token
        // a sequence may not reach back past the latest breaker: limit its length to the tokens after it
        int limit = n;
        for (int i = 0; i < n && limit == n; i++) {
            int longest = -1;
            for (int[] tail : breakers.tails(reversed[i])) {
                if (tail.length <= longest || tail.length > i) continue;
                boolean match = true;
                for (int j = 0; j < tail.length && match; j++) match = tail[j] == reversed[i - 1 - j];
                if (match) longest = tail.length;
            }
            if (longest >= 0) limit = i - longest;
        }
        if (limit < dry.allowedLength()) return;
        // z[k]: how many of the latest tokens also precede position k back (the Z-function of the reversed window)
        zFunction(reversed, n, z);
        if (longest.length < vocabSize) longest = new int[vocabSize];
        int touchedCount = 0;
        for (int k = 1; k < n; k++) {
            int length = Math.min(z[k], limit);
            int next = reversed[k - 1]; // what followed that earlier occurrence
            if (length < dry.allowedLength() || next < 0 || next >= vocabSize) continue;
            if (longest[next] == 0) touched[touchedCount++] = next;
            longest[next] = Math.max(longest[next], length + 1); // + 1: zero stands for none
        }
        int maxExponent = dry.base() > 1.000001f ? (int) (88.7228391 / Math.log(dry.base())) : 0; // keep base^exp finite
        for (int i = 0; i < touchedCount; i++) {
            int token = touched[i], length = longest[token] - 1;
            longest[token] = 0; // left zeroed for the next step
            if (breakers.breaksAlone(token)) continue;
            int exponent = length - dry.allowedLength();
            if (maxExponent > 0) exponent = Math.min(exponent, maxExponent);
            logits[token] -= (float) (dry.multiplier() * Math.pow(dry.base(), exponent));
        }
    }

    /** The Z-function of s[0..n): z[k] is the length of the longest common prefix of s and s[k..]. */
    static void zFunction(int[] s, int n, int[] z) {
        if (n == 0) return;
        z[0] = n;
        for (int k = 1, left = 0, right = 0; k < n; k++) {
            int length = k < right ? Math.min(right - k, z[k - left]) : 0;
            while (k + length < n && s[length] == s[k + length]) length++;
            z[k] = length;
            if (k + length > right) {
                left = k;
                right = k + length;
            }
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
