package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.BadRequestException;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import dev.genset.engine.embed.Embedder;
import dev.genset.engine.model.Model;
import dev.genset.engine.tensor.Parallel;
import dev.genset.testing.TestFiles;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** POST /v1/embeddings over real HTTP: the official SDK, the engine's vectors, and what bad requests get. */
@Timeout(120)
class EmbeddingsTest {
    static TestServer s;
    static OpenAIClient client;

    @BeforeAll
    static void start() throws Exception {
        s = new TestServer(c -> c.withContextSize(32));
        client = OpenAIOkHttpClient.builder().baseUrl(s.base + "/v1").apiKey("unused").maxRetries(0).timeout(Duration.ofSeconds(60)).build();
    }

    @AfterAll
    static void stop() {
        client.close();
        s.close();
    }

    static float[] floats(JsonNode values) {
        float[] v = new float[values.size()];
        for (int i = 0; i < v.length; i++) v[i] = values.get(i).floatValue();
        return v;
    }

    static double norm(float[] v) {
        double sum = 0;
        for (float f : v) sum += (double) f * f;
        return Math.sqrt(sum);
    }

    @Test
    void officialSdkGetsOneUnitVectorPerInputInOrder() {
        CreateEmbeddingResponse one = client.embeddings().create(EmbeddingCreateParams.builder().model("stories260K").input("Once upon a time").build());
        assertThat(one.data()).hasSize(1);
        List<Float> v = one.data().getFirst().embedding();
        assertThat(v).hasSize(64);
        double sum = 0;
        for (float f : v) sum += (double) f * f;
        assertThat(Math.sqrt(sum)).isCloseTo(1.0, within(1e-5));
        assertThat(one.usage().promptTokens()).isEqualTo(one.usage().totalTokens()).isGreaterThan(2);
        assertThat(one.model()).isEqualTo("stories260K");

        CreateEmbeddingResponse two = client.embeddings().create(EmbeddingCreateParams.builder().model("stories260K")
                .inputOfArrayOfStrings(List.of("there was a cat", "Once upon a time")).build());
        assertThat(two.data()).extracting(e -> e.index()).containsExactly(0L, 1L);
        assertThat(two.data().get(1).embedding()).isEqualTo(v);
        assertThat(two.data().get(0).embedding()).isNotEqualTo(v);
    }

