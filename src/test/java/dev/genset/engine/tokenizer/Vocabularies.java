package dev.genset.engine.tokenizer;

import dev.genset.engine.gguf.GgufFile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The vocabularies under test, each loaded once per test run, and the llama.cpp conformance vectors. */
final class Vocabularies {
    private Vocabularies() {}

    static final String LLAMA_SPM = "ggml-vocab-llama-spm.gguf";
    static final String GPT2 = "ggml-vocab-gpt-2.gguf";

    private static final Map<String, Tokenizer> LOADED = new ConcurrentHashMap<>();

    static Path repo() {
        return Path.of(System.getProperty("genset.repo", "."));
    }

    static Path vectors() {
        return repo().resolve("src/test/resources/tokenizers");
    }

    static Tokenizer vocab(String name) {
        return LOADED.computeIfAbsent(name, n -> load(vectors().resolve(n)));
    }

    static Tokenizer stories() {
        return LOADED.computeIfAbsent("stories260K", n -> load(repo().resolve("models/stories260K.gguf")));
    }

    static Tokenizer load(Path path) {
        try (GgufFile gguf = GgufFile.open(path)) {
            return Tokenizer.fromGguf(gguf);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One conformance case: input text and the ids llama.cpp expects (no BOS, special parsing off). */
    record Case(String vocab, int index, String input, int[] expected) {
        @Override
        public String toString() {
            return vocab.replace("ggml-vocab-", "").replace(".gguf", "") + " #" + index + " \"" + escape(input) + "\"";
        }
    }

    static List<Case> cases(String vocab) {
        try {
            String[] inputs = Files.readString(vectors().resolve(vocab + ".inp")).split("\n__ggml_vocab_test__\n", -1);
            List<String> outputs = Files.readAllLines(vectors().resolve(vocab + ".out"));
            int count = inputs.length - 1; // the piece after the last separator is not a case
            if (outputs.size() != count) throw new IllegalStateException(vocab + ": " + count + " inputs but " + outputs.size() + " outputs");
            return java.util.stream.IntStream.range(0, count).mapToObj(i -> {
                String line = outputs.get(i).trim();
                int[] ids = line.isEmpty() ? new int[0] : Arrays.stream(line.split(" ")).mapToInt(Integer::parseInt).toArray();
                return new Case(vocab, i, inputs[i], ids);
            }).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String escape(String s) {
        StringBuilder sb = new StringBuilder();
        s.codePoints().forEach(cp -> {
            switch (cp) {
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> sb.appendCodePoint(cp);
            }
        });
        return sb.toString();
    }
}
