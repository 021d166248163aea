package dev.genset.testing;

import dev.genset.engine.gguf.GgufFile;
import dev.genset.engine.gguf.GgufTensorInfo;
import dev.genset.engine.gguf.GgufWriter;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.UnaryOperator;

/** Paths of files the tests share. */
public final class TestFiles {
    private TestFiles() {}

    public static Path repo() {
        String p = System.getProperty("genset.repo");
        return p != null ? Path.of(p) : Path.of("").toAbsolutePath();
    }

    /** The bundled stories260K model. */
    public static Path storiesModel() {
        Path p = repo().resolve("models/stories260K.gguf");
        if (!Files.exists(p)) throw new IllegalStateException("bundled model missing: " + p);
        return p;
    }

    /** A copy of the bundled model at {@code dest} with metadata added or replaced by {@code metadata} (a chat template, special tokens). */
    public static Path storiesModelWith(Path dest, UnaryOperator<GgufWriter> metadata) throws IOException {
        try (GgufFile f = GgufFile.open(storiesModel())) {
            GgufWriter w = metadata.apply(new GgufWriter().putAll(f.metadata()));
            for (GgufTensorInfo t : f.tensors()) w.addTensor(t.name(), t.shape(), t.type(), f.data(t).toArray(ValueLayout.JAVA_BYTE));
            w.write(dest);
        }
        return dest;
    }

    public static Path testResource(String relative) {
        return repo().resolve("src/test/resources").resolve(relative);
    }

    private static dev.genset.engine.tokenizer.Tokenizer llama;

    /** LLaMA's 32,000-token SentencePiece vocabulary (llama.cpp's test vocabulary), read once. */
    public static synchronized dev.genset.engine.tokenizer.Tokenizer llamaTokenizer() {
        if (llama == null) {
            try (GgufFile gguf = GgufFile.open(testResource("tokenizers/ggml-vocab-llama-spm.gguf"))) {
                llama = dev.genset.engine.tokenizer.Tokenizer.fromGguf(gguf);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        return llama;
    }
}
