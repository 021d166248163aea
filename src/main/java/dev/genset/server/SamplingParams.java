package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.genset.engine.sampling.SamplerConfig;

import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The sampling fields chat and text completions share, read strictly. Fields a request leaves out
 * take llama.cpp's defaults (temperature 0.8, top_k 40, top_p 0.95, min_p 0.05), as its server does.
 * {@code top_k}, {@code min_p}, {@code repeat_penalty}, {@code repeat_last_n} and {@code ignore_eos}
 * are llama.cpp's extensions; {@code cache_salt} is vLLM's: only requests with the same salt (within
 * the same team or key) reuse each other's computed prompts.
 */
record SamplingParams(Double temperature, Double topP, Integer topK, Double minP, Double repeatPenalty, Integer repeatLastN,
                      double presencePenalty, double frequencyPenalty, Long seed, int n, List<String> stop,
                      Map<Integer, Float> logitBias, boolean ignoreEos, String cacheSalt) {

    static final Set<String> FIELDS = Set.of("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "repeat_last_n",
            "presence_penalty", "frequency_penalty", "seed", "n", "stop", "logit_bias", "ignore_eos", "user", "cache_salt");
    static final int MAX_N = 16;
    static final int MAX_STOP = 16;

    static SamplingParams parse(Json j) {
        j.string("user", null); // accepted, not used
        Long seed = j.longValue("seed");
        return new SamplingParams(
                j.number("temperature", 0, 2),
                j.number("top_p", 0, 1),
                j.integer("top_k", 0, Integer.MAX_VALUE),
                j.number("min_p", 0, 1),
                j.number("repeat_penalty", 1e-6, 100),
                j.integer("repeat_last_n", 0, 1 << 20),
                orZero(j.number("presence_penalty", -2, 2)),
                orZero(j.number("frequency_penalty", -2, 2)),
                seed,
                j.integer("n", 1, MAX_N) == null ? 1 : j.integer("n", 1, MAX_N),
                j.stringOrStrings("stop", MAX_STOP),
                logitBias(j),
                j.bool("ignore_eos", false),
                j.string("cache_salt", null));
    }

    private static double orZero(Double d) {
        return d == null ? 0 : d;
    }

    private static Map<Integer, Float> logitBias(Json j) {
        Json o = j.object("logit_bias");
        if (o == null) return Map.of();
        Map<Integer, Float> bias = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = o.node().fields(); it.hasNext(); ) {
            var e = it.next();
            int id;
            try {
                id = Integer.parseInt(e.getKey());
            } catch (NumberFormatException x) {
                throw ApiException.invalid("logit_bias", "invalid_value", "Invalid key in 'logit_bias': '" + e.getKey() + "' is not a token id.");
            }
            Double v = o.number(e.getKey(), -100, 100);
            if (v == null) continue;
            bias.put(id, v.floatValue());
        }
        return bias;
    }

    /** The sampler for choice {@code choice} (a fixed seed gives each choice its own stream). */
    SamplerConfig toConfig(int choice) {
        SamplerConfig c = SamplerConfig.defaults();
        if (temperature != null) c = c.withTemperature(temperature.floatValue());
        if (topP != null) c = c.withTopP(topP.floatValue());
        if (topK != null) c = c.withTopK(topK);
        if (minP != null) c = c.withMinP(minP.floatValue());
        float repeat = repeatPenalty == null ? c.repeatPenalty() : repeatPenalty.floatValue();
        int lastN = repeatLastN == null ? c.repeatLastN() : repeatLastN;
        c = c.withPenalties(repeat, lastN, (float) frequencyPenalty, (float) presencePenalty);
        if (seed != null) c = c.withSeed(seed + choice);
        return c;
    }

    List<String> stopOrEmpty() {
        return stop == null ? List.of() : stop;
    }
}
