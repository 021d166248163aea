package dev.genset.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.genset.engine.embed.Embedder;
import dev.genset.engine.model.Model;
import dev.genset.engine.tensor.Parallel;
import dev.genset.testing.Cli;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class EmbedCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static float[] floats(String line) throws Exception {
        JsonNode a = JSON.readTree(line);
        float[] v = new float[a.size()];
        for (int i = 0; i < v.length; i++) v[i] = a.get(i).floatValue();
        return v;
    }

    @Test
    void printsOneUnitVectorPerTextAsTheEngineComputesIt(@TempDir Path dir) throws Exception {
        String model = TestFiles.storiesModel().toString();
        var r = Cli.run("embed", "-m", model, "-t", "1", "Once upon a time", "a little cat");
        assertThat(r.exitCode()).as(r.err()).isZero();
        String[] lines = r.out().strip().split("\n");
        assertThat(lines).hasSize(2);
        try (Model m = Model.load(TestFiles.storiesModel()); Parallel pool = new Parallel(1)) {
            Embedder e = new Embedder(m, pool, 8, Embedder.Pooling.MEAN);
            assertThat(floats(lines[0])).containsExactly(e.embed(m.tokenizer().encode("Once upon a time", true, true)));
            assertThat(floats(lines[1])).containsExactly(e.embed(m.tokenizer().encode("a little cat", true, true)));
        }
        Path jsonl = Files.writeString(dir.resolve("in.jsonl"), "\"a little cat\"\n\n");
        var fromFile = Cli.run("embed", "-m", model, "--jsonl", jsonl.toString());
        assertThat(fromFile.out().strip()).isEqualTo(lines[1]);
        var last = Cli.run("embed", "-m", model, "--pooling", "last", "Once upon a time");
        assertThat(last.exitCode()).isZero();
        assertThat(floats(last.out().strip())).hasSize(64).isNotEqualTo(floats(lines[0]));
    }

    @Test
    void badArgumentsAreOneLineErrors() {
        var none = Cli.run("embed", "-m", TestFiles.storiesModel().toString());
        assertThat(none.exitCode()).isNotZero();
        assertThat(none.err()).contains("nothing to embed");
        var pooling = Cli.run("embed", "-m", TestFiles.storiesModel().toString(), "--pooling", "max", "hi");
        assertThat(pooling.exitCode()).isNotZero();
        assertThat(pooling.err()).contains("--pooling must be mean, cls or last");
    }
}
