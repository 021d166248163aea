package dev.genset.cli;

import dev.genset.testing.Cli;
import dev.genset.engine.gguf.GgufWriter;
import dev.genset.testing.SyntheticModel;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class RunCommandTest {
    static final String LLAMA_CPP_CONTINUATION =
            ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw";

    @Test
    void greedyRunPrintsExactlyLlamaCppsContinuation() {
        var r = Cli.run("run", "--model", TestFiles.storiesModel().toString(), "--temp", "0", "-n", "32", "Once upon a time");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo(LLAMA_CPP_CONTINUATION);
        assertThat(r.err()).containsPattern("load: [0-9]+ ms \\| first token: [0-9]+ ms \\| prompt: 5 tokens, [0-9.]+ t/s \\| generated: 32 tokens, [0-9.]+ t/s");
    }

    /**
     * With an f32 cache (f16 is the default, as llama.cpp's) the continuation is still llama.cpp's;
     * an unknown type, or q8_0 for heads that are not whole blocks, is one line.
     */
    @Test
    void anF32CacheGivesLlamaCppsContinuationToo() {
        var r = Cli.run("run", "--model", TestFiles.storiesModel().toString(), "--temp", "0", "-n", "32", "-ctk", "f32", "--cache-type-v", "f32", "Once upon a time");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo(LLAMA_CPP_CONTINUATION);
        r = Cli.run("run", "--model", TestFiles.storiesModel().toString(), "-n", "4", "-ctk", "bf16", "Once");
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.err().strip()).contains("unsupported KV cache type 'bf16'").doesNotContain("\n");

        r = Cli.run("run", "--model", TestFiles.storiesModel().toString(), "-n", "4", "-ctv", "q8_0", "Once");
        assertThat(r.exitCode()).as("q8_0 blocks span 32 channels; the bundled model's heads have 8").isNotZero();
        assertThat(r.err().strip()).contains("a q8_0 KV cache needs heads of a multiple of 32 numbers; this model's have 8").doesNotContain("\n");
    }

    @Test
    void sameSeedSameText() {
        String model = TestFiles.storiesModel().toString();
        var a = Cli.run("run", "--model", model, "--temp", "1.0", "--seed", "99", "-n", "40", "Once upon a time");
        var b = Cli.run("run", "--model", model, "--temp", "1.0", "--seed", "99", "-n", "40", "Once upon a time");
        var c = Cli.run("run", "--model", model, "--temp", "1.0", "--seed", "100", "-n", "40", "Once upon a time");
        assertThat(a.out()).isEqualTo(b.out()).isNotEqualTo(c.out());
    }

    @Test
    void stopStringCutsTheText() {
        var r = Cli.run("run", "--model", TestFiles.storiesModel().toString(), "--temp", "0", "-n", "32", "--stop", "Lily", "Once upon a time");
        assertThat(r.out()).isEqualTo(", there was a little girl named ");
        assertThat(r.err()).contains("finish: stop");
    }

    /** Greedy under a grammar: the unconstrained continuation where the grammar allows it (", there was a little"), the grammar's text where not. */
    @Test
    void aGrammarConstrainsTheContinuation(@TempDir Path dir) throws Exception {
        String model = TestFiles.storiesModel().toString();
        var r = Cli.run("run", "--model", model, "--temp", "0", "-n", "40",
                "--grammar", "root ::= \", there was a \" [a-z]+ \" \" (\"cat\" | \"dog\") \".\"", "Once upon a time");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).isIn(", there was a little cat.", ", there was a little dog.");
        assertThat(r.err()).contains("finish: stop");

        Path file = dir.resolve("yes-no.gbnf");
        Files.writeString(file, "# one word\nroot ::= answer\nanswer ::= \" yes\" | \" no\"\n");
        r = Cli.run("run", "--model", model, "--temp", "1", "--seed", "7", "-n", "10", "--grammar-file", file.toString(), "Is it raining?");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).isIn(" yes", " no");

        r = Cli.run("run", "--model", model, "-n", "4", "--grammar", "root ::= \"a\" missing", "Once");
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.err().strip()).isEqualTo("genset: invalid grammar: undefined rule 'missing'");
        r = Cli.run("run", "--model", model, "-n", "4", "--grammar", "root ::= \"a\"", "--grammar-file", file.toString(), "Once");
        assertThat(r.err().strip()).isEqualTo("genset: give one of --grammar, --grammar-file and --json-schema");

        // llama-cli's -j: JSON that follows a schema
        r = Cli.run("run", "--model", model, "--temp", "0", "-n", "40", "-j",
                "{\"type\":\"object\",\"properties\":{\"ok\":{\"type\":\"boolean\"}},\"required\":[\"ok\"],\"additionalProperties\":false}", "Answer:");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out().replace(" ", "")).isIn("{\"ok\":true}", "{\"ok\":false}");
        r = Cli.run("run", "--model", model, "-n", "4", "-j", "{\"type\": ", "Once");
        assertThat(r.err().strip()).startsWith("genset: --json-schema is not JSON");
    }

    @Test
    void missingFileIsOneClearLine(@TempDir Path dir) {
        var r = Cli.run("run", "--model", dir.resolve("nope.gguf").toString(), "hi");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err().strip()).isEqualTo("genset: file not found: " + dir.resolve("nope.gguf"));
    }

    @Test
    void nonGgufFileIsNamed(@TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("notes.gguf"), "just some text, not a model");
        var r = Cli.run("run", "--model", f.toString(), "hi");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err().strip()).startsWith("genset: invalid GGUF file: notes.gguf: not a GGUF file: bad magic").doesNotContain("\n");
    }

    @Test
    void unsupportedArchitectureIsNamed(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("mamba.gguf");
        new GgufWriter().putString("general.architecture", "mamba").write(f);
        var r = Cli.run("run", "--model", f.toString(), "hi");
        assertThat(r.err().strip()).isEqualTo("genset: unsupported architecture 'mamba' (supported: llama, qwen2, qwen3, qwen3moe)");
    }

    @Test
    void typesReadByDecodingRun(@TempDir Path dir) throws Exception {
        // Q5_K, as Q5_K_M and Q3_K_M files hold it, next to the synthetic model's own type
        SyntheticModel sm = new SyntheticModel("llama", 256, 1, 4, 2, 256, 1);
        Path f = sm.writeWithType(dir.resolve("q5k.gguf"), "blk.0.attn_q.weight", dev.genset.engine.gguf.GgmlType.Q5_K);
        var r = Cli.run("run", "--model", f.toString(), "-n", "3", "--ignore-eos", "a b");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.err()).contains("generated: 3 tokens");
    }

    @Test
    void unsupportedTensorTypeIsNamed(@TempDir Path dir) throws Exception {
        // A valid llama model whose attn_q is stored as IQ2_XXS, which the engine does not compute with.
        SyntheticModel sm = new SyntheticModel("llama", 256, 1, 4, 2, 256, 1);
        Path f = sm.writeWithType(dir.resolve("iq2.gguf"), "blk.0.attn_q.weight", dev.genset.engine.gguf.GgmlType.IQ2_XXS);
        var r = Cli.run("run", "--model", f.toString(), "hi");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err().strip()).startsWith("genset: tensor blk.0.attn_q.weight: unsupported tensor type IQ2_XXS");
    }

    @Test
    void promptLongerThanTheContextIsRefused() {
        var r = Cli.run("run", "--model", TestFiles.storiesModel().toString(), "--ctx-size", "16", "Once upon a time there was a girl who liked to play with her friends in the park");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err().strip()).matches("genset: the prompt has \\d+ tokens, more than the context size 16 allows .*");
    }

    @Test
    void infoPrintsMetadataAndTensors() {
        var r = Cli.run("info", TestFiles.storiesModel().toString());
        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("GGUF version 3", "llama.embedding_length", "blk.4.ffn_up.weight", "292,800 parameters");
    }
}
