package dev.genset.cli;

import dev.genset.testing.Cli;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Option defaults from the optional configuration file; flags on the command line win. */
class ConfigFileTest {
    @AfterEach
    void clear() {
        System.clearProperty("genset.config");
    }

    @Test
    void defaultsComeFromTheFileAndFlagsWin(@TempDir Path dir) throws Exception {
        Path config = Files.writeString(dir.resolve("genset.properties"), """
                # the greedy reference run, configured once
                temp=0
                genset.run.n-predict=32
                model=%s
                """.formatted(TestFiles.storiesModel().toString().replace("\\\\", "\\\\\\\\")));
        System.setProperty("genset.config", config.toString());
        var r = Cli.run("run", "Once upon a time");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo(RunCommandTest.LLAMA_CPP_CONTINUATION);
        var shorter = Cli.run("run", "-n", "3", "Once upon a time");
        assertThat(shorter.out()).isEqualTo(", there was");
    }

    @Test
    void aNamedFileThatIsMissingIsAClearError(@TempDir Path dir) {
        System.setProperty("genset.config", dir.resolve("nope.properties").toString());
        var r = Cli.run("run", "hi");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err().strip()).isEqualTo("genset: configuration file not found: " + dir.resolve("nope.properties"));
    }
}
