package dev.genset.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.genset.engine.gguf.GgufFile;
import dev.genset.models.Manifest;
import dev.genset.models.ModelDetails;
import dev.genset.models.ModelRef;
import dev.genset.models.ModelStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "show", description = "Describe a model in the store (or a GGUF file): architecture, parameters, quantization, context length, size, digest.")
final class ShowCommand implements Callable<Integer> {
    @Mixin HomeOption home;

    @Parameters(index = "0", paramLabel = "NAME", description = "Store name (name[:tag]) or GGUF file")
    String name;

    @Option(names = "--json", description = "Print the manifest and details as JSON.")
    boolean json;

    @Option(names = "--template", description = "Print the model's chat template only.")
    boolean template;

    @Override
    public Integer call() throws Exception {
        ModelStore store = home.models();
        Path file = store.resolve(name);
        Manifest manifest = !Files.isRegularFile(Path.of(name)) && ModelRef.isValid(name) ? store.get(name) : null;
        try (GgufFile gguf = GgufFile.open(file)) {
            if (template) {
                String t = gguf.getString("tokenizer.chat_template", null);
                if (t == null) throw new IllegalArgumentException(name + " has no chat template (tokenizer.chat_template)");
                System.out.println(t);
                return 0;
            }
            ModelDetails d = ModelDetails.of(gguf);
            long size = Files.size(file);
            Map<String, Object> rows = new LinkedHashMap<>();
            rows.put("name", manifest != null ? manifest.ref().toString() : null);
            rows.put("architecture", d.architecture());
            rows.put("parameters", ModelDetails.formatParameters(d.parameters()) + " (" + String.format("%,d", d.parameters()) + ")");
            if (d.expertCount() != null && d.expertCount() > 0)
                rows.put("experts", d.expertCount() + ", " + d.expertUsedCount() + " per token (" + ModelDetails.formatParameters(d.activeParameters()) + " parameters active)");
            rows.put("quantization", d.quantization());
            rows.put("context length", d.contextLength());
            rows.put("embedding length", d.embeddingLength());
            rows.put("layers", d.blockCount());
            rows.put("attention heads", d.headCount() == null ? null : d.headCount() + (d.headCountKv() != null && !d.headCountKv().equals(d.headCount()) ? " (" + d.headCountKv() + " key/value)" : ""));
            rows.put("vocabulary", d.vocabSize() == null ? null : d.vocabSize() + (d.tokenizer() != null ? " (" + d.tokenizer() + ")" : ""));
            rows.put("chat template", d.chatTemplate() ? "yes" : "no (a built-in format is chosen from the vocabulary)");
            rows.put("license", d.license());
            rows.put("size", ModelDetails.formatBytes(size) + " (" + String.format("%,d", size) + " bytes)");
            rows.put("digest", manifest != null ? manifest.digest() : null);
            rows.put("source", manifest != null ? manifest.source() : null);
            rows.put("file", file.toString());
            if (json) {
                Map<String, Object> out = new LinkedHashMap<>();
                if (manifest != null) out.put("manifest", manifest);
                out.put("details", d);
                out.put("file", file.toString());
                System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(out));
                return 0;
            }
            rows.forEach((k, v) -> {
                if (v != null) System.out.printf("  %-18s %s%n", k, v);
            });
        }
        return 0;
    }
}
