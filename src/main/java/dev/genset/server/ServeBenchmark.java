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
 * tokens per second and, as vLLM's serving benchmark defines them, percentiles of the time to
 * first token (TTFT), the time per output token after the first (TPOT, one value a request) and
 * the inter-token latency (ITL, every gap between two streamed pieces of text, over all
 * requests: where a stream stalls, for instance while another request's prompt is prefilled,
 * its p99 shows it). With a prompt length asked for (as vLLM's
 * benchmark takes a random input length), every request gets a prompt of its own of about that many
 * tokens, so no request finds another's prefix in the server's cache and each prompt is prefilled
 * in full.
 */
public final class ServeBenchmark {

    /**
     * What to send. With {@code promptTokens} above zero, request i's prompt is {@link #promptFor}(i)
     * of about that many tokens instead of {@code prompt}, the first {@code sharedTokens} of them the
     * same in every request (a system prompt; vLLM's benchmark calls it prefix repetition), or in
     * every {@code prefixes}-th one: request i starts with prefix i mod {@code prefixes} (several
     * system prompts, or conversations, taking turns; vLLM's number of prefixes).
     */
    public record Plan(URI baseUrl, String model, String prompt, int promptTokens, int sharedTokens, int prefixes, int maxTokens, boolean chat,
                       boolean ignoreEos, Duration requestTimeout) {
        public Plan {
            if (promptTokens < 0 || sharedTokens < 0) throw new IllegalArgumentException("prompt lengths (--prompt-tokens, --shared-prefix-tokens) must not be negative");
            if (sharedTokens > 0 && sharedTokens >= promptTokens)
                throw new IllegalArgumentException("the shared prefix (--shared-prefix-tokens " + sharedTokens + ") must be shorter than the prompt (--prompt-tokens " + promptTokens + ")");
            if (prefixes < 1) throw new IllegalArgumentException("--prefixes must be at least 1");
            if (prefixes > 1 && sharedTokens == 0) throw new IllegalArgumentException("--prefixes needs --shared-prefix-tokens");
        }

        /** With one shared prefix (or none). */
        public Plan(URI baseUrl, String model, String prompt, int promptTokens, int sharedTokens, int maxTokens, boolean chat,
                    boolean ignoreEos, Duration requestTimeout) {
            this(baseUrl, model, prompt, promptTokens, sharedTokens, 1, maxTokens, chat, ignoreEos, requestTimeout);
        }

        public Plan(URI baseUrl, String model, String prompt, int maxTokens, boolean chat, boolean ignoreEos, Duration requestTimeout) {
            this(baseUrl, model, prompt, 0, 0, maxTokens, chat, ignoreEos, requestTimeout);
        }
    }

    /**
     * One request's timings and token counts (prompt tokens as the server's usage gave them, 0 if it
     * did not), with the gaps between its consecutive pieces of streamed text; {@code error} is null
     * when it succeeded.
     */
    public record Sample(long ttftNanos, long totalNanos, int tokens, int promptTokens, long[] gapsNanos, String error) {
        static Sample failed(String error) {
            return new Sample(0, 0, 0, 0, new long[0], error);
        }
    }

    /**
     * One concurrency level's results; prompt tokens as the server counted them. TPOT is per
     * request, (end - first token) / (tokens - 1); ITL is per gap between streamed pieces.
     */
    public record Level(int concurrency, int requests, int errors, long wallNanos, long tokens, double tokensPerSecond,
                        double requestsPerSecond, double ttftP50Ms, double ttftP99Ms, double tpotP50Ms, double tpotP99Ms,
                        double itlP50Ms, double itlP99Ms, long promptTokens, double promptTokensPerSecond, String firstError) {}

    private final Plan plan;
    private final HttpClient http;
    /** Words of every request's shared prefix, and words of its own after it, when the plan asks for a prompt length. */
    private final int sharedWords, promptWords;
    /** Requests sent so far, over every level: each gets its own prompt. */
    private final AtomicInteger sent = new AtomicInteger();

    public ServeBenchmark(Plan plan) {
        this.plan = plan;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
        if (plan.promptTokens() > 0) {
            double perWord = tokensPerWord();
            this.sharedWords = (int) Math.round(plan.sharedTokens() / perWord);
            // the leading "Request i:" counts as about three words
            this.promptWords = Math.max(1, (int) Math.round((plan.promptTokens() - plan.sharedTokens()) / perWord) - 3);
        } else {
            this.sharedWords = this.promptWords = 0;
        }
    }

