package dev.genset.eval;

import dev.genset.testing.Cli;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** genset eval run / perplexity / leaderboard / tasks through the command line, results in a temporary home. */
class EvalCliTest {
    @TempDir Path home;
    String model = TestFiles.storiesModel().toString();

    static Cli.Result cli(String... args) {
        return Cli.run(args);
    }

    @BeforeEach
    void setHome() {
        System.setProperty("genset.home", home.toString());
    }

    @AfterEach
    void clearHome() {
        System.clearProperty("genset.home");
    }

    @Test
    void perplexityCommandPrintsLlamaCppFigures() throws Exception {
        String file = TestFiles.testResource("eval/tom-and-the-kite.txt").toString();
        Cli.Result r = cli("eval", "perplexity", "--model", model, "--file", file, "--ctx", "128", "-t", "2", "--json");
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("ppl").asDouble()).isCloseTo(4.5584, within(0.005));
        assertThat(j.get("tokens").asInt()).isEqualTo(888);
        assertThat(j.get("ctx").asInt()).isEqualTo(128);
        assertThat(j.get("running").size()).isEqualTo(6);
        assertThat(j.get("type_k").asText() + "/" + j.get("type_v").asText()).as("llama-perplexity's default cache").isEqualTo("f16/f16");
        Cli.Result f32 = cli("eval", "perplexity", "--model", model, "--file", file, "--ctx", "128", "-t", "2", "--json", "-ctk", "f32", "-ctv", "f32");
        assertThat(f32.exitCode()).as(f32.err()).isZero();
        JsonNode j32 = new ObjectMapper().readTree(f32.out());
        assertThat(j32.get("type_k").asText() + "/" + j32.get("type_v").asText()).isEqualTo("f32/f32");
        assertThat(j32.get("nll").asDouble()).isNotEqualTo(j.get("nll").asDouble()).isCloseTo(j.get("nll").asDouble(), within(1e-3));

        Cli.Result text = cli("eval", "perplexity", "--model", model, "--file", file, "-c", "128", "-t", "2");
        assertThat(text.out()).startsWith("[1]3.9").contains("Final estimate: PPL = 4.55");
    }

    @Test
    void runStoresResultsAndTheLeaderboardShowsThem() throws Exception {
        Path html = home.resolve("report.html"), board = home.resolve("board.html");
        Cli.Result r = cli("eval", "run", "story-cloze", "arithmetic", "--model", model, "-t", "2", "--limit", "4", "--json", "--html", html.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("model").asText()).isEqualTo("stories260K");
        assertThat(j.get("tasks").size()).isEqualTo(2);
        JsonNode acc = j.get("tasks").get(0).get("metrics").get("acc");
        assertThat(acc.get("value").asDouble()).isBetween(0.0, 1.0);
        assertThat(acc.has("stderr")).isTrue();
        assertThat(j.get("tasks").get(0).get("documents").asInt()).isEqualTo(4);
        assertThat(j.get("options").get("cache_type_k").asText()).as("a local model's cache type is part of the result").isEqualTo("f16");
        try (var files = Files.list(home.resolve("eval/runs"))) {
            assertThat(files.count()).isEqualTo(1);
        }
        String page = Files.readString(html);
        assertThat(page).contains("<svg", "story-cloze", "acc_norm").doesNotContain("<script", "http://", "https://");

        Cli.Result lb = cli("eval", "leaderboard", "--html", board.toString());
        assertThat(lb.exitCode()).as(lb.err()).isZero();
        assertThat(lb.out()).contains("stories260K", "story-cloze (acc)", "arithmetic (acc)");
        assertThat(Files.readString(board)).contains("<svg", "stories260K").doesNotContain("<script");

        Cli.Result text = cli("eval", "run", "story-ppl", "--model", model, "-t", "2", "--no-store");
        assertThat(text.exitCode()).as(text.err()).isZero();
        assertThat(text.out()).contains("token_perplexity", "word_perplexity", "byte_perplexity", "bits_per_byte");
    }

    @Test
    void unknownTasksAndBenchmarksWithoutFilesAreOneLineErrors() {
        Cli.Result r = cli("eval", "run", "no-such-task", "--model", model);
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).startsWith("genset: no task named 'no-such-task'").contains("story-ppl");
        Cli.Result m = cli("eval", "run", "mmlu", "--model", model);
        assertThat(m.exitCode()).isEqualTo(1);
        assertThat(m.err()).contains("mmlu:PATH");
        Cli.Result t = cli("eval", "tasks");
        assertThat(t.out()).contains("arithmetic", "gsm8k", "needs the benchmark's files");
    }
}
