package dev.genset.store;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThat;

/** Responses API responses in SQLite and in PostgreSQL: kept per owner, replaced by id, deleted by age. */
class StoredResponsesTest {
    @ParameterizedTest
    @EnumSource(Database.Kind.class)
    void keptPerOwner(Database.Kind kind) {
        try (Store s = Store.open(TestDatabases.fresh(kind))) {
            StoredResponses t = new StoredResponses(s);
            t.put("resp_1", "key 1", 1_000, new StoredResponses.Row("{\"id\":\"resp_1\"}", "[{\"role\":\"user\",\"content\":\"hi\"}]", "[]"));
            t.put("resp_2", null, 2_000, new StoredResponses.Row("{\"id\":\"resp_2\"}", "[]", "[{\"id\":\"msg_1\"}]"));
            assertThat(t.get("resp_1", "key 1")).isEqualTo(new StoredResponses.Row("{\"id\":\"resp_1\"}", "[{\"role\":\"user\",\"content\":\"hi\"}]", "[]"));
            assertThat(t.get("resp_1", "key 2")).isNull();
            assertThat(t.get("resp_1", null)).isNull();
            assertThat(t.get("resp_2", null).response()).isEqualTo("{\"id\":\"resp_2\"}");
            assertThat(t.get("resp_2", null).inputItems()).isEqualTo("[{\"id\":\"msg_1\"}]");
            assertThat(t.get("resp_2", "key 1")).isNull();

            t.put("resp_1", "key 1", 3_000, new StoredResponses.Row("{\"id\":\"resp_1\",\"v\":2}", "[]", "[]"));
            assertThat(t.get("resp_1", "key 1").response()).isEqualTo("{\"id\":\"resp_1\",\"v\":2}");

            assertThat(t.delete("resp_1", "key 2")).isFalse();
            assertThat(t.deleteBefore(2_500)).as("resp_2 only").isEqualTo(1);
            assertThat(t.get("resp_2", null)).isNull();
            assertThat(t.delete("resp_1", "key 1")).isTrue();
            assertThat(t.get("resp_1", "key 1")).isNull();
        }
    }
}
