package dev.genset.eval.model;

import dev.genset.engine.model.KvType;
import dev.genset.engine.model.Model;
import dev.genset.engine.tensor.Parallel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Opens the model a command line names: a GGUF file, or {@code openai:BASE_URL[#MODEL]} / {@code openai-chat:...} for an endpoint. */
public final class Models {
    private Models() {}

    /**
     * @param spec        a GGUF path or an endpoint spec
     * @param threads     worker threads (local)
     * @param contextSize context in tokens (local; null: the model's, at most 4096)
     * @param batchSize   rows per forward pass (local)
     * @param apiKey      bearer token (endpoint; null: $OPENAI_API_KEY if set)
     * @param concurrency requests in flight (endpoint)
     */
    public static LanguageModel open(String spec, int threads, Integer contextSize, int batchSize, String apiKey, int concurrency) throws IOException {
        return open(spec, threads, contextSize, batchSize, KvType.F32, KvType.F32, apiKey, concurrency);
    }

    /** The same with a local model's KV caches of these types (an endpoint's are its own business). */
    public static LanguageModel open(String spec, int threads, Integer contextSize, int batchSize, KvType keyType, KvType valueType,
                                     String apiKey, int concurrency) throws IOException {
        if (OpenAiModel.isSpec(spec)) {
            String key = apiKey != null ? apiKey : System.getenv("OPENAI_API_KEY");
            return OpenAiModel.fromSpec(spec, key, concurrency);
        }
        Path path = Path.of(spec);
        if (!Files.exists(path)) throw new NoSuchFileException(spec);
        Model model = Model.load(path);
        try {
            // an evaluation is a long run of passes: every matrix repacked before the first, as a server has them
            try {
                model.awaitRepacking();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                model.close();
                throw new java.io.InterruptedIOException("interrupted while loading " + spec);
            }
            int ctx = contextSize != null ? contextSize : Math.min(model.config().contextLength(), 4096);
            return new LocalModel(model, new Parallel(threads), ctx, batchSize, keyType, valueType, true);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** What the spec names, for results: the GGUF file's name or the endpoint URL (never an API key). */
    public static String describe(String spec) {
        if (OpenAiModel.isSpec(spec)) return spec;
        Path p = Path.of(spec).getFileName();
        return p == null ? spec : p.toString();
    }
}
