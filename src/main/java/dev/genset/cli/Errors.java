package dev.genset.cli;

import dev.genset.engine.gguf.GgufFormatException;
import dev.genset.engine.grammar.GrammarException;

import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;

/** Turns exceptions into the one-line messages the CLI prints. */
final class Errors {
    private Errors() {}

    static String describe(Throwable ex) {
        if (ex instanceof NoSuchFileException e) return "file not found: " + e.getFile();
        if (ex instanceof AccessDeniedException e) return "permission denied: " + e.getFile();
        if (ex instanceof GgufFormatException e) return "invalid GGUF file: " + e.getMessage();
        if (ex instanceof GrammarException e) return "invalid grammar: " + e.getMessage();
        String msg = ex.getMessage();
        return msg == null || msg.isBlank() ? ex.getClass().getSimpleName() : msg;
    }
}
