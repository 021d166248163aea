package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A served model is warmed up at load unless told not to, and the warm-up leaves no trace a request
 * could see: the first request's greedy completion and usage are those of a server without it.
 */
class ServerWarmUpTest {
    static final String REQUEST = "{\"prompt\":\"Once upon a time\",\"max_tokens\":12,\"temperature\":0}";

    static JsonNode firstCompletion(boolean warmup) throws Exception {
        try (TestServer s = new TestServer(c -> c.withWarmup(warmup))) {
            assertThat(s.server.config().warmup()).isEqualTo(warmup);
            assertThat(s.server.scheduler(s.server.config().models().get(0).getFileName().toString().replace(".gguf", ""))
                    .stats().steps()).as("the warm-up runs beside the scheduler, not through it").isZero();
            TestServer.Reply r = s.post("/v1/completions", REQUEST);
            assertThat(r.status()).isEqualTo(200);
            return r.json();
        }
    }

    @Test
    void firstRequestIsAnsweredAsWithoutAWarmUp() throws Exception {
        JsonNode warm = firstCompletion(true), cold = firstCompletion(false);
        assertThat(warm.at("/choices/0/text").asText()).isNotEmpty().isEqualTo(cold.at("/choices/0/text").asText());
        assertThat(warm.at("/usage/prompt_tokens").asInt()).isEqualTo(cold.at("/usage/prompt_tokens").asInt());
        assertThat(warm.at("/usage/prompt_tokens_details/cached_tokens").asInt()).isZero();
    }

    @Test
    void warmUpIsOnByDefault() {
        assertThat(ServerConfig.defaults(java.util.List.of(java.nio.file.Path.of("m.gguf"))).warmup()).isTrue();
    }
}
