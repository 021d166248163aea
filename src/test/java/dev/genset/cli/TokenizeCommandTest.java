package dev.genset.cli;

import dev.genset.testing.Cli;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class TokenizeCommandTest {

    /** The whole llama.cpp vector file through the CLI in one run: --jsonl in, one line of ids per case out. */
    @ParameterizedTest
    @ValueSource(strings = {"ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf"})
    void jsonlRunReproducesTheConformanceVectors(String vocab, @TempDir Path dir) throws Exception {
        Path base = TestFiles.testResource("tokenizers");
        String inp = Files.readString(base.resolve(vocab + ".inp"), StandardCharsets.UTF_8);
        List<String> cases = new ArrayList<>(Arrays.asList(inp.split("\n__ggml_vocab_test__\n", -1)));
        cases.removeLast();
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        for (String c : cases) lines.add(json.writeValueAsString(c));
        Path jsonl = Files.write(dir.resolve("cases.jsonl"), lines, StandardCharsets.UTF_8);
        var r = Cli.run("tokenize", "--model", base.resolve(vocab).toString(), "--jsonl", jsonl.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        List<String> expected = Files.readAllLines(base.resolve(vocab + ".out"), StandardCharsets.UTF_8).stream().map(String::strip).toList();
        assertThat(r.out().lines().map(String::strip).toList()).containsExactlyElementsOf(expected);
    }

    @Test
    void textOnTheBundledModelHasNoBos() {
        var r = Cli.run("tokenize", "Once upon a time");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out().strip()).isEqualTo("403 407 261 378");
    }
}
