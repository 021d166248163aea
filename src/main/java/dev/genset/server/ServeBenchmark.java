package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Load for a running OpenAI-compatible server: at each concurrency level, a fixed number of
 * streamed completion requests with that many in flight at once; reports aggregate generated
 * tokens per second and time-to-first-token percentiles.
 */
public final class ServeBenchmark {

    /** What to send. */
    public record Plan(URI baseUrl, String model, String prompt, int maxTokens, boolean chat, boolean ignoreEos, Duration requestTimeout) {}

    /** One request's timings; {@code error} is null when it succeeded. */
    public record Sample(long ttftNanos, long totalNanos, int tokens, String error) {}

    /** One concurrency level's results. */
    public record Level(int concurrency, int requests, int errors, long wallNanos, long tokens, double tokensPerSecond,
                        double requestsPerSecond, double ttftP50Ms, double ttftP99Ms, double itlP50Ms, String firstError) {}

    private final Plan plan;
    private final HttpClient http;

    public ServeBenchmark(Plan plan) {
        this.plan = plan;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
    }

    /** Runs {@code requests} requests with {@code concurrency} in flight. */
    public Level run(int concurrency, int requests) throws InterruptedException {
        AtomicInteger next = new AtomicInteger();
        List<Sample> samples = java.util.Collections.synchronizedList(new ArrayList<>());
        long start = System.nanoTime();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> workers = new ArrayList<>();
            for (int w = 0; w < concurrency; w++) {
                workers.add(pool.submit(() -> {
                    while (next.getAndIncrement() < requests) samples.add(one());
                }));
            }
            for (Future<?> f : workers) {
                try {
                    f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    samples.add(new Sample(0, 0, 0, String.valueOf(e.getCause())));
                }
            }
        }
        long wall = System.nanoTime() - start;
        List<Sample> ok = samples.stream().filter(s -> s.error() == null).toList();
        long tokens = ok.stream().mapToLong(Sample::tokens).sum();
        double[] ttft = ok.stream().mapToDouble(s -> s.ttftNanos() / 1e6).sorted().toArray();
        double[] itl = ok.stream().filter(s -> s.tokens() > 1).mapToDouble(s -> (s.totalNanos() - s.ttftNanos()) / 1e6 / (s.tokens() - 1)).sorted().toArray();
        String firstError = samples.stream().map(Sample::error).filter(e -> e != null).findFirst().orElse(null);
        return new Level(concurrency, samples.size(), samples.size() - ok.size(), wall, tokens, tokens * 1e9 / wall, ok.size() * 1e9 / wall,
                percentile(ttft, 50), percentile(ttft, 99), percentile(itl, 50), firstError);
    }

    static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) return Double.NaN;
        int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    /** One streamed request. */
    Sample one() {
        ObjectNode body = Json.MAPPER.createObjectNode();
        if (plan.model() != null) body.put("model", plan.model());
        if (plan.chat()) body.putArray("messages").addObject().put("role", "user").put("content", plan.prompt());
        else body.put("prompt", plan.prompt());
        body.put("max_tokens", plan.maxTokens()).put("stream", true).put("temperature", 0);
        if (plan.ignoreEos()) body.put("ignore_eos", true);
        body.putObject("stream_options").put("include_usage", true);
        String path = plan.chat() ? "v1/chat/completions" : "v1/completions";
        long start = System.nanoTime(), first = 0;
        int tokens = -1, chunks = 0;
        try {
            HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(plan.baseUrl().resolve(path)).timeout(plan.requestTimeout())
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(Json.write(body))).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            if (r.statusCode() != 200) {
                String text = new String(r.body().readNBytes(500), StandardCharsets.UTF_8);
                return new Sample(0, 0, 0, "HTTP " + r.statusCode() + ": " + text);
            }
            try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    if (!line.startsWith("data: ")) continue;
                    String data = line.substring(6);
                    if (data.equals("[DONE]")) break;
                    JsonNode j = Json.MAPPER.readTree(data);
                    if (j.has("error")) return new Sample(0, 0, 0, j.get("error").path("message").asText());
                    if (j.path("usage").isObject()) tokens = j.path("usage").path("completion_tokens").asInt();
                    JsonNode c = j.path("choices").path(0);
                    String text = plan.chat() ? c.path("delta").path("content").asText("") : c.path("text").asText("");
                    if (!text.isEmpty()) {
                        chunks++;
                        if (first == 0) first = System.nanoTime();
                    }
                }
            }
        } catch (Exception e) {
            return new Sample(0, 0, 0, e.toString());
        }
        long end = System.nanoTime();
        if (first == 0) first = end;
        return new Sample(first - start, end - start, tokens >= 0 ? tokens : chunks, null);
    }

    /** The results as a table. */
    public static String table(List<Level> levels) {
        StringBuilder sb = new StringBuilder(String.format("%11s %8s %6s %10s %8s %12s %12s %11s%n",
                "concurrency", "requests", "errors", "gen tok/s", "req/s", "TTFT p50 ms", "TTFT p99 ms", "ITL p50 ms"));
        for (Level l : levels) {
            sb.append(String.format("%11d %8d %6d %10.1f %8.2f %12.1f %12.1f %11.2f%n", l.concurrency(), l.requests(), l.errors(),
                    l.tokensPerSecond(), l.requestsPerSecond(), l.ttftP50Ms(), l.ttftP99Ms(), l.itlP50Ms()));
            if (l.firstError() != null) sb.append("            first error: ").append(l.firstError()).append('\n');
        }
        return sb.toString();
    }

    static int[] parseLevels(String csv) {
        return Arrays.stream(csv.split(",")).map(String::trim).filter(s -> !s.isEmpty()).mapToInt(Integer::parseInt).toArray();
    }
}
