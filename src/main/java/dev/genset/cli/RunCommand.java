package dev.genset.cli;

import dev.genset.engine.generate.GenerationOptions;
import dev.genset.engine.generate.GenerationResult;
import dev.genset.engine.generate.Generator;
import dev.genset.engine.model.Model;
import dev.genset.engine.tensor.Parallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "run", description = "Generate a continuation of PROMPT, streamed to stdout; statistics go to stderr.")
final class RunCommand implements Callable<Integer> {
    @Mixin ModelOptions modelOptions;
    @Mixin KvCacheOptions kvCacheOptions;
    @Mixin HugePagesOption hugePages;
    @Mixin SamplingOptions sampling;

    @Option(names = {"-n", "--n-predict"}, paramLabel = "N", defaultValue = "-1", description = "Tokens to generate; -1 until end of text or context (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--stop", paramLabel = "TEXT", description = "Stop before this text (repeatable).")
    List<String> stop = List.of();

    @Option(names = "--ignore-eos", description = "Keep generating past end-of-text tokens.")
    boolean ignoreEos;

    @Option(names = "--no-bos", description = "Do not add the model's beginning-of-text token.")
    boolean noBos;

    @Parameters(index = "0", arity = "0..1", paramLabel = "PROMPT", defaultValue = "", description = "The text to continue.")
    String prompt;

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        hugePages.apply();
        sampling.checkConstraint();
        long start = System.nanoTime();
        try (Model model = Model.load(modelOptions.modelPath()); Parallel pool = new Parallel(modelOptions.threads())) {
            long loadNanos = System.nanoTime() - start;
            int[] tokens = model.tokenizer().encode(prompt, !noBos, true);
            if (tokens.length == 0) throw new IllegalArgumentException("the prompt is empty and the model adds no beginning-of-text token");
            int ctx = modelOptions.contextSize(model.config().contextLength());
            Generator generator = new Generator(model, pool, ctx, Math.max(1, Math.min(modelOptions.batchSize, tokens.length)),
                    kvCacheOptions.keyType(), kvCacheOptions.valueType());
            long beforePrompt = System.nanoTime() - start;
            GenerationResult r = generator.generate(tokens, new GenerationOptions(maxTokens, sampling.toConfig(), stop, ignoreEos,
                    sampling.constraint(model.tokenizer())), text -> {
                out.print(text);
                out.flush();
            }, null);
            if (System.console() != null && System.console().isTerminal()) out.println(); // stdout stays exactly the continuation when piped
            out.flush();
            // first token: from the start of loading to the logits the first generated token is sampled from
            System.err.printf("load: %.0f ms | first token: %.0f ms | prompt: %d tokens, %.1f t/s | generated: %d tokens, %.1f t/s | finish: %s%n",
                    loadNanos / 1e6, (beforePrompt + r.promptNanos()) / 1e6,
                    r.promptTokens(), r.promptTokensPerSecond(), r.tokens().length, r.generationTokensPerSecond(), r.finishReason().apiName());
        }
        return 0;
    }
}
