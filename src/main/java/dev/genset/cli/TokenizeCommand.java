package dev.genset.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.genset.engine.gguf.GgufFile;
import dev.genset.engine.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

@Command(name = "tokenize", description = {
        "Print the token ids of TEXT (or of a file) on one line, space-separated.",
        "By default no BOS/EOS is added and special-token texts are plain text, as llama.cpp's tokenizer tests count tokens."})
final class TokenizeCommand implements Callable<Integer> {
    @Option(names = {"-m", "--model"}, paramLabel = "PATH", description = "GGUF file with the vocabulary (default: the bundled stories260K).")
    Path model;

    @Option(names = "--file", paramLabel = "F", description = "Tokenize the whole content of this UTF-8 file.")
    Path file;

    @Option(names = "--jsonl", paramLabel = "F", description = "Each line of F is a JSON string; print one line of ids per line.")
    Path jsonl;

    @Option(names = "--with-bos", description = "Add BOS/EOS as the model asks (as when prompting it).")
    boolean addSpecial;

    @Option(names = "--parse-special", description = "Turn special-token texts such as <|im_start|> into their tokens.")
    boolean parseSpecial;

    @Option(names = "--show-pieces", description = "Print each token on its own line: id, then its vocabulary text as a JSON string.")
    boolean showPieces;

    @Parameters(index = "0", arity = "0..1", paramLabel = "TEXT", description = "The text to tokenize.")
    String text;

    @Override
    public Integer call() throws Exception {
        int sources = (text != null ? 1 : 0) + (file != null ? 1 : 0) + (jsonl != null ? 1 : 0);
        if (sources != 1) throw new IllegalArgumentException("give exactly one of TEXT, --file F or --jsonl F");
        PrintStream out = System.out;
        try (GgufFile gguf = GgufFile.open(modelPath())) {
            Tokenizer tokenizer = Tokenizer.fromGguf(gguf);
            if (jsonl != null) {
                ObjectMapper json = new ObjectMapper();
                for (String input : JsonLines.strings(jsonl)) print(out, json, tokenizer, input);
            } else {
                String input = file != null ? Files.readString(file, StandardCharsets.UTF_8) : text;
                print(out, new ObjectMapper(), tokenizer, input);
            }
        } finally {
            out.flush();
        }
        return 0;
    }

    private void print(PrintStream out, ObjectMapper json, Tokenizer tokenizer, String input) throws Exception {
        int[] ids = tokenizer.encode(input, addSpecial, parseSpecial);
        if (!showPieces) {
            out.println(IntStream.of(ids).mapToObj(Integer::toString).collect(Collectors.joining(" ")));
            return;
        }
        for (int id : ids) out.println(id + "\t" + json.writeValueAsString(tokenizer.tokenText(id)));
        out.println();
    }

    private Path modelPath() {
        if (model != null) return model;
        return ModelOptions.bundledModel();
    }
}
