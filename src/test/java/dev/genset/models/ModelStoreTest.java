package dev.genset.models;

import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelStoreTest {
    @TempDir Path home;

    @Test
    void importListShowCopyRemoveRoundTrip() throws Exception {
        ModelStore store = ModelStore.at(home);
        assertThat(store.list()).isEmpty();

        Manifest m = store.importGguf(TestFiles.storiesModel(), null);
        assertThat(m.ref()).isEqualTo(new ModelRef("stories260k", "latest"));
        assertThat(m.digest()).isEqualTo("sha256:" + ModelPullTest.STORIES_SHA);
        assertThat(m.size()).isEqualTo(1_185_376L);
        ModelDetails d = m.details();
        assertThat(d.architecture()).isEqualTo("llama");
        assertThat(d.parameters()).isEqualTo(292_800L);
        assertThat(ModelDetails.formatParameters(d.parameters())).isEqualTo("292.80K");
        assertThat(d.quantization()).isEqualTo("F32");
        assertThat(d.contextLength()).isEqualTo(128);
        assertThat(d.embeddingLength()).isEqualTo(64);
        assertThat(d.blockCount()).isEqualTo(5);
        assertThat(d.headCountKv()).isEqualTo(4);
        assertThat(d.vocabSize()).isEqualTo(512);
        assertThat(d.chatTemplate()).isFalse();

        // a manifest is a small JSON file; the blob is named by its hash
        Path manifest = home.resolve("models/manifests/stories260k/latest.json");
        assertThat(Files.readString(manifest)).contains("\"digest\" : \"sha256:" + ModelPullTest.STORIES_SHA + "\"");
        Path blob = home.resolve("models/blobs/sha256-" + ModelPullTest.STORIES_SHA);
        assertThat(store.resolve("stories260k")).isEqualTo(blob);
        assertThat(store.resolve("STORIES260K:latest")).isEqualTo(blob);

        Manifest alias = store.copy("stories260k", "team/tiny:v1");
        assertThat(alias.ref().toString()).isEqualTo("team/tiny:v1");
        assertThat(store.list()).extracting(x -> x.ref().toString()).containsExactly("stories260k:latest", "team/tiny:v1");
        assertThat(store.resolve("team/tiny:v1")).isEqualTo(blob);

        // importing the same bytes under another name shares the blob
        store.importGguf(TestFiles.storiesModel(), "again");
        try (var s = Files.list(home.resolve("models/blobs"))) {
            assertThat(s.count()).isEqualTo(1);
        }

        store.remove("stories260k");
        store.remove("again");
        assertThat(blob).exists(); // still named team/tiny:v1
        assertThatThrownBy(() -> store.resolve("stories260k")).isInstanceOf(ModelNotFoundException.class)
                .hasMessageContaining("model 'stories260k' not found");
        store.remove("team/tiny:v1");
        assertThat(blob).doesNotExist();
        assertThat(store.list()).isEmpty();
        assertThat(home.resolve("models/manifests/team")).doesNotExist();
        assertThatThrownBy(() -> store.remove("team/tiny:v1")).hasMessageContaining("not found in the store");
    }

    @Test
    void resolvePrefersAnExistingFile() throws Exception {
        ModelStore store = ModelStore.at(home);
        Path file = TestFiles.storiesModel();
        assertThat(store.resolve(file.toString())).isEqualTo(file);
        assertThatThrownBy(() -> store.resolve("no-such-model")).isInstanceOf(ModelNotFoundException.class)
                .hasMessageContaining("genset pull");
        assertThatThrownBy(() -> store.resolve("/no/such/file.gguf")).isInstanceOf(ModelNotFoundException.class)
                .hasMessageContaining("no such file");
    }

    @Test
    void importRejectsFilesThatAreNotGgufAndLeavesNothing() throws Exception {
        ModelStore store = ModelStore.at(home);
        Path junk = home.resolve("junk.gguf");
        Files.writeString(junk, "GGUF but not really");
        assertThatThrownBy(() -> store.importGguf(junk, null)).isInstanceOf(ModelStoreException.class)
                .hasMessageContaining("not a valid GGUF file");
        assertThat(store.list()).isEmpty();
        assertThat(home.resolve("models/blobs")).doesNotExist();
        try (var s = Files.list(home.resolve("models/tmp"))) {
            assertThat(s.count()).isZero();
        }
    }

    @Test
    void namesAndTags() {
        assertThat(ModelRef.parse("Llama3")).isEqualTo(new ModelRef("llama3", "latest"));
        assertThat(ModelRef.parse("team/llama3:Q4_K_M")).isEqualTo(new ModelRef("team/llama3", "q4_k_m"));
        assertThat(ModelRef.nameFromFile("Llama-3.2-1B-Instruct-Q4_K_M.gguf")).isEqualTo("llama-3.2-1b-instruct-q4_k_m");
        assertThat(ModelRef.nameFromFile("stories260K.bin")).isEqualTo("stories260k");
        assertThat(ModelRef.isValid("../etc")).isFalse();
        assertThat(ModelRef.isValid("a/../b")).isFalse();
        assertThat(ModelRef.isValid("x:")).isFalse();
        assertThat(ModelRef.isValid("/abs/path.gguf")).isFalse();
    }

    @Test
    void keepAliveDurations() {
        assertThat(KeepAlive.parse("5m").duration()).hasMinutes(5);
        assertThat(KeepAlive.parse("1h30m").duration()).hasMinutes(90);
        assertThat(KeepAlive.parse("250ms").duration()).hasMillis(250);
        assertThat(KeepAlive.parse("300").duration()).hasSeconds(300);
        assertThat(KeepAlive.parse("0").immediate()).isTrue();
        assertThat(KeepAlive.parse("-1").forever()).isTrue();
        assertThat(KeepAlive.parse("-5m").forever()).isTrue();
        assertThat(KeepAlive.parse(null)).isNull();
        assertThat(KeepAlive.parse("90s")).hasToString("90s");
        assertThatThrownBy(() -> KeepAlive.parse("soon")).hasMessageContaining("invalid keep_alive 'soon'");
    }
}
