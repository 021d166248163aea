package dev.genset.server;

import dev.genset.cli.Main;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import static org.assertj.core.api.Assertions.assertThat;

class ServeCommandTest {
    @Test
    void serveAndBenchServeAreRegistered() {
        CommandLine cl = new CommandLine(new Main());
        assertThat(cl.getSubcommands()).containsKey("serve");
        assertThat(cl.getSubcommands().get("bench").getSubcommands()).containsKey("serve");
        CommandLine serve = cl.getSubcommands().get("serve");
        for (String option : new String[] {"--host", "--port", "--model", "--parallel", "--ctx-size", "--threads"})
            assertThat(serve.getCommandSpec().findOption(option)).as(option).isNotNull();
    }

    @Test
    void unknownModelFileIsAOneLineError() {
        assertThat(Main.execute("serve", "--model", "no/such/model.gguf", "--port", "0")).isEqualTo(1);
    }
}
