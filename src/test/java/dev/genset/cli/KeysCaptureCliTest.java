package dev.genset.cli;

import dev.genset.testing.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class KeysCaptureCliTest {
    @Test
    void captureIsTurnedOnAndOffPerKey(@TempDir Path dir) {
        String db = dir.resolve("genset.db").toString();
        var created = Cli.run("keys", "create", "--name", "logged", "--db", db);
        assertThat(created.exitCode()).as(created.err()).isZero();
        assertThat(created.out().lines().findFirst().orElseThrow()).startsWith("gs-");
        var on = Cli.run("keys", "update", "logged", "--capture", "on", "--db", db);
        assertThat(on.exitCode()).as(on.err()).isZero();
        assertThat(on.out()).contains("capture on");
        var off = Cli.run("keys", "update", "logged", "--capture", "off", "--db", db);
        assertThat(off.out()).doesNotContain("capture on");
        var bad = Cli.run("keys", "update", "logged", "--capture", "maybe", "--db", db);
        assertThat(bad.exitCode()).isEqualTo(1);
        assertThat(bad.err().strip()).isEqualTo("genset: --capture takes on or off, not maybe");
    }
}
