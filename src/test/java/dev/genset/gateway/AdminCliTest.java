package dev.genset.gateway;

import dev.genset.testing.Cli;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.genset.store.Database;
import dev.genset.store.Store;
import dev.genset.store.TestDatabases;
import org.junit.jupiter.api.Test;


import static org.assertj.core.api.Assertions.assertThat;

/** The admin commands of the CLI against a store that a gateway then uses. */
class AdminCliTest {
    static Cli.Result cli(String... args) {
        return Cli.run(args);
    }

    @Test
    void keysTeamsPricesAndUsage() throws Exception {
        Database db = TestDatabases.freshSqlite();
        String url = db.jdbcUrl();
        Cli.Result team = cli("teams", "create", "research", "--db", url, "--rpm", "100", "--budget", "50", "--period", "weekly");
        assertThat(team.exitCode()).as(team.err()).isZero();
        assertThat(team.out()).contains("research").contains("budget=$50.00/weekly");

        Cli.Result created = cli("keys", "create", "--db", url, "--name", "ci", "--team", "research", "--models", "m1,m2",
                "--rpm", "10", "--budget", "10.00", "--period", "daily", "--expires", "30d");
        assertThat(created.exitCode()).as(created.err()).isZero();
        String key = created.out().lines().findFirst().orElseThrow();
        assertThat(key).matches("gs-[0-9A-Za-z]{43}");
        assertThat(created.err()).doesNotContain(key);

        Cli.Result list = cli("keys", "list", "--db", url);
        assertThat(list.out()).contains("ci").contains(key.substring(0, 11)).doesNotContain(key).contains("research").contains("active");

        Cli.Result prices = cli("prices", "set", "m1", "--db", url, "--input", "0.15", "--output", "0.60", "--cached-input", "0.075");
        assertThat(prices.exitCode()).as(prices.err()).isZero();
        assertThat(cli("prices", "list", "--db", url).out()).contains("m1").contains("$0.15").contains("$0.075");

        try (Store s = Store.open(db); Gateway g = new Gateway(s, new dev.genset.gateway.ratelimit.LocalRateLimiter(), GatewayConfig.of(db))) {
            for (int i = 0; i < 3; i++) g.settle(g.admit(key, "m1", 1000, 100), Usage.of(1000, 100), "ok");
            g.settle(g.admit(key, "m2", 10, 10), Usage.of(10, 10), "error");
        }

        Cli.Result usage = cli("usage", "--db", url, "--key", "ci", "--by", "model", "--json");
        assertThat(usage.exitCode()).as(usage.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(usage.out());
        assertThat(j.at("/totals/requests").asLong()).isEqualTo(4);
        assertThat(j.at("/totals/prompt_tokens").asLong()).isEqualTo(3010);
        assertThat(j.at("/totals/completion_tokens").asLong()).isEqualTo(310);
        assertThat(j.at("/totals/cost").decimalValue()).isEqualByComparingTo("0.00063"); // 3 * (1000 * 0.15 + 100 * 0.6) / 1e6
        assertThat(j.at("/groups/0/group").asText()).isEqualTo("m1");
        assertThat(j.at("/groups/1/requests").asLong()).isEqualTo(1);
        assertThat(cli("usage", "--db", url, "--team", "research", "--since", "1d", "--by", "day").out()).contains("total").contains("$0.00063");

        Cli.Result show = cli("keys", "show", "ci", "--db", url);
        assertThat(show.out()).contains("$0.00063 this daily period");

        Cli.Result revoke = cli("keys", "revoke", "ci", "--db", url);
        assertThat(revoke.out()).contains("revoked");
        assertThat(cli("keys", "list", "--db", url).out()).contains("revoked");
        Cli.Result missing = cli("keys", "revoke", "nope", "--db", url);
        assertThat(missing.exitCode()).isEqualTo(1);
        assertThat(missing.err()).contains("no key nope");
        Cli.Result badTeam = cli("keys", "create", "--db", url, "--name", "x", "--team", "ghost");
        assertThat(badTeam.exitCode()).isEqualTo(1);
        assertThat(badTeam.err()).contains("no team ghost");
    }
}
