package dev.genset.testing;

import java.nio.file.Files;
import java.nio.file.Path;

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

    public static Path testResource(String relative) {
        return repo().resolve("src/test/resources").resolve(relative);
    }
}
