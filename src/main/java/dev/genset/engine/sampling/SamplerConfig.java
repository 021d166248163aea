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
 * @param minKeep          top-p and min-p never keep fewer candidates than this (at least 1)
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
        int minKeep) {

    /** Like llama.cpp's LLAMA_DEFAULT_SEED: ask for a fresh random seed. */
    public static final long RANDOM_SEED = -1L;

    public SamplerConfig {
        if (Float.isNaN(temperature) || Float.isNaN(topP) || Float.isNaN(minP) || Float.isNaN(repeatPenalty))
            throw new IllegalArgumentException("sampler parameters must not be NaN");
        if (repeatPenalty <= 0) throw new IllegalArgumentException("repeatPenalty must be > 0: " + repeatPenalty);
        if (repeatLastN < 0) throw new IllegalArgumentException("repeatLastN must be >= 0: " + repeatLastN);
        minKeep = Math.max(1, minKeep);
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
        return new SamplerConfig(v, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, seed, minKeep);
    }

    public SamplerConfig withTopK(int v) {
        return new SamplerConfig(temperature, v, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, seed, minKeep);
    }

    public SamplerConfig withTopP(float v) {
        return new SamplerConfig(temperature, topK, v, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, seed, minKeep);
    }

    public SamplerConfig withMinP(float v) {
        return new SamplerConfig(temperature, topK, topP, v, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, seed, minKeep);
    }

    public SamplerConfig withPenalties(float repeat, int lastN, float frequency, float presence) {
        return new SamplerConfig(temperature, topK, topP, minP, repeat, lastN, frequency, presence, seed, minKeep);
    }

    public SamplerConfig withSeed(long v) {
        return new SamplerConfig(temperature, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, v, minKeep);
    }

    public SamplerConfig withMinKeep(int v) {
        return new SamplerConfig(temperature, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, seed, v);
    }
}
