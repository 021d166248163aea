package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.genset.data.CaptureLog;
import dev.genset.gateway.Gateway;
import dev.genset.gateway.GatewayConfig;
import dev.genset.gateway.admin.AdminService;
import dev.genset.store.Database;
import dev.genset.store.Limits;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Request capture is opt-in per key: only that key's prompts and completions are saved, and export as a dataset. */
@Timeout(120)
class CaptureServerTest {
    @Test
    void onlyKeysWithCaptureOnAreSaved(@TempDir Path dir) throws Exception {
        try (Gateway gateway = Gateway.open(GatewayConfig.of(Database.sqlite(dir.resolve("genset.db"))))) {
            AdminService admin = gateway.admin();
            String captured = admin.createKey(new AdminService.KeySpec("captured", null, Limits.NONE, null)).key();
            String plain = admin.createKey(new AdminService.KeySpec("plain", null, Limits.NONE, null)).key();
            assertThat(admin.setKeyCapture("captured", true).capture()).isTrue();
            CaptureLog log = CaptureLog.at(dir);
            try (TestServer s = new TestServer(c -> c, ServeOptions.none().withGateway(gateway, false).withCapture(log))) {
                var r1 = s.post("/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":6,\"temperature\":0}", "Authorization", "Bearer " + captured);
                assertThat(r1.status()).as(r1.raw().body()).isEqualTo(200);
                var r2 = s.post("/v1/completions", "{\"prompt\":\"Lily went\",\"max_tokens\":3,\"temperature\":0}", "Authorization", "Bearer " + plain);
                assertThat(r2.status()).isEqualTo(200);

                Path out = dir.resolve("export.jsonl");
                long n = export(log, out, 1);
                assertThat(n).isEqualTo(1);
                List<String> lines = Files.readAllLines(out);
                JsonNode rec = new ObjectMapper().readTree(lines.getFirst());
                assertThat(rec.get("request_id").asText()).isEqualTo(r1.raw().headers().firstValue("x-request-id").orElseThrow());
                assertThat(rec.at("/prompt/prompt").asText()).isEqualTo("Once upon a time");
                assertThat(rec.get("completion").asText()).isEqualTo(r1.json().at("/choices/0/text").asText()).isEqualTo(", there was a little g"); // "girl" is two tokens
                assertThat(rec.get("completion_tokens").asInt()).isEqualTo(6);
                assertThat(rec.get("endpoint").asText()).isNotBlank();
            }
        }
    }

    /** A request routed to an upstream provider is captured too: its completion as the upstream answered it, whole or streamed. */
    @Test
    void routedRequestsAreCapturedWholeAndStreamed(@TempDir Path dir) throws Exception {
        try (Gateway gateway = Gateway.open(GatewayConfig.of(Database.sqlite(dir.resolve("genset.db"))));
             TestServer up = new TestServer(c -> c)) {
            AdminService admin = gateway.admin();
            String captured = admin.createKey(new AdminService.KeySpec("captured", null, Limits.NONE, null)).key();
            admin.setKeyCapture("captured", true);
            admin.putDeployment(new dev.genset.store.Deployments.Row("up1", "remote-stories", "openai", up.base + "/v1", "upstream-key", "stories260K", 0, 1, 30_000L));
            gateway.reloadRoutes();
            CaptureLog log = CaptureLog.at(dir);
            try (TestServer s = new TestServer(c -> c, ServeOptions.none().withGateway(gateway, false).withCapture(log))) {
                var whole = s.post("/v1/completions", "{\"model\":\"remote-stories\",\"prompt\":\"Once upon a time\",\"max_tokens\":6,\"temperature\":0}",
                        "Authorization", "Bearer " + captured);
                assertThat(whole.status()).as(whole.raw().body()).isEqualTo(200);
                var streamed = s.post("/v1/completions", "{\"model\":\"remote-stories\",\"prompt\":\"Lily went\",\"max_tokens\":5,\"temperature\":0,\"stream\":true}",
                        "Authorization", "Bearer " + captured);
                assertThat(streamed.status()).isEqualTo(200);
                StringBuilder streamedText = new StringBuilder();
                for (String line : streamed.raw().body().split("\n"))
                    if (line.startsWith("data: {")) streamedText.append(new ObjectMapper().readTree(line.substring(6)).at("/choices/0/text").asText(""));

                Path out = dir.resolve("export.jsonl");
                assertThat(export(log, out, 2)).isEqualTo(2);
                List<String> lines = Files.readAllLines(out);
                JsonNode first = new ObjectMapper().readTree(lines.get(0)), second = new ObjectMapper().readTree(lines.get(1));
                assertThat(first.get("model").asText()).isEqualTo("remote-stories");
                assertThat(first.at("/prompt/prompt").asText()).isEqualTo("Once upon a time");
                assertThat(first.get("completion").asText()).isEqualTo(whole.json().at("/choices/0/text").asText()).isNotEmpty();
                assertThat(first.get("completion_tokens").asInt()).isEqualTo(6);
                assertThat(first.get("finish_reason").asText()).isEqualTo("length");
                assertThat(second.at("/prompt/prompt").asText()).isEqualTo("Lily went");
                assertThat(second.get("completion").asText()).isEqualTo(streamedText.toString()).isNotEmpty();
                assertThat(second.get("completion_tokens").asInt()).isEqualTo(5);
            }
        }
    }

    /**
     * Exports the log once it holds {@code expected} records, or after 10 s: a request is captured
     * when it is settled, which may be just after its response reached the client.
     */
    private static long export(CaptureLog log, Path out, long expected) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L, n;
        while ((n = log.export(Instant.EPOCH, out)) < expected && System.nanoTime() < deadline) Thread.sleep(20);
        return n;
    }
}
