package dev.genset.models;

import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Pulls over real HTTP from a local server laid out like Hugging Face, serving the bundled model. */
class ModelPullTest {
    static final String STORIES_SHA = "047bf46455a544931cff6fef14d7910154c56afbc23ab1c5e56a72e69912c04b";
    static HfTestServer server;
    static byte[] model;

    @TempDir Path home;
    ModelStore store;

    @BeforeAll
    static void start() throws IOException {
        model = Files.readAllBytes(TestFiles.storiesModel());
        server = new HfTestServer();
        server.put("stories260K.gguf", model);
        server.put("notgguf.gguf", "this is not a model at all".repeat(1000).getBytes(StandardCharsets.UTF_8));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @BeforeEach
    void reset() {
        server.requests.clear();
        server.cuts.set(0);
        server.statedSha.clear();
        store = ModelStore.at(home);
    }

    PullOptions options() {
        return PullOptions.defaults().withEnv(Map.of("HF_ENDPOINT", server.endpoint() + "/", "HF_TOKEN", "hf_test_token"))
                .withRetries(3, Duration.ofMillis(20));
    }

    List<Path> filesUnder(Path dir) throws IOException {
        if (!Files.exists(dir)) return List.of();
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).toList();
        }
    }

    @Test
    void droppedConnectionResumesWithRangeAndTheHashMatches() throws Exception {
        server.cuts.set(1);
        server.cutAfter = 300_000;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ProgressBar bar = new ProgressBar(new PrintStream(err, true, StandardCharsets.UTF_8), false);

        Manifest m = store.pull("hf://karpathy/tinyllamas/stories260K.gguf", options().withProgress(bar));

        assertThat(m.ref().toString()).isEqualTo("stories260k:latest");
        assertThat(m.digest()).isEqualTo("sha256:" + STORIES_SHA);
        assertThat(m.size()).isEqualTo(model.length);
        assertThat(m.source()).isEqualTo("hf://karpathy/tinyllamas/stories260K.gguf");
        assertThat(m.details().architecture()).isEqualTo("llama");
        Path blob = store.resolve("stories260k");
        assertThat(blob).isEqualTo(store.blobPath(STORIES_SHA));
        assertThat(Digests.sha256(blob)).isEqualTo(STORIES_SHA);
        assertThat(Files.mismatch(blob, TestFiles.storiesModel())).isEqualTo(-1);

        // the second file request resumed where the first was cut
        List<HfTestServer.Request> fileRequests = server.requests.stream().filter(r -> r.path().startsWith("/cdn/")).toList();
        assertThat(fileRequests).hasSize(2);
        assertThat(fileRequests.get(0).range()).isNull();
        assertThat(fileRequests.get(1).range()).matches("bytes=\\d+-");
        long resumedAt = Long.parseLong(fileRequests.get(1).range().replaceAll("\\D", ""));
        assertThat(resumedAt).isPositive().isLessThanOrEqualTo(300_000);
        // the token goes to the Hugging Face origin, never to the CDN it redirects to
        assertThat(server.requests.stream().filter(r -> r.path().contains("/resolve/main/")))
                .allSatisfy(r -> assertThat(r.authorization()).isEqualTo("Bearer hf_test_token"));
        assertThat(fileRequests).allSatisfy(r -> assertThat(r.authorization()).isNull());

        assertThat(filesUnder(store.root().resolve("partial"))).isEmpty();
        String progress = err.toString(StandardCharsets.UTF_8);
        assertThat(progress).contains("pulling stories260k:latest").contains("retrying");
        assertThat(progress.lines().count()).isLessThan(10);
    }

    @Test
    void interruptedPullKeepsThePartialFileAndTheNextPullResumesIt() throws Exception {
        server.cuts.set(1);
        server.cutAfter = 500_000;
        assertThatThrownBy(() -> store.pull("hf://karpathy/tinyllamas/stories260K.gguf", options().withRetries(0, Duration.ZERO)))
                .isInstanceOf(ModelStoreException.class)
                .hasMessageContaining("download of hf://karpathy/tinyllamas/stories260K.gguf")
                .hasMessageContaining("run the same pull again to resume");
        assertThat(store.list()).isEmpty();
        assertThat(filesUnder(store.root().resolve("blobs"))).isEmpty();
        List<Path> partial = filesUnder(store.root().resolve("partial"));
        assertThat(partial).anySatisfy(p -> assertThat(p.getFileName().toString()).endsWith(".partial"));
        long kept = Files.size(partial.stream().filter(p -> p.toString().endsWith(".partial")).findFirst().orElseThrow());
        assertThat(kept).isPositive();

        server.requests.clear();
        Manifest m = store.pull("hf://karpathy/tinyllamas/stories260K.gguf", options().withName("stories:resumed"));
        assertThat(m.digest()).isEqualTo("sha256:" + STORIES_SHA);
        assertThat(server.requests.stream().filter(r -> r.path().startsWith("/cdn/")).findFirst().orElseThrow().range())
                .isEqualTo("bytes=" + kept + "-");
        assertThat(filesUnder(store.root().resolve("partial"))).isEmpty();
    }

    @Test
    void wrongChecksumIsRejectedAndNothingIsLeftInTheStore() throws Exception {
        String wrong = "0".repeat(64);
        assertThatThrownBy(() -> store.pull("hf://karpathy/tinyllamas/stories260K.gguf", options().withSha256(wrong)))
                .isInstanceOf(ModelStoreException.class)
                .hasMessageContaining("checksum mismatch")
                .hasMessageContaining("expected sha256 " + wrong + " (--sha256)")
                .hasMessageContaining("got " + STORIES_SHA);
        assertThat(store.list()).isEmpty();
        assertThat(filesUnder(store.root())).isEmpty();
    }

    @Test
    void checksumStatedByTheServerIsVerified() throws Exception {
        server.statedSha.put("stories260K.gguf", "ab".repeat(32));
        assertThatThrownBy(() -> store.pull("hf://karpathy/tinyllamas/stories260K.gguf", options()))
                .hasMessageContaining("checksum mismatch").hasMessageContaining("(stated by the server)");
        assertThat(filesUnder(store.root())).isEmpty();

        // a plain URL whose ETag is the SHA-256 is verified the same way
        assertThatThrownBy(() -> store.pull(server.endpoint() + "/direct/stories260K.gguf", options()))
                .hasMessageContaining("checksum mismatch");
        server.statedSha.clear();
        Manifest m = store.pull(server.endpoint() + "/direct/stories260K.gguf", options().withSha256("SHA256:" + STORIES_SHA.toUpperCase()));
        assertThat(m.sha256()).isEqualTo(STORIES_SHA);
    }

    @Test
    void aSecondPullOfTheSameUrlWhileOneRunsIsRefused() throws Exception {
        String source = "hf://karpathy/tinyllamas/stories260K.gguf";
        var resolved = ModelPuller.resolveSource(source, options().env());
        String key = Digests.sha256(resolved.uri().toString().getBytes(StandardCharsets.UTF_8)).substring(0, 16);
        Path partial = store.root().resolve("partial");
        Files.createDirectories(partial);
        try (var ch = java.nio.channels.FileChannel.open(partial.resolve("stories260K.gguf." + key + ".lock"),
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE); var lock = ch.lock()) {
            assertThatThrownBy(() -> store.pull(source, options())).hasMessageStartingWith("another pull of " + source).hasMessageContaining("is running");
        }
        assertThat(store.pull(source, options()).sha256()).isEqualTo(STORIES_SHA);
        assertThat(filesUnder(partial)).isEmpty();
    }

    @Test
    void notFoundNamesTheUrl() {
        assertThatThrownBy(() -> store.pull("hf://karpathy/tinyllamas/missing.gguf", options()))
                .isInstanceOf(ModelStoreException.class)
                .hasMessageContaining("not found (HTTP 404)")
                .hasMessageContaining(server.endpoint() + "/karpathy/tinyllamas/resolve/main/missing.gguf");
        assertThatThrownBy(() -> store.pull(server.endpoint() + "/nothing/here.gguf", options()))
                .hasMessage("not found (HTTP 404): " + server.endpoint() + "/nothing/here.gguf");
    }

    @Test
    void aFileThatIsNotGgufIsRejected() throws Exception {
        assertThatThrownBy(() -> store.pull("hf://a/b/notgguf.gguf", options()))
                .isInstanceOf(ModelStoreException.class)
                .hasMessageContaining("is not a valid GGUF file");
        assertThat(filesUnder(store.root())).isEmpty();
    }

    @Test
    void unreachableServerFailsAtOnceWithOneLine() throws Exception {
        int port;
        try (var s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String url = "http://127.0.0.1:" + port + "/x.gguf";
        assertThatThrownBy(() -> store.pull(url, options()))
                .isInstanceOf(ModelStoreException.class)
                .hasMessageStartingWith("download of " + url + " failed");
    }

    @Test
    void sourcesResolveLikeHuggingFaceHub() {
        var s = ModelPuller.resolveSource("hf://bartowski/Llama-3.2-1B-Instruct-GGUF/Llama-3.2-1B-Instruct-Q4_K_M.gguf", Map.of());
        assertThat(s.uri().toString()).isEqualTo("https://huggingface.co/bartowski/Llama-3.2-1B-Instruct-GGUF/resolve/main/Llama-3.2-1B-Instruct-Q4_K_M.gguf");
        assertThat(ModelRef.nameFromFile(s.fileName())).isEqualTo("llama-3.2-1b-instruct-q4_k_m");
        var mirror = ModelPuller.resolveSource("hf://o/r@v1.0/sub dir/f.gguf", Map.of("HF_ENDPOINT", "https://hf-mirror.example/"));
        assertThat(mirror.uri().toString()).isEqualTo("https://hf-mirror.example/o/r/resolve/v1.0/sub%20dir/f.gguf");
        assertThatThrownBy(() -> ModelPuller.resolveSource("hf://only/two", Map.of())).hasMessageContaining("hf://OWNER/REPO/FILE.gguf");
        assertThatThrownBy(() -> ModelPuller.resolveSource("ftp://x/y.gguf", Map.of())).hasMessageContaining("cannot pull");
    }

    @Test
    void progressBarIsThrottled() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long[] now = {0};
        ProgressBar bar = new ProgressBar(new PrintStream(out, true, StandardCharsets.UTF_8), true, () -> now[0]);
        bar.start("pulling x", 0, 10_000_000);
        for (int i = 1; i <= 10_000; i++) { // 10,000 updates over two simulated seconds
            now[0] = i * 200_000L;
            bar.update(i * 1000L);
        }
        bar.end();
        String s = out.toString(StandardCharsets.UTF_8);
        long redraws = s.chars().filter(c -> c == '\r').count();
        assertThat(redraws).isBetween(15L, 25L);
        assertThat(s).contains("100%").contains("10.0 MB/10.0 MB").contains("MB/s");

        ByteArrayOutputStream plain = new ByteArrayOutputStream();
        ProgressBar lines = new ProgressBar(new PrintStream(plain, true, StandardCharsets.UTF_8), false, () -> now[0]);
        now[0] = 0;
        lines.start("pulling y", 0, 1000);
        for (int i = 1; i <= 1000; i++) {
            now[0] = i * 1_000_000L;
            lines.update(i);
        }
        lines.end();
        assertThat(plain.toString(StandardCharsets.UTF_8)).doesNotContain("\r");
        assertThat(plain.toString(StandardCharsets.UTF_8).lines().count()).isLessThanOrEqualTo(3);
    }
}
