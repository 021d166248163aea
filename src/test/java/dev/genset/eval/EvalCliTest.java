package dev.genset.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.genset.cli.Main;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** genset eval run / perplexity / leaderboard / tasks through the command line, results in a temporary home. */
class EvalCliTest {
    @TempDir Path home;
    String model = TestFiles.storiesModel().toString();

    record Out(int code, String out, String err) {}

    static synchronized Out cli(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.execute(args);
            return new Out(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
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
        Out r = cli("eval", "perplexity", "--model", model, "--file", file, "--ctx", "128", "-t", "2", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("ppl").asDouble()).isCloseTo(4.5584, within(0.005));
        assertThat(j.get("tokens").asInt()).isEqualTo(888);
        assertThat(j.get("ctx").asInt()).isEqualTo(128);
        assertThat(j.get("running").size()).isEqualTo(6);

        Out text = cli("eval", "perplexity", "--model", model, "--file", file, "-c", "128", "-t", "2");
        assertThat(text.out()).startsWith("[1]3.9").contains("Final estimate: PPL = 4.55");
    }

    @Test
    void runStoresResultsAndTheLeaderboardShowsThem() throws Exception {
        Path html = home.resolve("report.html"), board = home.resolve("board.html");
        Out r = cli("eval", "run", "story-cloze", "arithmetic", "--model", model, "-t", "2", "--limit", "4", "--json", "--html", html.toString());
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.get("model").asText()).isEqualTo("stories260K");
        assertThat(j.get("tasks").size()).isEqualTo(2);
        JsonNode acc = j.get("tasks").get(0).get("metrics").get("acc");
        assertThat(acc.get("value").asDouble()).isBetween(0.0, 1.0);
        assertThat(acc.has("stderr")).isTrue();
        assertThat(j.get("tasks").get(0).get("documents").asInt()).isEqualTo(4);
        try (var files = Files.list(home.resolve("eval/runs"))) {
            assertThat(files.count()).isEqualTo(1);
        }
        String page = Files.readString(html);
        assertThat(page).contains("<svg", "story-cloze", "acc_norm").doesNotContain("<script", "http://", "https://");

        Out lb = cli("eval", "leaderboard", "--html", board.toString());
        assertThat(lb.code()).as(lb.err()).isZero();
        assertThat(lb.out()).contains("stories260K", "story-cloze (acc)", "arithmetic (acc)");
        assertThat(Files.readString(board)).contains("<svg", "stories260K").doesNotContain("<script");

        Out text = cli("eval", "run", "story-ppl", "--model", model, "-t", "2", "--no-store");
        assertThat(text.code()).as(text.err()).isZero();
        assertThat(text.out()).contains("token_perplexity", "word_perplexity", "byte_perplexity", "bits_per_byte");
    }

    @Test
    void unknownTasksAndBenchmarksWithoutFilesAreOneLineErrors() {
        Out r = cli("eval", "run", "no-such-task", "--model", model);
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).startsWith("genset: no task named 'no-such-task'").contains("story-ppl");
        Out m = cli("eval", "run", "mmlu", "--model", model);
        assertThat(m.code()).isEqualTo(1);
        assertThat(m.err()).contains("mmlu:PATH");
        Out t = cli("eval", "tasks");
        assertThat(t.out()).contains("arithmetic", "gsm8k", "needs the benchmark's files");
    }
}
