package dev.genset.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.genset.engine.batch.JsonConstraint;
import dev.genset.engine.batch.JsonSchema;
import dev.genset.engine.grammar.Grammar;
import dev.genset.engine.grammar.GrammarConstraint;
import dev.genset.engine.sampling.SamplerConfig;
import dev.genset.engine.sampling.TokenConstraint;
import dev.genset.engine.tokenizer.Tokenizer;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;

/** Sampling flags with llama.cpp's names and defaults, and the grammar or JSON schema the output must follow. */
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

    @Option(names = "--typical", paramLabel = "P", defaultValue = "1.0", description = "Locally typical sampling; 1 is off (default: ${DEFAULT-VALUE}).")
    float typicalP;

    @Option(names = "--top-nsigma", paramLabel = "N", defaultValue = "-1", description = "Keep tokens within N standard deviations of the top logit; -1 is off (default: ${DEFAULT-VALUE}).")
    float topNSigma;

    @Option(names = "--xtc-probability", paramLabel = "P", defaultValue = "0", description = "XTC: how often the top choices are excluded; 0 is off (default: ${DEFAULT-VALUE}).")
    float xtcProbability;

    @Option(names = "--xtc-threshold", paramLabel = "T", defaultValue = "0.1", description = "XTC: the probability from which a choice counts as a top one; above 0.5 is off (default: ${DEFAULT-VALUE}).")
    float xtcThreshold;

    @Option(names = "--dynatemp-range", paramLabel = "R", defaultValue = "0", description = "Dynamic temperature: ± this range, by the candidates' entropy; 0 is off (default: ${DEFAULT-VALUE}).")
    float dynatempRange;

    @Option(names = "--dynatemp-exp", paramLabel = "E", defaultValue = "1.0", description = "Dynamic temperature's exponent (default: ${DEFAULT-VALUE}).")
    float dynatempExponent;

    @Option(names = "--mirostat", paramLabel = "N", defaultValue = "0", description = "Mirostat: 0 off, 1 Mirostat, 2 Mirostat 2.0; replaces the other samplers (default: ${DEFAULT-VALUE}).")
    int mirostat;

    @Option(names = "--mirostat-lr", paramLabel = "ETA", defaultValue = "0.1", description = "Mirostat's learning rate (default: ${DEFAULT-VALUE}).")
    float mirostatEta;

    @Option(names = "--mirostat-ent", paramLabel = "TAU", defaultValue = "5.0", description = "Mirostat's target entropy (default: ${DEFAULT-VALUE}).")
    float mirostatTau;

    @Option(names = "--dry-multiplier", paramLabel = "M", defaultValue = "0", description = "DRY: penalty for extending a repeat; 0 is off (default: ${DEFAULT-VALUE}).")
    float dryMultiplier;

    @Option(names = "--dry-base", paramLabel = "B", defaultValue = "1.75", description = "DRY: the penalty's base (default: ${DEFAULT-VALUE}).")
    float dryBase;

    @Option(names = "--dry-allowed-length", paramLabel = "N", defaultValue = "2", description = "DRY: repeats this long are free (default: ${DEFAULT-VALUE}).")
    int dryAllowedLength;

    @Option(names = "--dry-penalty-last-n", paramLabel = "N", defaultValue = "64", description = "DRY: tokens to scan; -1 all, 0 off (default: ${DEFAULT-VALUE}).")
    int dryLastN;

    @Option(names = "--dry-sequence-breaker", paramLabel = "TEXT", description = "DRY: a text that ends the repeats looked at (repeatable; default: newline, ':', '\"', '*'; 'none' for none).")
    java.util.List<String> dryBreakers;

    @Option(names = "--grammar", paramLabel = "GBNF", description = "Constrain the output to this grammar (llama.cpp's GBNF; generation starts at its rule 'root').")
    String grammar;

    @Option(names = "--grammar-file", paramLabel = "FILE", description = "Constrain the output to the GBNF grammar in FILE.")
    Path grammarFile;

    @Option(names = {"-j", "--json-schema"}, paramLabel = "SCHEMA", description = "Constrain the output to JSON that follows this JSON schema ('{}' for any JSON value).")
    String jsonSchema;

    private Grammar parsedGrammar;
    private JsonSchema parsedSchema;

    /** Reads and checks the output constraint asked for, before any model is loaded, so that a mistake is reported at once. */
    void checkConstraint() throws IOException {
        if ((grammar != null ? 1 : 0) + (grammarFile != null ? 1 : 0) + (jsonSchema != null ? 1 : 0) > 1)
            throw new IllegalArgumentException("give one of --grammar, --grammar-file and --json-schema");
        String text = grammarFile != null ? Files.readString(grammarFile) : grammar;
        if (text != null && !text.isBlank()) parsedGrammar = Grammar.parse(text);
        if (jsonSchema != null) {
            JsonNode schema;
            try {
                schema = new ObjectMapper().readTree(jsonSchema);
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException("--json-schema is not JSON: " + e.getOriginalMessage());
            }
            if (schema == null || !schema.isObject()) throw new IllegalArgumentException("--json-schema must be a JSON object");
            parsedSchema = JsonSchema.compile(schema);
        }
    }

    /** The constraint on the output for a model's tokenizer, or null (after {@link #checkConstraint}). */
    Supplier<? extends TokenConstraint> constraint(Tokenizer tokenizer) {
        if (parsedGrammar != null) return GrammarConstraint.factory(tokenizer, parsedGrammar);
        if (parsedSchema != null) return JsonConstraint.factory(tokenizer, parsedSchema);
        return null;
    }

    SamplerConfig toConfig() {
        java.util.List<String> breakers = dryBreakers == null ? SamplerConfig.Dry.DEFAULT_BREAKERS
                : dryBreakers.equals(java.util.List.of("none")) ? java.util.List.of() : dryBreakers;
        var advanced = SamplerConfig.Advanced.NONE.withTypicalP(typicalP).withTopNSigma(topNSigma).withXtc(xtcProbability, xtcThreshold)
                .withDynamicTemperature(dynatempRange, dynatempExponent).withMirostat(mirostat, mirostatTau, mirostatEta)
                .withDry(new SamplerConfig.Dry(dryMultiplier, dryBase, dryAllowedLength, dryLastN, breakers));
        return new SamplerConfig(temperature, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, seed, 1, advanced);
    }
}
