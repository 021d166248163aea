package dev.genset.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

class StoreSchemaTest {
    @Test
    void theSchemaVersionIsTheNewestMigration() throws Exception {
        Path dir = Path.of(Store.class.getResource("/db/migration").toURI());
        Pattern name = Pattern.compile("V(\\d+)__.*\\.sql");
        int newest;
        try (Stream<Path> files = Files.list(dir)) {
            newest = files.map(p -> name.matcher(p.getFileName().toString())).filter(Matcher::matches)
                    .mapToInt(m -> Integer.parseInt(m.group(1))).max().orElseThrow();
        }
        // opening skips Flyway when the history's newest version is this one: a new migration must raise it
        assertThat(Store.SCHEMA_VERSION).isEqualTo(newest);
    }

    @Test
    void aStoreOpensAgainOnItsMigratedSchema(@TempDir Path dir) {
        Database db = Database.sqlite(dir.resolve("genset.db"));
        try (Store first = Store.open(db)) {
            int applied = first.call(c -> Store.queryOne(c, "SELECT count(*) FROM flyway_schema_history WHERE success", rs -> rs.getInt(1)));
            assertThat(applied).isEqualTo(Store.SCHEMA_VERSION);
        }
        try (Store again = Store.open(db)) { // up to date: no migration, and the tables are there
            int rows = again.call(c -> Store.queryOne(c, "SELECT count(*) FROM usage_ledger", rs -> rs.getInt(1)));
            assertThat(rows).isZero();
        }
    }
}
