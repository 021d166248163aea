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
        for (String option : new String[] {"--host", "--port", "--model", "--parallel", "--ctx-size", "--threads", "--db", "--redis",
                "--admin-key-file", "--open", "--keep-alive", "--memory-budget", "--no-warmup"})
            assertThat(serve.getCommandSpec().findOption(option)).as(option).isNotNull();
    }

    @Test
    void withoutKeysANonLoopbackHostIsRefusedUnlessOpen(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        String db = dir.resolve("genset.db").toString();
        assertThat(Main.execute("serve", "--host", "0.0.0.0", "--port", "0", "--db", db, "--threads", "1")).isEqualTo(1);
    }

    @Test
    void aStoreNameThatIsNotStoredIsAOneLineError() {
        assertThat(Main.execute("serve", "--model", "no-such-model:v9", "--port", "0")).isEqualTo(1);
    }

    @Test
    void unknownModelFileIsAOneLineError() {
        assertThat(Main.execute("serve", "--model", "no/such/model.gguf", "--port", "0")).isEqualTo(1);
    }
}
