package dev.genset.cli;

import dev.genset.testing.Cli;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Every command answers --help, and `genset help COMMAND` works, as the README says. */
class HelpTest {
    @Test
    void helpEverywhere() {
        var top = Cli.run("--help");
        assertThat(top.exitCode()).isZero();
        assertThat(top.out()).contains("serve", "run", "eval", "plan", "keys", "pull");
        var run = Cli.run("help", "run");
        assertThat(run.exitCode()).isZero();
        assertThat(run.out()).contains("--temp", "--n-predict");
        var serve = Cli.run("serve", "--help");
        assertThat(serve.exitCode()).isZero();
        assertThat(serve.out()).contains("--port", "--parallel");
        var benchServe = Cli.run("bench", "serve", "--help");
        assertThat(benchServe.exitCode()).isZero();
        assertThat(benchServe.out()).contains("--concurrency");
        var tokenize = Cli.run("tokenize", "--help");
        assertThat(tokenize.exitCode()).isZero();
        assertThat(tokenize.out()).contains("--jsonl");
        assertThat(Cli.run("plan", "train", "--help").out()).contains("--params");
    }
}
