package dev.genset.engine.generate;

import dev.genset.engine.sampling.SamplerConfig;
import dev.genset.engine.sampling.TokenConstraint;

import java.util.List;
import java.util.function.Supplier;

/**
 * What to generate after a prompt.
 *
 * @param maxTokens  at most this many new tokens; {@code < 0} means until the context is full
 * @param stop       strings that end generation; the text is cut before the first one found
 * @param ignoreEos  keep going past end-of-generation tokens (benchmarks)
 * @param constraint makes a constraint on the tokens that may be sampled (a grammar), or null
 */
public record GenerationOptions(int maxTokens, SamplerConfig sampling, List<String> stop, boolean ignoreEos,
                                Supplier<? extends TokenConstraint> constraint) {
    public GenerationOptions {
        stop = stop == null ? List.of() : stop.stream().filter(s -> !s.isEmpty()).toList();
        if (sampling == null) sampling = SamplerConfig.defaults();
    }

    public GenerationOptions(int maxTokens, SamplerConfig sampling, List<String> stop, boolean ignoreEos) {
        this(maxTokens, sampling, stop, ignoreEos, null);
    }

    public static GenerationOptions greedy(int maxTokens) {
        return new GenerationOptions(maxTokens, SamplerConfig.greedy(), List.of(), false);
    }
}
