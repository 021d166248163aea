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
        assertThat(Cli.run("--version").out()).contains("genset");
        var none = Cli.run();
        assertThat(none.out()).contains("serve", "run", "eval");
    }

    /** A command line naming a subcommand makes that one alone (the others' options are not built); anything else makes all. */
    @Test
    void onlyTheNamedSubcommandIsBuilt() {
        assertThat(Main.commandLine("run", "-m", "x.gguf", "hi").getSubcommands()).containsOnlyKeys("run");
        assertThat(Main.commandLine("bench", "serve").getSubcommands()).containsOnlyKeys("bench");
        assertThat(Main.commandLine("help", "run").getSubcommands()).containsKeys("run", "serve", "help");
        assertThat(Main.commandLine("--help").getSubcommands()).containsKeys("run", "serve", "eval", "data");
        assertThat(Main.commandLine("rnu").getSubcommands()).containsKeys("run", "serve");
        var typo = Cli.run("rnu");
        assertThat(typo.exitCode()).isNotZero();
        assertThat(typo.err()).contains("rnu");
    }
}