    /** Common words, from which the prompts are drawn: each is a token or two for the usual vocabularies. */
    private static final String[] WORDS = ("the of and to in is was for on that with as by at from his her they this which are be "
            + "had not have one all were their there been has when who will more no if out so said what up its about into than them "
            + "can only other new some could time these two may then do first any my now such like our over man me even most made after "
            + "also did many before must through back years where much your way well down should because each just those people how too "
            + "little state good very make world still own see men work long get here between both life being under never day same another "
            + "know while last might us great old year off come since against go came right used take three").split(" ");

    /**
     * Request i's prompt of {@code words} words: its number, then words drawn by a generator seeded
     * with it, so prompts differ from their first tokens on and runs repeat.
     */
    public static String promptFor(int i, int words) {
        return promptFor(i, 0, words);
    }

    /**
     * Request i's prompt: {@code sharedWords} words that every request starts with (drawn the same
     * way for all), then its number and {@code words} words of its own, as {@link #promptFor(int, int)}.
     */
    public static String promptFor(int i, int sharedWords, int words) {
        return promptFor(i, 0, sharedWords, words);
    }

    /** {@link #promptFor(int, int, int)} behind shared prefix number {@code prefix} (each drawn with a seed of its own). */
    public static String promptFor(int i, int prefix, int sharedWords, int words) {
        StringBuilder sb = new StringBuilder();
        java.util.SplittableRandom shared = new java.util.SplittableRandom(0x5DEECE66DL + 0x2545F4914F6CDD1DL * prefix);
        for (int w = 0; w < sharedWords; w++) sb.append(WORDS[shared.nextInt(WORDS.length)]).append(' ');
        java.util.SplittableRandom random = new java.util.SplittableRandom(0x9E3779B97F4A7C15L * (i + 1));
        sb.append("Request ").append(i).append(':');
        for (int w = 0; w < words; w++) sb.append(' ').append(WORDS[random.nextInt(WORDS.length)]);
        return sb.toString();
    }