    @Test
    void vectorsAreTheEnginesAndBase64CarriesTheSameFloats() throws Exception {
        TestServer.Reply f = s.post("/v1/embeddings", "{\"input\":\"Once upon a time\",\"encoding_format\":\"float\"}");
        TestServer.Reply b = s.post("/v1/embeddings", "{\"input\":\"Once upon a time\",\"encoding_format\":\"base64\"}");
        assertThat(f.status()).isEqualTo(200);
        assertThat(f.json().get("object").asText()).isEqualTo("list");
        assertThat(f.json().at("/data/0/object").asText()).isEqualTo("embedding");
        float[] values = floats(f.json().at("/data/0/embedding"));
        ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(b.json().at("/data/0/embedding").asText())).order(ByteOrder.LITTLE_ENDIAN);
        float[] decoded = new float[bytes.remaining() / 4];
        for (int i = 0; i < decoded.length; i++) decoded[i] = bytes.getFloat();
        assertThat(decoded).containsExactly(values);
        try (Model m = Model.load(TestFiles.storiesModel()); Parallel pool = new Parallel(1)) {
            int[] tokens = m.tokenizer().encode("Once upon a time", true, true);
            assertThat(f.json().at("/usage/prompt_tokens").asInt()).isEqualTo(tokens.length);
            assertThat(new Embedder(m, pool, 8, Embedder.Pooling.MEAN).embed(tokens)).containsExactly(values);
        }
        // token ids give what their text gives
        StringBuilder ids = new StringBuilder();
        for (int t : s.server.scheduler("stories260K").model().tokenizer().encode("Once upon a time", true, true)) ids.append(ids.isEmpty() ? "" : ",").append(t);
        TestServer.Reply byIds = s.post("/v1/embeddings", "{\"input\":[" + ids + "]}");
        assertThat(floats(byIds.json().at("/data/0/embedding"))).containsExactly(values);
    }

    @Test
    void embeddingsBesideARunningGenerationAreTheSame() throws Exception {
        String body = "{\"input\":[\"Once upon a time\",\"a little cat\"]}";
        JsonNode alone = s.post("/v1/embeddings", body).json().get("data");
        var generation = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return s.post("/v1/completions", "{\"prompt\":\"Once\",\"max_tokens\":28,\"ignore_eos\":true,\"temperature\":0}").status();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        for (int i = 0; i < 5; i++) assertThat(s.post("/v1/embeddings", body).json().get("data")).isEqualTo(alone);
        assertThat(generation.get()).isEqualTo(200);
    }

    @Test
    void aLongRequestWhoseClientLeavesStops() throws Exception {
        try (TestServer big = new TestServer(c -> c.withContextSize(512))) {
            String text = ServerApiTest.quote("Once upon a time there was a little cat who liked to play. ".repeat(28));
            String body = "{\"input\":[" + String.join(",", java.util.Collections.nCopies(EmbeddingsEndpoint.MAX_INPUTS, text)) + "]}"; // about 800k tokens
            java.net.Socket socket = ServerLifecycleTest.send(big, "/v1/embeddings", body);
            Thread.sleep(300);
            long closed = System.nanoTime();
            socket.close();
            long deadline = closed + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
            while (ServerLifecycleTest.metric(big, "genset_requests_total", "status=\"499\"") == 0) {
                assertThat(System.nanoTime()).as("the request was not stopped when its client left").isLessThan(deadline);
                Thread.sleep(10);
            }
            assertThat(Duration.ofNanos(System.nanoTime() - closed)).isLessThan(Duration.ofSeconds(5));
            // the model's embedding thread is free again
            TestServer.Reply next = big.post("/v1/embeddings", "{\"input\":\"a cat\"}");
            assertThat(next.status()).isEqualTo(200);
        }
    }

    @Test
    void dimensionsShortenAndRescaleToUnitLength() throws Exception {
        float[] full = floats(s.post("/v1/embeddings", "{\"input\":\"Once upon a time\"}").json().at("/data/0/embedding"));
        float[] short8 = floats(s.post("/v1/embeddings", "{\"input\":\"Once upon a time\",\"dimensions\":8}").json().at("/data/0/embedding"));
        assertThat(short8).hasSize(8);
        assertThat(norm(short8)).isCloseTo(1.0, within(1e-5));
        double scale = norm(java.util.Arrays.copyOf(full, 8));
        for (int i = 0; i < 8; i++) assertThat((double) short8[i]).isCloseTo(full[i] / scale, within(1e-5));
    }

    @Test
    void badRequestsGetOpenAiErrors() throws Exception {
        record Case(String body, int status, String param) {}
        for (Case c : List.of(
                new Case("{}", 400, "input"),
                new Case("{\"input\":\"\"}", 400, "input"),
                new Case("{\"input\":[]}", 400, "input"),
                new Case("{\"input\":[[]]}", 400, "input[0]"),
                new Case("{\"input\":42}", 400, "input"),
                new Case("{\"input\":[\"a\",7]}", 400, "input[1]"),
                new Case("{\"input\":[1,999999]}", 400, "input[1]"),
                new Case("{\"input\":\"a\",\"encoding_format\":\"int8\"}", 400, "encoding_format"),
                new Case("{\"input\":\"a\",\"dimensions\":0}", 400, "dimensions"),
                new Case("{\"input\":\"a\",\"dimensions\":65}", 400, "dimensions"),
                new Case("{\"input\":\"a\",\"temperature\":1}", 400, "temperature"),
                new Case("{\"input\":\"a\",\"model\":\"no-such-model\"}", 404, "model"))) {
            TestServer.Reply r = s.post("/v1/embeddings", c.body());
            assertThat(r.status()).as(c.body() + " -> " + r.raw().body()).isEqualTo(c.status());
            assertThat(r.json().at("/error/message").asText()).as(c.body()).isNotEmpty();
            assertThat(r.json().at("/error/param").asText()).as(c.body()).isEqualTo(c.param());
        }
        TestServer.Reply tooLong = s.post("/v1/embeddings", "{\"input\":\"" + "Once upon a time there was a little cat. ".repeat(8) + "\"}");
        assertThat(tooLong.status()).isEqualTo(400);
        assertThat(tooLong.json().at("/error/type").asText()).isEqualTo("exceed_context_size_error");
        assertThat(tooLong.json().at("/error/message").asText()).contains("context size is 32");
        assertThatThrownBy(() -> client.embeddings().create(EmbeddingCreateParams.builder().model("stories260K").input("").build()))
                .isInstanceOf(BadRequestException.class);
    }
}
