package dev.genset.server;

import dev.genset.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(120)
class ServeBenchmarkTest {
    @Test
    void measuresEachConcurrencyLevel() throws Exception {
        try (TestServer s = new TestServer(c -> c.withParallel(4))) {
            ServeBenchmark b = new ServeBenchmark(new ServeBenchmark.Plan(URI.create(s.base + "/"), null, "Once upon a time", 16, false, true, Duration.ofSeconds(30)));
            ServeBenchmark.Level one = b.run(1, 3), four = b.run(4, 8);
            for (ServeBenchmark.Level l : List.of(one, four)) {
                assertThat(l.errors()).as(l.firstError()).isZero();
                assertThat(l.tokens()).isEqualTo(16L * l.requests());
                assertThat(l.tokensPerSecond()).isPositive();
                assertThat(l.ttftP99Ms()).isGreaterThanOrEqualTo(l.ttftP50Ms()).isPositive();
                assertThat(l.tpotP99Ms()).isGreaterThanOrEqualTo(l.tpotP50Ms()).isPositive();
                assertThat(l.itlP99Ms()).isGreaterThanOrEqualTo(l.itlP50Ms()).isPositive();
            }
            assertThat(four.requests()).isEqualTo(8);
            assertThat(ServeBenchmark.table(List.of(one, four))).contains("TTFT p50 ms");
            assertThat(Main.execute("bench", "serve", "--url", s.base, "--concurrency", "1,2", "--requests", "2", "-n", "4")).isZero();
            assertThat(new ServeBenchmark(new ServeBenchmark.Plan(URI.create(s.base + "/"), null, "Hi", 4, true, false, Duration.ofSeconds(30)))
                    .run(2, 2).errors()).isZero();
        }
    }

    /**
     * The figures as vLLM's serving benchmark defines them: TPOT one value a request, (end - first
     * token) / (tokens - 1); ITL every gap between streamed pieces, over all requests, so that one
     * stalled stream shows in its p99 where it barely moves the TPOT of its request.
     */
    @Test
    void summarizesTpotPerRequestAndItlPerGap() {
        long ms = 1_000_000;
        List<ServeBenchmark.Sample> samples = List.of(
                new ServeBenchmark.Sample(100 * ms, 400 * ms, 4, 10, new long[] {100 * ms, 100 * ms, 100 * ms}, null),
                new ServeBenchmark.Sample(200 * ms, 1200 * ms, 3, 12, new long[] {100 * ms, 900 * ms}, null),
                ServeBenchmark.Sample.failed("HTTP 429"));
        ServeBenchmark.Level l = ServeBenchmark.summarize(2, samples, 2000 * ms);
        assertThat(l.requests()).isEqualTo(3);
        assertThat(l.errors()).isEqualTo(1);
        assertThat(l.firstError()).isEqualTo("HTTP 429");
        assertThat(l.tokens()).isEqualTo(7);
        assertThat(l.promptTokens()).isEqualTo(22);
        assertThat(l.tokensPerSecond()).isEqualTo(3.5);
        assertThat(l.ttftP50Ms()).isEqualTo(100.0);
        assertThat(l.ttftP99Ms()).isEqualTo(200.0);
        assertThat(l.tpotP50Ms()).isEqualTo(100.0);  // (400 - 100) / 3
        assertThat(l.tpotP99Ms()).isEqualTo(500.0);  // (1200 - 200) / 2
        assertThat(l.itlP50Ms()).isEqualTo(100.0);
        assertThat(l.itlP99Ms()).isEqualTo(900.0);
        assertThat(ServeBenchmark.table(List.of(l))).contains("TPOT p50 ms", "ITL p99 ms", "first error: HTTP 429");
    }

    /** A prompt length asked for: each request its own prompt, about that long as the server counts it. */
    @Test
    void givesEveryRequestAPromptOfItsOwnOfTheLengthAskedFor() throws Exception {
        assertThat(ServeBenchmark.promptFor(1, 50)).isNotEqualTo(ServeBenchmark.promptFor(2, 50)).isEqualTo(ServeBenchmark.promptFor(1, 50));
        assertThat(ServeBenchmark.promptFor(3, 50).split(" ")).hasSize(52);  // "Request 3:" and 50 words
        try (TestServer s = new TestServer(c -> c.withParallel(2))) {
            ServeBenchmark b = new ServeBenchmark(new ServeBenchmark.Plan(URI.create(s.base + "/"), null, "unused", 120, 0, 4, false, true, Duration.ofSeconds(30)));
            ServeBenchmark.Level l = b.run(2, 4);
            assertThat(l.errors()).as(l.firstError()).isZero();
            assertThat(l.promptTokens() / (double) l.requests()).as("mean prompt tokens").isBetween(100.0, 140.0);
            assertThat(l.promptTokensPerSecond()).isPositive();
            assertThat(ServeBenchmark.table(List.of(l))).contains("prompt tok/s");
            assertThat(Main.execute("bench", "serve", "--url", s.base, "--concurrency", "1", "--requests", "1", "-n", "2", "--prompt-tokens", "30")).isZero();
            assertThat(Main.execute("bench", "serve", "--url", s.base, "--prompt-tokens", "-1")).isNotZero();
            // a shared system prompt: every prompt starts the same and goes on with its own words
            assertThat(ServeBenchmark.promptFor(1, 30, 10)).startsWith(ServeBenchmark.promptFor(2, 30, 10).substring(0, ServeBenchmark.promptFor(2, 30, 0).indexOf("Request")))
                    .isNotEqualTo(ServeBenchmark.promptFor(2, 30, 10));
            ServeBenchmark shared = new ServeBenchmark(new ServeBenchmark.Plan(URI.create(s.base + "/"), null, "unused", 120, 80, 4, false, true, Duration.ofSeconds(30)));
            ServeBenchmark.Level sl = shared.run(2, 4);
            assertThat(sl.errors()).as(sl.firstError()).isZero();
            assertThat(sl.promptTokens() / (double) sl.requests()).as("mean prompt tokens").isBetween(100.0, 140.0);
            assertThat(Main.execute("bench", "serve", "--url", s.base, "--prompt-tokens", "20", "--shared-prefix-tokens", "20")).isNotZero();
            // several shared prefixes taking turns
            String first = ServeBenchmark.promptFor(0, 0, 30, 0), second = ServeBenchmark.promptFor(1, 1, 30, 0);
            assertThat(first).isEqualTo(ServeBenchmark.promptFor(2, 0, 30, 0).replace("Request 2:", "Request 0:")).isNotEqualTo(second.replace("Request 1:", "Request 0:"));
            assertThat(ServeBenchmark.promptFor(0, 30, 5)).as("prefix 0 is the single shared prefix").isEqualTo(ServeBenchmark.promptFor(0, 0, 30, 5));
            ServeBenchmark turns = new ServeBenchmark(new ServeBenchmark.Plan(URI.create(s.base + "/"), null, "unused", 90, 60, 3, 4, false, true, Duration.ofSeconds(30)));
            ServeBenchmark.Level tl = turns.run(2, 6);
            assertThat(tl.errors()).as(tl.firstError()).isZero();
            assertThat(Main.execute("bench", "serve", "--url", s.base, "--prompt-tokens", "20", "--prefixes", "2")).as("prefixes without a shared prefix").isNotZero();
        }
    }
}
