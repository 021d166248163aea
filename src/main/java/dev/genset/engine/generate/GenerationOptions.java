package dev.genset.engine.generate;

import dev.genset.engine.sampling.SamplerConfig;

import java.util.List;

/**
 * What to generate after a prompt.
 *
 * @param maxTokens  at most this many new tokens; {@code < 0} means until the context is full
 * @param stop       strings that end generation; the text is cut before the first one found
 * @param ignoreEos  keep going past end-of-generation tokens (benchmarks)
 */
public record GenerationOptions(int maxTokens, SamplerConfig sampling, List<String> stop, boolean ignoreEos) {
    public GenerationOptions {
        stop = stop == null ? List.of() : stop.stream().filter(s -> !s.isEmpty()).toList();
        if (sampling == null) sampling = SamplerConfig.defaults();
    }

    public static GenerationOptions greedy(int maxTokens) {
        return new GenerationOptions(maxTokens, SamplerConfig.greedy(), List.of(), false);
    }
}
