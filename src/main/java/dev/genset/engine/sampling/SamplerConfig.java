package dev.genset.engine.sampling;

/**
 * Sampling parameters, with the same meaning and defaults as llama.cpp's.
 *
 * @param temperature      softmax temperature; {@code <= 0} means greedy (argmax, ties to the lowest id)
 * @param topK             keep the K most likely tokens; {@code <= 0} keeps the whole vocabulary
 * @param topP             nucleus: keep the smallest prefix whose probability mass reaches P; {@code >= 1} is off
 * @param minP             drop tokens whose probability is below minP times the top one's; {@code <= 0} is off
 * @param repeatPenalty    divides positive and multiplies negative logits of recent tokens; 1 is off
 * @param repeatLastN      how many recent tokens the penalties look at; 0 turns the penalties off
 * @param frequencyPenalty subtracted once per occurrence in the window
 * @param presencePenalty  subtracted once if the token occurs in the window at all
 * @param seed             RNG seed; {@link #RANDOM_SEED} picks one at random
 * @param minKeep          top-p, min-p and typical never keep fewer candidates than this (at least 1)
 * @param advanced         llama.cpp's further samplers (typical, dynamic temperature, XTC, top-n-sigma,
 *                         Mirostat, DRY), each off unless set
 */
public record SamplerConfig(
        float temperature,
        int topK,
        float topP,
        float minP,
        float repeatPenalty,
        int repeatLastN,
        float frequencyPenalty,
        float presencePenalty,
        long seed,
        int minKeep,
        Advanced advanced) {

    /** Like llama.cpp's LLAMA_DEFAULT_SEED: ask for a fresh random seed. */
    public static final long RANDOM_SEED = -1L;

    public SamplerConfig {
        if (Float.isNaN(temperature) || Float.isNaN(topP) || Float.isNaN(minP) || Float.isNaN(repeatPenalty))
            throw new IllegalArgumentException("sampler parameters must not be NaN");
        if (repeatPenalty <= 0) throw new IllegalArgumentException("repeatPenalty must be > 0: " + repeatPenalty);
        if (repeatLastN < 0) throw new IllegalArgumentException("repeatLastN must be >= 0: " + repeatLastN);
        minKeep = Math.max(1, minKeep);
        if (advanced == null) advanced = Advanced.NONE;
    }

    /** The common samplers only, with the further ones off. */
    public SamplerConfig(float temperature, int topK, float topP, float minP, float repeatPenalty, int repeatLastN,
                         float frequencyPenalty, float presencePenalty, long seed, int minKeep) {
        this(temperature, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, seed, minKeep, Advanced.NONE);
    }

    /**
     * The samplers llama.cpp has beyond the common ones, with its names and defaults; each is off
     * at its default. In the order they run: DRY (after the penalties), top-n-sigma (before top-k),
     * typical (after top-k), XTC (after min-p), dynamic temperature (the temperature step). Mirostat
     * 1 or 2 replaces the whole chain, as in llama.cpp: temperature, then Mirostat alone (no
     * penalties, no DRY, no other filter).
     *
     * @param typicalP         locally typical sampling: keep the tokens whose surprise is closest to
     *                         the distribution's entropy, up to this much probability; {@code >= 1} is off
     * @param dynatempRange    dynamic temperature: the temperature moves within ± this range with the
     *                         normalized entropy of the candidates; 0 is off
     * @param dynatempExponent how entropy maps onto that range (1: linearly)
     * @param xtcProbability   XTC ("exclude top choices"): how often it acts; 0 is off
     * @param xtcThreshold     XTC removes every candidate at or above this probability but the least
     *                         likely of them; above 0.5 is off
     * @param topNSigma        keep the tokens within this many standard deviations of the top
     *                         logit; {@code <= 0} is off
     * @param mirostat         0 off, 1 Mirostat, 2 Mirostat 2.0
     * @param mirostatTau      Mirostat's target surprise (entropy), in bits
     * @param mirostatEta      Mirostat's learning rate
     * @param dry              DRY, the "don't repeat yourself" penalty
     */
    public record Advanced(float typicalP, float dynatempRange, float dynatempExponent, float xtcProbability, float xtcThreshold,
                           float topNSigma, int mirostat, float mirostatTau, float mirostatEta, Dry dry) {
        public static final Advanced NONE = new Advanced(1f, 0f, 1f, 0f, 0.1f, -1f, 0, 5f, 0.1f, Dry.OFF);

        public Advanced {
            for (float f : new float[] {typicalP, dynatempRange, dynatempExponent, xtcProbability, xtcThreshold, topNSigma, mirostatTau, mirostatEta})
                if (Float.isNaN(f)) throw new IllegalArgumentException("sampler parameters must not be NaN");
            if (mirostat < 0 || mirostat > 2) throw new IllegalArgumentException("mirostat must be 0, 1 or 2: " + mirostat);
            if (dry == null) dry = Dry.OFF;
        }

        public Advanced withTypicalP(float v) {
            return new Advanced(v, dynatempRange, dynatempExponent, xtcProbability, xtcThreshold, topNSigma, mirostat, mirostatTau, mirostatEta, dry);
        }

        public Advanced withDynamicTemperature(float range, float exponent) {
            return new Advanced(typicalP, range, exponent, xtcProbability, xtcThreshold, topNSigma, mirostat, mirostatTau, mirostatEta, dry);
        }

        public Advanced withXtc(float probability, float threshold) {
            return new Advanced(typicalP, dynatempRange, dynatempExponent, probability, threshold, topNSigma, mirostat, mirostatTau, mirostatEta, dry);
        }

        public Advanced withTopNSigma(float v) {
            return new Advanced(typicalP, dynatempRange, dynatempExponent, xtcProbability, xtcThreshold, v, mirostat, mirostatTau, mirostatEta, dry);
        }

        public Advanced withMirostat(int version, float tau, float eta) {
            return new Advanced(typicalP, dynatempRange, dynatempExponent, xtcProbability, xtcThreshold, topNSigma, version, tau, eta, dry);
        }

        public Advanced withDry(Dry v) {
            return new Advanced(typicalP, dynatempRange, dynatempExponent, xtcProbability, xtcThreshold, topNSigma, mirostat, mirostatTau, mirostatEta, v);
        }
    }

    /**
     * DRY: a token that would make a repeat longer than {@code allowedLength} tokens (extend the
     * last {@code length >= allowedLength} tokens, which occurred before, as they went on there)
     * loses {@code multiplier * base^(length - allowedLength)} of its logit. Sequence breakers (text such as a newline) end the sequences looked at, so that
     * repeating structure across lines or fields is not penalised.
     *
     * @param lastN    how many recent tokens are scanned; -1 for all, 0 turns DRY off
     * @param breakers the sequence breakers, as text
     */
    public record Dry(float multiplier, float base, int allowedLength, int lastN, java.util.List<String> breakers) {
        public static final java.util.List<String> DEFAULT_BREAKERS = java.util.List.of("\n", ":", "\"", "*");
        public static final Dry OFF = new Dry(0f, 1.75f, 2, 64, DEFAULT_BREAKERS);

        public Dry {
            if (Float.isNaN(multiplier) || Float.isNaN(base)) throw new IllegalArgumentException("sampler parameters must not be NaN");
            if (allowedLength < 0) throw new IllegalArgumentException("DRY's allowed length must be >= 0: " + allowedLength);
            if (lastN < -1) throw new IllegalArgumentException("DRY's last n must be -1 or more: " + lastN);
            breakers = java.util.List.copyOf(breakers == null ? DEFAULT_BREAKERS : breakers);
        }

        public boolean enabled() {
            return multiplier != 0f && base >= 1f && lastN != 0;
        }
    }

    /** llama.cpp's defaults: temp 0.8, top_k 40, top_p 0.95, min_p 0.05, penalties off, random seed. */
    public static SamplerConfig defaults() {
        return new SamplerConfig(0.8f, 40, 0.95f, 0.05f, 1.0f, 64, 0f, 0f, RANDOM_SEED, 1);
    }

    /** Always the most likely token. */
    public static SamplerConfig greedy() {
        return defaults().withTemperature(0f).withSeed(0);
    }

    public boolean isGreedy() {
        return temperature <= 0f;
    }

    public boolean penaltiesEnabled() {
        return repeatLastN > 0 && (repeatPenalty != 1f || frequencyPenalty != 0f || presencePenalty != 0f);
    }

    public SamplerConfig withTemperature(float v) {
        return new SamplerConfig(v, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, seed, minKeep, advanced);
    }

    public SamplerConfig withTopK(int v) {
        return new SamplerConfig(temperature, v, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, seed, minKeep, advanced);
    }

    public SamplerConfig withTopP(float v) {
        return new SamplerConfig(temperature, topK, v, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, seed, minKeep, advanced);
    }

    public SamplerConfig withMinP(float v) {
        return new SamplerConfig(temperature, topK, topP, v, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, seed, minKeep, advanced);
    }

    public SamplerConfig withPenalties(float repeat, int lastN, float frequency, float presence) {
        return new SamplerConfig(temperature, topK, topP, minP, repeat, lastN, frequency, presence, seed, minKeep, advanced);
    }

    public SamplerConfig withSeed(long v) {
        return new SamplerConfig(temperature, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, v, minKeep, advanced);
    }

    public SamplerConfig withMinKeep(int v) {
        return new SamplerConfig(temperature, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, seed, v, advanced);
    }

    public SamplerConfig withAdvanced(Advanced v) {
        return new SamplerConfig(temperature, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, seed, minKeep, v);
    }

    /** Whether Mirostat replaces the usual chain. */
    public boolean mirostat() {
        return advanced.mirostat() != 0;
    }
}
