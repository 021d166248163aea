package dev.genset.cli;

import dev.genset.engine.grammar.Grammar;
import dev.genset.engine.sampling.SamplerConfig;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Sampling flags with llama.cpp's names and defaults, and the grammar the output must follow. */
final class SamplingOptions {
    @Option(names = "--temp", paramLabel = "T", defaultValue = "0.8", description = "Temperature; 0 is greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "40", description = "Top-k; 0 keeps all (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "0.95", description = "Top-p (nucleus); 1 is off (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--min-p", paramLabel = "P", defaultValue = "0.05", description = "Min-p; 0 is off (default: ${DEFAULT-VALUE}).")
    float minP;

    @Option(names = "--repeat-penalty", paramLabel = "R", defaultValue = "1.0", description = "Repetition penalty; 1 is off (default: ${DEFAULT-VALUE}).")
    float repeatPenalty;

    @Option(names = "--repeat-last-n", paramLabel = "N", defaultValue = "64", description = "Tokens the penalties look back over (default: ${DEFAULT-VALUE}).")
    int repeatLastN;

    @Option(names = "--frequency-penalty", paramLabel = "F", defaultValue = "0", description = "Frequency penalty (default: ${DEFAULT-VALUE}).")
    float frequencyPenalty;

    @Option(names = "--presence-penalty", paramLabel = "P", defaultValue = "0", description = "Presence penalty (default: ${DEFAULT-VALUE}).")
    float presencePenalty;

    @Option(names = {"-s", "--seed"}, paramLabel = "S", defaultValue = "-1", description = "Random seed; -1 picks one (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--grammar", paramLabel = "GBNF", description = "Constrain the output to this grammar (llama.cpp's GBNF; generation starts at its rule 'root').")
    String grammar;

    @Option(names = "--grammar-file", paramLabel = "FILE", description = "Constrain the output to the GBNF grammar in FILE.")
    Path grammarFile;

    /** The grammar asked for, parsed (before any model is loaded, so a mistake is reported at once), or null. */
    Grammar grammar() throws IOException {
        if (grammar != null && grammarFile != null) throw new IllegalArgumentException("give --grammar or --grammar-file, not both");
        String text = grammarFile != null ? Files.readString(grammarFile) : grammar;
        return text == null || text.isBlank() ? null : Grammar.parse(text);
    }

    SamplerConfig toConfig() {
        return new SamplerConfig(temperature, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, seed, 1);
    }
}
