package dev.genset.cli;

import dev.genset.models.Llama2cConverter;
import dev.genset.models.Manifest;
import dev.genset.models.ModelDetails;
import dev.genset.models.ModelStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "import", description = {
        "Add a local model file to the store: a GGUF file, or a llama2.c checkpoint (model .bin and tokenizer.bin),",
        "converted to GGUF as llama.cpp's convert-llama2c-to-ggml does."})
final class ImportCommand implements Callable<Integer> {
    @Mixin HomeOption home;

    @Parameters(index = "0", paramLabel = "FILE", description = "GGUF file or llama2.c checkpoint")
    Path file;

    @Option(names = "--name", paramLabel = "NAME[:TAG]", description = "Name in the store (default: the file name without its extension).")
    String name;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "llama2.c: the tokenizer (tokenizer.bin, or a GGUF model to copy the vocabulary from; default: tokenizer.bin beside FILE).")
    Path tokenizer;

    @Option(names = "--context-length", paramLabel = "N", defaultValue = "" + Llama2cConverter.DEFAULT_CONTEXT_LENGTH,
            description = "llama2.c: context length to record (default: ${DEFAULT-VALUE}, as llama.cpp's converter writes).")
    int contextLength;

    @Override
    public Integer call() throws Exception {
        if (!Files.isRegularFile(file)) throw new NoSuchFileException(file.toString());
        ModelStore store = home.models();
        Manifest m;
        if (Llama2cConverter.isGguf(file)) {
            m = store.importGguf(file, name);
        } else {
            Llama2cConverter.readConfig(file); // says clearly if it is neither format
            Path tok = tokenizer != null ? tokenizer : file.toAbsolutePath().resolveSibling("tokenizer.bin");
            if (!Files.isRegularFile(tok))
                throw new IllegalArgumentException(file + " is a llama2.c checkpoint; give its tokenizer with --tokenizer FILE (" + tok + " does not exist)");
            m = store.importLlama2c(file, tok, name, contextLength);
        }
        System.out.printf("imported %s (%s, %s)%n", m.ref(), m.digest().substring(0, 19), ModelDetails.formatBytes(m.size()));
        return 0;
    }
}
