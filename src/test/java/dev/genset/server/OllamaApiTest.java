package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.genset.models.KeepAlive;
import dev.genset.models.ModelStore;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Ollama's native routes and models loaded on request with a keep-alive, on a live server with a model store. */
@Timeout(120)
class OllamaApiTest {
    @TempDir
    static Path home;
    static TestServer s;

    @BeforeAll
    static void start() throws Exception {
        ModelStore store = ModelStore.at(home);
        store.importGguf(TestFiles.storiesModel(), "stories:latest");
        s = new TestServer(c -> c, ServeOptions.none().withStore(store).withKeepAlive(KeepAlive.parse("30s")));
    }

    @AfterAll
    static void stop() {
        s.close();
    }

    static List<JsonNode> lines(TestServer.Reply r) {
        assertThat(r.raw().headers().firstValue("Content-Type").orElse("")).startsWith("application/x-ndjson");
        return r.raw().body().lines().filter(l -> !l.isBlank()).map(TestServer::parse).toList();
    }

    static List<String> loaded() throws Exception {
        return s.get("/api/ps").json().get("models").findValuesAsText("name");
    }

    @Test
    void embedGivesOneVectorPerInputAndTruncatesByDefault() throws Exception {
        var r = s.post("/api/embed", "{\"model\":\"stories\",\"input\":[\"Once upon a time\",\"a cat\"]}");
        assertThat(r.status()).as(r.raw().body()).isEqualTo(200);
        assertThat(r.json().get("model").asText()).isEqualTo("stories");
        assertThat(r.json().get("embeddings")).hasSize(2);
        var openAi = s.post("/v1/embeddings", "{\"model\":\"stories\",\"input\":\"Once upon a time\"}");
        assertThat(r.json().at("/embeddings/0")).isEqualTo(openAi.json().at("/data/0/embedding"));
        assertThat(r.json().get("prompt_eval_count").asLong()).isGreaterThan(openAi.json().at("/usage/prompt_tokens").asLong());
        String tooLong = "{\"model\":\"stories\",\"input\":\"" + "Once upon a time there was a cat. ".repeat(200) + "\"%s}";
        var cut = s.post("/api/embed", tooLong.formatted(""));
        assertThat(cut.status()).as(cut.raw().body()).isEqualTo(200);
        assertThat(cut.json().get("prompt_eval_count").asInt()).isEqualTo(s.server.scheduler("stories:latest").contextSize());
        var refused = s.post("/api/embed", tooLong.formatted(",\"truncate\":false"));
        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.json().get("error").asText()).contains("context size");
        assertThat(s.post("/api/embed", "{\"model\":\"stories\"}").status()).isEqualTo(400);
        var older = s.post("/api/embeddings", "{\"model\":\"stories\",\"prompt\":\"Once upon a time\"}");
        assertThat(older.status()).as(older.raw().body()).isEqualTo(200);
        assertThat(older.json().get("embedding")).isEqualTo(openAi.json().at("/data/0/embedding"));
        assertThat(s.post("/api/embeddings", "{\"model\":\"stories\"}").json().get("error").asText()).contains("prompt");
    }

    /** As Ollama answers: a model whose template knows no thinking refuses think: true; false and no think are plain chats. */
    @Test
    void aModelWithoutThinkingRefusesThink() throws Exception {
        String chat = "{\"model\":\"stories\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"stream\":false,\"options\":{\"num_predict\":2}";
        var refused = s.post("/api/chat", chat + ",\"think\":true}");
        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.json().get("error").asText()).contains("does not support thinking");
        assertThat(s.post("/api/chat", chat + ",\"think\":false}").status()).isEqualTo(200);
        assertThat(s.post("/api/chat", chat + "}").status()).isEqualTo(200);
    }

    @Test
    void version() throws Exception {
        var r = s.get("/api/version");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("version").asText()).matches("\\d+\\.\\d+\\.\\d+");
    }

    @Test
    void tagsListTheStoreAndTheConfiguredModels() throws Exception {
        JsonNode models = s.get("/api/tags").json().get("models");
        assertThat(models.findValuesAsText("name")).contains("stories:latest", "stories260K");
        for (JsonNode m : models) {
            if (!m.get("name").asText().equals("stories:latest")) continue;
            assertThat(m.get("model").asText()).isEqualTo("stories:latest");
            assertThat(m.get("digest").asText()).matches("[0-9a-f]{64}");
            assertThat(m.get("size").asLong()).isEqualTo(Files.size(TestFiles.storiesModel()));
            assertThat(m.get("modified_at").asText()).isNotEmpty();
            JsonNode d = m.get("details");
            assertThat(d.get("format").asText()).isEqualTo("gguf");
            assertThat(d.get("family").asText()).isEqualTo("llama");
            assertThat(d.get("families").get(0).asText()).isEqualTo("llama");
            assertThat(d.get("parameter_size").asText()).isNotEmpty();
            assertThat(d.has("quantization_level")).isTrue();
        }
        // and /v1/models offers them too
        assertThat(s.get("/v1/models").json().get("data").findValuesAsText("id")).contains("stories:latest", "stories260K");
    }

    @Test
    void showDescribesAModel() throws Exception {
        var r = s.post("/api/show", "{\"model\":\"stories\"}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().at("/details/family").asText()).isEqualTo("llama");
        assertThat(r.json().at("/model_info/general.architecture").asText()).isEqualTo("llama");
        assertThat(r.json().at("/model_info/llama.context_length").asInt()).isPositive();
        assertThat(r.json().get("template").asText()).isNotEmpty();
        assertThat(r.json().get("modelfile").asText()).contains("FROM stories:latest");
        assertThat(r.json().get("capabilities").get(0).asText()).isEqualTo("completion");
        var missing = s.post("/api/show", "{\"model\":\"nothing-here\"}");
        assertThat(missing.status()).isEqualTo(404);
        assertThat(missing.json().get("error").asText()).contains("nothing-here");
    }

    /** Mirostat 2.0 with a target surprise near zero keeps only the likeliest token: the greedy text, even at temperature 1. */
    @Test
    void mirostatOptionsAreHonoured() throws Exception {
        String greedy = s.post("/api/generate", "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"stream\":false,"
                + "\"options\":{\"temperature\":0,\"num_predict\":24}}").json().get("response").asText();
        var r = s.post("/api/generate", "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"stream\":false,"
                + "\"options\":{\"temperature\":1,\"seed\":5,\"num_predict\":24,\"mirostat\":2,\"mirostat_tau\":0.01,\"mirostat_eta\":0.1,\"typical_p\":0.9}}");
        assertThat(r.status()).as(String.valueOf(r.json())).isEqualTo(200);
        assertThat(r.json().get("response").asText()).isEqualTo(greedy);
        var free = s.post("/api/generate", "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"stream\":false,"
                + "\"options\":{\"temperature\":1.5,\"top_k\":0,\"top_p\":1,\"min_p\":0,\"seed\":5,\"num_predict\":24}}");
        assertThat(free.json().get("response").asText()).as("without Mirostat the same seed wanders").isNotEqualTo(greedy);
    }

    @Test
    void generateWholeAndStreamed() throws Exception {
        String body = "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"options\":{\"temperature\":0,\"num_predict\":8}";
        var whole = s.post("/api/generate", body + ",\"stream\":false}");
        assertThat(whole.status()).isEqualTo(200);
        JsonNode w = whole.json();
        String expected = s.post("/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":8,\"temperature\":0}").json().at("/choices/0/text").asText();
        assertThat(w.get("response").asText()).isEqualTo(expected);
        assertThat(w.get("model").asText()).isEqualTo("stories260K");
        assertThat(w.get("created_at").asText()).endsWith("Z");
        assertThat(w.get("done").asBoolean()).isTrue();
        assertThat(w.get("done_reason").asText()).isEqualTo("length");
        assertThat(w.get("eval_count").asInt()).isEqualTo(8);
        assertThat(w.get("prompt_eval_count").asInt()).isEqualTo(5);
        for (String f : new String[] {"total_duration", "load_duration", "prompt_eval_duration", "eval_duration"})
            assertThat(w.get(f).isIntegralNumber()).as(f).isTrue();
        assertThat(w.get("total_duration").asLong()).isGreaterThanOrEqualTo(w.get("eval_duration").asLong()).isPositive();

        List<JsonNode> parts = lines(s.post("/api/generate", body + "}")); // streams by default
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < parts.size(); i++) {
            JsonNode p = parts.get(i);
            assertThat(p.get("done").asBoolean()).isEqualTo(i == parts.size() - 1);
            text.append(p.get("response").asText());
        }
        assertThat(text.toString()).isEqualTo(expected);
        assertThat(parts.getLast().get("eval_count").asInt()).isEqualTo(8);
        assertThat(parts.getLast().get("done_reason").asText()).isEqualTo("length");
    }

    @Test
    void chatWholeAndStreamed() throws Exception {
        String body = "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story\"}],\"options\":{\"temperature\":0,\"num_predict\":6}";
        JsonNode w = s.post("/api/chat", body + ",\"stream\":false}").json();
        assertThat(w.at("/message/role").asText()).isEqualTo("assistant");
        assertThat(w.get("done").asBoolean()).isTrue();
        assertThat(w.get("eval_count").asInt()).isEqualTo(6);
        assertThat(w.get("prompt_eval_count").asInt()).isPositive();
        List<JsonNode> parts = lines(s.post("/api/chat", body + ",\"stream\":true}"));
        StringBuilder text = new StringBuilder();
        for (JsonNode p : parts) {
            assertThat(p.at("/message/role").asText()).isEqualTo("assistant");
            text.append(p.at("/message/content").asText());
        }
        assertThat(parts.getLast().get("done").asBoolean()).isTrue();
        assertThat(text.toString()).isEqualTo(w.at("/message/content").asText());
    }

    @Test
    void aStoreModelLoadsOnRequestAndUnloadsAfterItsKeepAlive() throws Exception {
        s.post("/api/generate", "{\"model\":\"stories\",\"keep_alive\":0}"); // not loaded to begin with
        assertThat(loaded()).doesNotContain("stories:latest");
        // OpenAI route: 503 while it loads, then served
        var first = s.post("/v1/completions", "{\"model\":\"stories\",\"prompt\":\"Once\",\"max_tokens\":3,\"keep_alive\":\"1s\"}");
        assertThat(first.status()).isEqualTo(503);
        assertThat(first.json().at("/error/code").asText()).isEqualTo("model_loading");
        assertThat(first.raw().headers().firstValue("Retry-After")).isPresent();
        TestServer.Reply ok = null;
        for (long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos(); System.nanoTime() < deadline; Thread.sleep(50)) {
            ok = s.post("/v1/completions", "{\"model\":\"stories\",\"prompt\":\"Once\",\"max_tokens\":3,\"keep_alive\":\"1s\"}");
            if (ok.status() != 503) break;
        }
        assertThat(ok.status()).isEqualTo(200);
        assertThat(ok.json().get("model").asText()).isEqualTo("stories:latest");
        JsonNode ps = s.get("/api/ps").json().get("models");
        JsonNode entry = null;
        for (JsonNode m : ps) if (m.get("name").asText().equals("stories:latest")) entry = m;
        assertThat(entry).isNotNull();
        assertThat(entry.get("size").asLong()).isPositive();
        assertThat(entry.get("digest").asText()).matches("[0-9a-f]{64}");
        assertThat(entry.get("expires_at").asText()).isNotEmpty();
        assertThat(entry.at("/details/format").asText()).isEqualTo("gguf");
        // idle past its keep-alive: unloaded
        for (long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos(); loaded().contains("stories:latest"); Thread.sleep(100))
            assertThat(System.nanoTime()).as("still loaded after its keep-alive").isLessThan(deadline);
        // Ollama's route waits for the load
        var again = s.post("/api/generate", "{\"model\":\"stories\",\"prompt\":\"Once\",\"stream\":false,\"options\":{\"num_predict\":2}}");
        assertThat(again.status()).isEqualTo(200);
        assertThat(again.json().get("load_duration").asLong()).isPositive();
        assertThat(loaded()).contains("stories:latest");
        // keep_alive 0 without a prompt unloads at once
        var unload = s.post("/api/generate", "{\"model\":\"stories\",\"keep_alive\":0}");
        assertThat(unload.json().get("done_reason").asText()).isEqualTo("unload");
        assertThat(loaded()).doesNotContain("stories:latest");
        // the configured model stays loaded throughout
        assertThat(loaded()).contains("stories260K");
    }

    @Test
    void pullStreamsStatusLinesAndDeleteRemoves() throws Exception {
        HttpServer files = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        byte[] gguf = Files.readAllBytes(TestFiles.storiesModel());
        files.createContext("/m/stories260K.gguf", ex -> {
            ex.getResponseHeaders().add("Content-Type", "application/octet-stream");
            if (ex.getRequestMethod().equals("HEAD")) {
                ex.getResponseHeaders().add("Content-Length", Long.toString(gguf.length));
                ex.sendResponseHeaders(200, -1);
            } else {
                ex.sendResponseHeaders(200, gguf.length);
                ex.getResponseBody().write(gguf);
            }
            ex.close();
        });
        files.start();
        try {
            String url = "http://127.0.0.1:" + files.getAddress().getPort() + "/m/stories260K.gguf";
            var r = s.post("/api/pull", "{\"model\":\"" + url + "\",\"name\":\"pulled:v1\"}");
            assertThat(r.status()).isEqualTo(200);
            List<JsonNode> status = lines(r);
            assertThat(status.getFirst().get("status").asText()).isEqualTo("pulling manifest");
            assertThat(status.getLast().get("status").asText()).as(r.raw().body()).isEqualTo("success");
            assertThat(status).anyMatch(l -> l.has("total") && l.has("completed"));
            assertThat(s.get("/api/tags").json().get("models").findValuesAsText("name")).contains("pulled:v1");

            var del = s.send("DELETE", "/api/delete", "{\"model\":\"pulled:v1\"}");
            assertThat(del.status()).isEqualTo(200);
            assertThat(s.get("/api/tags").json().get("models").findValuesAsText("name")).doesNotContain("pulled:v1");
            var again = s.send("DELETE", "/api/delete", "{\"model\":\"pulled:v1\"}");
            assertThat(again.status()).isEqualTo(404);
            assertThat(again.json().get("error").asText()).contains("not found");
        } finally {
            files.stop(0);
        }
    }
}
