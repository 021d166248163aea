package dev.genset.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.genset.engine.embed.Embedder;
import dev.genset.engine.model.Model;
import dev.genset.engine.tensor.Parallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "embed", description = {
        "Print the embedding of each TEXT (or of each line of a JSON-lines file) as a JSON array of floats, one per line, in order:",
        "the model's final hidden states pooled (its GGUF's pooling, else their mean) and scaled to unit length, as /v1/embeddings gives them."})
final class EmbedCommand implements Callable<Integer> {
    @Mixin ModelOptions modelOptions;
    @Mixin HugePagesOption hugePages;

    @Option(names = "--pooling", paramLabel = "P", description = "mean, cls (first token) or last (default: the model's, else mean).")
    String pooling;

    @Option(names = "--jsonl", paramLabel = "F", description = "Each line of F is a JSON string to embed.")
    Path jsonl;

    @Parameters(arity = "0..*", paramLabel = "TEXT", description = "Texts to embed.")
    List<String> texts = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<String> inputs = new ArrayList<>(texts);
        if (jsonl != null) inputs.addAll(JsonLines.strings(jsonl));
        if (inputs.isEmpty()) throw new IllegalArgumentException("nothing to embed: give TEXT or --jsonl F");
        PrintStream out = System.out;
        hugePages.apply();
        try (Model model = Model.load(modelOptions.modelPath()); Parallel pool = new Parallel(modelOptions.threads())) {
            Embedder.Pooling p = pooling == null ? Embedder.Pooling.of(model.gguf()) : switch (pooling.toLowerCase(java.util.Locale.ROOT)) {
                case "mean" -> Embedder.Pooling.MEAN;
                case "cls", "first" -> Embedder.Pooling.CLS;
                case "last" -> Embedder.Pooling.LAST;
                default -> throw new IllegalArgumentException("--pooling must be mean, cls or last, not '" + pooling + "'");
            };
            Embedder embedder = new Embedder(model, pool, modelOptions.batchSize, p);
            int ctx = modelOptions.contextSize(model.config().contextLength());
            for (int i = 0; i < inputs.size(); i++) {
                int[] tokens = model.tokenizer().encode(inputs.get(i), true, true);
                if (tokens.length == 0) throw new IllegalArgumentException("input " + (i + 1) + " is empty");
                if (tokens.length > ctx) throw new IllegalArgumentException("input " + (i + 1) + " has " + tokens.length + " tokens, more than the context size " + ctx);
                out.println(json.writeValueAsString(embedder.embed(tokens)));
            }
        } finally {
            out.flush();
        }
        return 0;
    }
}