    /**
     * Tokens a word of these prompts takes: the server's {@code /tokenize} (llama.cpp's and
     * Genset's) counts a sample; a server without it is taken at 1.3 tokens a word.
     */
    private double tokensPerWord() {
        int sampleWords = 400;  // the leading "Request i:" counts as about three words more
        double perWord = 1.3;
        try {
            ObjectNode body = Json.MAPPER.createObjectNode().put("content", promptFor(0, sampleWords));
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(plan.baseUrl().resolve("tokenize")).timeout(Duration.ofSeconds(30))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(Json.write(body))).build(),
                    HttpResponse.BodyHandlers.ofString());
            JsonNode counted = r.statusCode() == 200 ? Json.MAPPER.readTree(r.body()).path("tokens") : null;
            if (counted != null && counted.isArray() && counted.size() > 0) perWord = counted.size() / (double) (sampleWords + 3);
        } catch (java.io.IOException e) {
            // no tokenizer endpoint: the estimate stands
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return perWord;
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
                    while (next.getAndIncrement() < requests) samples.add(one(sent.getAndIncrement()));
                }));
            }
            for (Future<?> f : workers) {
                try {
                    f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    samples.add(Sample.failed(String.valueOf(e.getCause())));
                }
            }
        }
        return summarize(concurrency, samples, System.nanoTime() - start);
    }

    /** A level's figures from its requests' samples, run in {@code wallNanos}. */
    static Level summarize(int concurrency, List<Sample> samples, long wallNanos) {
        List<Sample> ok = samples.stream().filter(s -> s.error() == null).toList();
        long tokens = ok.stream().mapToLong(Sample::tokens).sum(), promptTokens = ok.stream().mapToLong(Sample::promptTokens).sum();
        double[] ttft = ok.stream().mapToDouble(s -> s.ttftNanos() / 1e6).sorted().toArray();
        double[] tpot = ok.stream().filter(s -> s.tokens() > 1).mapToDouble(s -> (s.totalNanos() - s.ttftNanos()) / 1e6 / (s.tokens() - 1)).sorted().toArray();
        double[] itl = ok.stream().flatMapToLong(s -> Arrays.stream(s.gapsNanos())).mapToDouble(g -> g / 1e6).sorted().toArray();
        String firstError = samples.stream().map(Sample::error).filter(e -> e != null).findFirst().orElse(null);
        return new Level(concurrency, samples.size(), samples.size() - ok.size(), wallNanos, tokens, tokens * 1e9 / wallNanos, ok.size() * 1e9 / wallNanos,
                percentile(ttft, 50), percentile(ttft, 99), percentile(tpot, 50), percentile(tpot, 99), percentile(itl, 50), percentile(itl, 99),
                promptTokens, promptTokens * 1e9 / wallNanos, firstError);
    }

    static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) return Double.NaN;
        int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    /** Streamed request number i. */
    Sample one(int i) {
        ObjectNode body = Json.MAPPER.createObjectNode();
        if (plan.model() != null) body.put("model", plan.model());
        String prompt = promptWords > 0 ? promptFor(i, i % plan.prefixes(), sharedWords, promptWords) : plan.prompt();
        if (plan.chat()) body.putArray("messages").addObject().put("role", "user").put("content", prompt);
        else body.put("prompt", prompt);
        body.put("max_tokens", plan.maxTokens()).put("stream", true).put("temperature", 0);
        if (plan.ignoreEos()) body.put("ignore_eos", true);
        body.putObject("stream_options").put("include_usage", true);
        String path = plan.chat() ? "v1/chat/completions" : "v1/completions";
        long start = System.nanoTime(), first = 0, last = 0;
        int tokens = -1, chunks = 0, promptTokens = 0;
        long[] gaps = new long[Math.max(16, plan.maxTokens())];
        try {
            HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(plan.baseUrl().resolve(path)).timeout(plan.requestTimeout())
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(Json.write(body))).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            if (r.statusCode() != 200) {
                String text = new String(r.body().readNBytes(500), StandardCharsets.UTF_8);
                return Sample.failed("HTTP " + r.statusCode() + ": " + text);
            }
            try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    if (!line.startsWith("data: ")) continue;
                    String data = line.substring(6);
                    if (data.equals("[DONE]")) break;
                    JsonNode j = Json.MAPPER.readTree(data);
                    if (j.has("error")) return Sample.failed(j.get("error").path("message").asText());
                    if (j.path("usage").isObject()) {
                        tokens = j.path("usage").path("completion_tokens").asInt();
                        promptTokens = j.path("usage").path("prompt_tokens").asInt();
                    }
                    JsonNode c = j.path("choices").path(0);
                    String text = plan.chat() ? c.path("delta").path("content").asText("") : c.path("text").asText("");
                    if (!text.isEmpty()) {
                        long now = System.nanoTime();
                        if (first == 0) first = now;
                        else {
                            if (chunks - 1 == gaps.length) gaps = Arrays.copyOf(gaps, 2 * gaps.length);
                            gaps[chunks - 1] = now - last;
                        }
                        last = now;
                        chunks++;
                    }
                }
            }
        } catch (Exception e) {
            return Sample.failed(e.toString());
        }
        long end = System.nanoTime();
        if (first == 0) first = end;
        return new Sample(first - start, end - start, tokens >= 0 ? tokens : chunks, promptTokens, Arrays.copyOf(gaps, Math.max(0, chunks - 1)), null);
    }

    /** The results as a table. */
    public static String table(List<Level> levels) {
        StringBuilder sb = new StringBuilder(String.format("%11s %8s %6s %10s %8s %12s %12s %12s %11s %11s %13s%n",
                "concurrency", "requests", "errors", "gen tok/s", "req/s", "TTFT p50 ms", "TTFT p99 ms", "TPOT p50 ms", "ITL p50 ms", "ITL p99 ms", "prompt tok/s"));
        for (Level l : levels) {
            sb.append(String.format("%11d %8d %6d %10.1f %8.2f %12.1f %12.1f %12.2f %11.2f %11.2f %13.1f%n", l.concurrency(), l.requests(), l.errors(),
                    l.tokensPerSecond(), l.requestsPerSecond(), l.ttftP50Ms(), l.ttftP99Ms(), l.tpotP50Ms(), l.itlP50Ms(), l.itlP99Ms(),
                    l.promptTokensPerSecond()));
            if (l.firstError() != null) sb.append("            first error: ").append(l.firstError()).append('\n');
        }
        return sb.toString();
    }

    static int[] parseLevels(String csv) {
        return Arrays.stream(csv.split(",")).map(String::trim).filter(s -> !s.isEmpty()).mapToInt(Integer::parseInt).toArray();
    }
}
