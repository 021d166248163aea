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
 * are llama.cpp's extensions, as are its further samplers ({@link #advanced}); {@code cache_salt} is
 * vLLM's: only requests with the same salt (within the same team or key) reuse each other's computed prompts.
 */
record SamplingParams(Double temperature, Double topP, Integer topK, Double minP, Double repeatPenalty, Integer repeatLastN,
                      double presencePenalty, double frequencyPenalty, Long seed, int n, List<String> stop,
                      Map<Integer, Float> logitBias, boolean ignoreEos, String cacheSalt, SamplerConfig.Advanced advanced) {

    static final Set<String> FIELDS = Set.of("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "repeat_last_n",
            "presence_penalty", "frequency_penalty", "seed", "n", "stop", "logit_bias", "ignore_eos", "user", "cache_salt",
            "mirostat", "mirostat_tau", "mirostat_eta", "typical_p", "dynatemp_range", "dynatemp_exponent", "xtc_probability",
            "xtc_threshold", "top_n_sigma", "dry_multiplier", "dry_base", "dry_allowed_length", "dry_penalty_last_n", "dry_sequence_breakers");
    static final int MAX_BREAKERS = 64;
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
                j.string("cache_salt", null),
                advanced(j));
    }

    /**
     * llama.cpp's further samplers under its field names, as its server reads them in every
     * completion endpoint: {@code mirostat} (0, 1, 2) with {@code mirostat_tau} and
     * {@code mirostat_eta}, {@code typical_p}, {@code dynatemp_range} and {@code dynatemp_exponent},
     * {@code xtc_probability} and {@code xtc_threshold}, {@code top_n_sigma}, and DRY's
     * {@code dry_multiplier}, {@code dry_base}, {@code dry_allowed_length}, {@code dry_penalty_last_n}
     * (-1: the whole context) and {@code dry_sequence_breakers}.
     */
    static SamplerConfig.Advanced advanced(Json j) {
        SamplerConfig.Advanced a = SamplerConfig.Advanced.NONE;
        Integer mirostat = j.integer("mirostat", 0, 2);
        Double tau = j.number("mirostat_tau", 0, 100), eta = j.number("mirostat_eta", 0, 10);
        a = a.withMirostat(mirostat == null ? 0 : mirostat, tau == null ? a.mirostatTau() : tau.floatValue(), eta == null ? a.mirostatEta() : eta.floatValue());
        Double typical = j.number("typical_p", 0, 1);
        if (typical != null) a = a.withTypicalP(typical.floatValue());
        Double range = j.number("dynatemp_range", 0, 100), exponent = j.number("dynatemp_exponent", 0, 100);
        a = a.withDynamicTemperature(range == null ? 0f : range.floatValue(), exponent == null ? 1f : exponent.floatValue());
        Double xtcP = j.number("xtc_probability", 0, 1), xtcT = j.number("xtc_threshold", 0, 1);
        a = a.withXtc(xtcP == null ? 0f : xtcP.floatValue(), xtcT == null ? a.xtcThreshold() : xtcT.floatValue());
        Double sigma = j.number("top_n_sigma", -1, 100);
        if (sigma != null) a = a.withTopNSigma(sigma.floatValue());
        Double multiplier = j.number("dry_multiplier", 0, 1e6), base = j.number("dry_base", 0, 100);
        Integer allowed = j.integer("dry_allowed_length", 0, 1 << 20), lastN = j.integer("dry_penalty_last_n", -1, 1 << 20);
        List<String> breakers = j.stringOrStrings("dry_sequence_breakers", MAX_BREAKERS);
        if (breakers != null && breakers.isEmpty())
            throw ApiException.invalid("dry_sequence_breakers", "invalid_value", "'dry_sequence_breakers' must be a non-empty array of strings.");
        SamplerConfig.Dry off = SamplerConfig.Dry.OFF;
        if (multiplier != null || base != null || allowed != null || lastN != null || breakers != null)
            a = a.withDry(new SamplerConfig.Dry(multiplier == null ? 0f : multiplier.floatValue(), base == null ? off.base() : base.floatValue(),
                    allowed == null ? off.allowedLength() : allowed, lastN == null ? off.lastN() : lastN, breakers == null ? off.breakers() : breakers));
        return a;
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
        return c.withAdvanced(advanced);
    }

    List<String> stopOrEmpty() {
        return stop == null ? List.of() : stop;
    }
}
