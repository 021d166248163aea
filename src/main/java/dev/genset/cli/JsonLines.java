package dev.genset.cli;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A file of one JSON string per line (blank lines skipped), as --jsonl options take it. */
final class JsonLines {
    private JsonLines() {}

    static List<String> strings(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8), out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) continue;
            try {
                out.add(json.readValue(lines.get(i), String.class));
            } catch (JacksonException e) {
                throw new IllegalArgumentException(file + " line " + (i + 1) + " is not a JSON string");
            }
        }
        return out;
    }
}
