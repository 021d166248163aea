package dev.genset.cli;

import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;

/** Options shared by commands that load a model: which file, how many threads, what context. */
final class ModelOptions {
    @Option(names = {"-m", "--model"}, paramLabel = "MODEL",
            description = "GGUF model file or model store name (name:tag; default: $GENSET_MODEL, else the bundled stories260K).")
    String model;

    @Option(names = {"-t", "--threads"}, paramLabel = "K", description = "Worker threads (default: $GENSET_THREADS, else all cores).")
    Integer threads;

    @Option(names = {"-c", "--ctx-size"}, paramLabel = "C", description = "Context size in tokens (default: the model's, at most 4096).")
    Integer contextSize;

    @Option(names = {"-b", "--batch-size"}, paramLabel = "B", defaultValue = "128", description = "Prompt tokens evaluated per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    Path modelPath() throws java.io.IOException {
        if (model != null) return resolve(model);
        String env = System.getenv("GENSET_MODEL");
        if (env != null && !env.isBlank()) return resolve(env);
        return bundledModel();
    }

    /** A model named on the command line: the file if it exists, else the store name's file (under $GENSET_HOME). */
    static Path resolve(String fileOrName) throws java.io.IOException {
        Path file = Path.of(fileOrName);
        if (Files.exists(file)) return file;
        boolean looksLikeFile = fileOrName.toLowerCase(java.util.Locale.ROOT).endsWith(".gguf") || fileOrName.startsWith("/") || fileOrName.startsWith(".")
                || fileOrName.contains("\\") || !dev.genset.models.ModelRef.isValid(fileOrName);
        if (looksLikeFile) throw new java.nio.file.NoSuchFileException(fileOrName);
        return dev.genset.models.ModelStore.resolveDefault(fileOrName);
    }

    static Path bundledModel() {
        String prop = System.getProperty("genset.bundled");
        if (prop != null) return Path.of(prop);
        Path local = Path.of("models", "stories260K.gguf");
        return Files.exists(local) ? local : local.toAbsolutePath();
    }

    int threads() {
        if (threads != null) {
            if (threads < 1) throw new IllegalArgumentException("--threads must be at least 1");
            return threads;
        }
        String env = System.getenv("GENSET_THREADS");
        if (env != null && !env.isBlank()) return Integer.parseInt(env.trim());
        return Runtime.getRuntime().availableProcessors();
    }

    int contextSize(int trained) {
        if (contextSize != null) {
            if (contextSize < 2) throw new IllegalArgumentException("--ctx-size must be at least 2");
            return contextSize;
        }
        return Math.min(trained, 4096);
    }
}
