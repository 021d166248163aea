package dev.genset.cli;

import dev.genset.testing.Cli;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class DeploymentsCommandTest {
    @Test
    void addListStrategyRemove(@TempDir Path dir) throws Exception {
        String db = dir.resolve("genset.db").toString();
        assertThat(Cli.run("deployments", "add", "local-1", "--model", "stories", "--db", db).exitCode()).isZero();
        var up = Cli.run("deployments", "add", "vllm-a", "--model", "stories", "--url", "http://127.0.0.1:9/v1",
                "--upstream-model", "tiny", "--priority", "1", "--weight", "3", "--db", db);
        assertThat(up.exitCode()).as(up.err()).isZero();
        assertThat(up.out()).contains("vllm-a: stories -> http://127.0.0.1:9/v1");

        var list = Cli.run("deployments", "list", "--json", "--db", db);
        var rows = new ObjectMapper().readTree(list.out());
        assertThat(rows.size()).isEqualTo(2);
        assertThat(rows.get(0).get("name").asText()).isEqualTo("local-1");
        assertThat(rows.get(0).get("provider").asText()).isEqualTo("local");
        assertThat(rows.get(1).get("upstream_model").asText()).isEqualTo("tiny");
        assertThat(rows.get(1).get("weight").asInt()).isEqualTo(3);

        assertThat(Cli.run("deployments", "strategy", "stories", "weighted", "--db", db).exitCode()).isZero();
        var bad = Cli.run("deployments", "strategy", "stories", "random", "--db", db);
        assertThat(bad.exitCode()).isEqualTo(1);
        assertThat(bad.err()).contains("unknown strategy random");

        assertThat(Cli.run("deployments", "remove", "vllm-a", "--db", db).exitCode()).isZero();
        var missing = Cli.run("deployments", "remove", "vllm-a", "--db", db);
        assertThat(missing.err().strip()).isEqualTo("genset: no deployment named vllm-a");
        assertThat(new ObjectMapper().readTree(Cli.run("deployments", "list", "--json", "--db", db).out()).size()).isEqualTo(1);
    }

    @Test
    void missingKeyVariableIsNamed(@TempDir Path dir) {
        var r = Cli.run("deployments", "add", "x", "--model", "m", "--url", "http://127.0.0.1:9/v1",
                "--api-key-env", "GENSET_TEST_NO_SUCH_VARIABLE", "--db", dir.resolve("g.db").toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err().strip()).isEqualTo("genset: --api-key-env: environment variable GENSET_TEST_NO_SUCH_VARIABLE is not set");
    }
}
