package dev.genset.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DatasetStoreTest {
    @TempDir Path home;

    Path write(String name, String text) throws Exception {
        Path p = home.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    @Test
    void jsonlRoundTripWithVersionsHeadAndRemoval() throws Exception {
        DatasetStore store = DatasetStore.at(home);
        Path v1 = write("qa.jsonl", """
                {"question": "2+2?", "answer": "4", "difficulty": 1, "tags": ["math"], "meta": {"src": "a"}}
                {"question": "Capital of France?", "answer": "Paris", "difficulty": 2.5, "tags": [], "reviewed": true}

                {"question": "Empty?", "answer": null, "difficulty": 3}
                """);
        DatasetStore.Added a1 = store.add("qa", v1, null);
        assertThat(a1.created()).isTrue();
        DatasetInfo i1 = a1.info();
        assertThat(i1.ref()).isEqualTo("qa@1");
        assertThat(i1.rows()).isEqualTo(3);
        assertThat(i1.format()).isEqualTo("jsonl");
        assertThat(i1.sha256()).isEqualTo(dev.genset.models.Digests.sha256(v1));

        Schema s = i1.schema();
        assertThat(s.fields()).extracting(Schema.Field::name).containsExactly("question", "answer", "difficulty", "tags", "meta", "reviewed");
        assertThat(s.field("question").types()).containsExactly("string");
        assertThat(s.field("question").required()).isTrue();
        assertThat(s.field("answer").types()).containsExactly("null", "string");
        assertThat(s.field("answer").display()).isEqualTo("string?");
        assertThat(s.field("difficulty").types()).containsExactly("float"); // int and float make float
        assertThat(s.field("tags").types()).containsExactly("array");
        assertThat(s.field("meta").types()).containsExactly("object");
        assertThat(s.field("reviewed").types()).containsExactly("bool");
        assertThat(s.field("reviewed").required()).isFalse();
        assertThat(s.field("reviewed").display()).isEqualTo("bool?");

        // the same bytes again make no new version
        assertThat(store.add("qa", v1, null).created()).isFalse();

        Path v2 = write("qa2.jsonl", "{\"question\": \"1+1?\", \"answer\": \"2\"}\n");
        assertThat(store.add("qa", v2, null).info().ref()).isEqualTo("qa@2");
        store.add("other", v2, null);

        assertThat(store.list()).extracting(DatasetInfo::ref).containsExactly("other@1", "qa@1", "qa@2");
        assertThat(store.info("qa").version()).isEqualTo(2);
        assertThat(store.info("qa@latest").version()).isEqualTo(2);

        // evaluation reads a dataset by name
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Map<String, Object> r : store.open("qa@1")) rows.add(r);
        assertThat(rows).hasSize(3);
        assertThat(rows.get(0)).containsEntry("question", "2+2?").containsEntry("difficulty", 1).containsEntry("tags", List.of("math"));
        assertThat(rows.get(1)).containsEntry("difficulty", 2.5).containsEntry("reviewed", true);
        assertThat(store.open("qa@1").head(2)).hasSize(2);
        assertThat(store.open("qa").head(10)).singleElement().satisfies(r -> assertThat(r).containsEntry("answer", "2"));

        // removing a version keeps the others and never reuses its number
        assertThat(store.remove("qa@2")).extracting(DatasetInfo::ref).containsExactly("qa@2");
        assertThat(store.versions("qa")).extracting(DatasetInfo::ref).containsExactly("qa@1");
        assertThat(store.add("qa", v2, null).info().ref()).isEqualTo("qa@3");
        assertThatThrownBy(() -> store.info("qa@2")).isInstanceOf(DatasetStore.NoSuchDatasetException.class)
                .hasMessageContaining("qa@2 not found; versions: qa@1, qa@3");

        assertThat(store.remove("qa")).extracting(DatasetInfo::ref).containsExactly("qa@1", "qa@3");
        assertThat(store.list()).extracting(DatasetInfo::ref).containsExactly("other@1");
        assertThat(home.resolve("datasets/qa")).doesNotExist();
        assertThatThrownBy(() -> store.open("qa")).hasMessageContaining("dataset 'qa' not found");
    }

    @Test
    void csvSchemaInferenceAndTypedRows() throws Exception {
        DatasetStore store = DatasetStore.at(home);
        Path csv = write("people.csv", "\uFEFFid,name,score,active,zip,notes,empty\r\n"
                + "1,Ada,3.5,true,00123,\"likes \"\"quotes\"\", commas\",\r\n"
                + "2,Bob,4,FALSE,90210,\"two\nlines\",\r\n"
                + "3,,1e3,true,10001,,\r\n");
        DatasetInfo i = store.add("people", csv, null).info();
        assertThat(i.rows()).isEqualTo(3);
        Schema s = i.schema();
        assertThat(s.fields()).extracting(Schema.Field::name).containsExactly("id", "name", "score", "active", "zip", "notes", "empty");
        assertThat(s.fields()).extracting(Schema.Field::display)
                .containsExactly("int", "string?", "float", "bool", "string", "string?", "null");

        List<Map<String, Object>> rows = store.open("people").head(10);
        assertThat(rows.get(0)).containsEntry("id", 1L).containsEntry("name", "Ada").containsEntry("score", 3.5)
                .containsEntry("active", true).containsEntry("zip", "00123").containsEntry("notes", "likes \"quotes\", commas");
        assertThat(rows.get(1)).containsEntry("score", 4.0).containsEntry("active", false).containsEntry("notes", "two\nlines");
        assertThat(rows.get(2)).containsEntry("name", null).containsEntry("score", 1000.0).containsEntry("empty", null);
    }

    @Test
    void badInputIsRejectedWithTheLineAndNothingIsStored() throws Exception {
        DatasetStore store = DatasetStore.at(home);
        Path bad = write("bad.jsonl", "{\"a\": 1}\n[1, 2]\n");
        assertThatThrownBy(() -> store.add("bad", bad, null)).hasMessageContaining("bad.jsonl line 2: not a JSON object");
        Path broken = write("broken.jsonl", "{\"a\": 1}\n{\"a\": \n");
        assertThatThrownBy(() -> store.add("bad", broken, null)).hasMessageContaining("broken.jsonl line 2: invalid JSON");
        Path ragged = write("ragged.csv", "a,b\n1,2\n3\n");
        assertThatThrownBy(() -> store.add("bad", ragged, null)).hasMessageContaining("ragged.csv line 3: 1 fields, the header has 2");
        Path parquet = write("x.parquet", "PAR1");
        assertThatThrownBy(() -> store.add("bad", parquet, null)).hasMessageContaining("Parquet is not supported");
        assertThatThrownBy(() -> store.add("Bad Name", bad, null)).hasMessageContaining("invalid dataset name");
        assertThat(store.list()).isEmpty();
        try (var files = Files.list(home.resolve("datasets/.tmp"))) {
            assertThat(files.count()).isZero();
        }
    }

    @Test
    void captureLogAppendsAndExportsAsADataset() throws Exception {
        try (CaptureLog log = CaptureLog.at(home)) {
            log.append(new CaptureLog.Capture(java.time.Instant.parse("2025-01-01T10:00:00Z"), "req-1", "key-a", "stories", "/v1/completions",
                    "Once upon a time", ", there was", 5, 3, "length", null));
            log.append(new CaptureLog.Capture(java.time.Instant.parse("2025-01-02T09:00:00Z"), "req-2", "key-a", "stories", "/v1/chat/completions",
                    List.of(Map.of("role", "user", "content", "Hi")), "Hello", 4, 1, "stop", Map.of("temperature", 0.0)));
            log.append(Map.of("prompt", "now", "completion", "later"));
        }
        assertThat(home.resolve("captures/2025-01-01.jsonl")).exists();
        CaptureLog log = CaptureLog.at(home);
        Path all = home.resolve("all.jsonl");
        assertThat(log.export(null, all)).isEqualTo(3);
        Path recent = home.resolve("recent.jsonl");
        assertThat(log.export(java.time.Instant.parse("2025-01-02T00:00:00Z"), recent)).isEqualTo(2);

        DatasetStore store = DatasetStore.at(home);
        DatasetInfo i = store.add("captured", recent, null).info();
        assertThat(i.rows()).isEqualTo(2);
        assertThat(i.schema().field("prompt").types()).containsExactly("array", "string");
        Map<String, Object> first = store.open("captured").head(1).getFirst();
        assertThat(first).containsEntry("request_id", "req-2").containsEntry("completion", "Hello").containsEntry("temperature", 0.0)
                .containsEntry("time", "2025-01-02T09:00:00Z");
    }
}
