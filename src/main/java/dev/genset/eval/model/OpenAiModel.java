package dev.genset.eval.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.function.Function;

/**
 * A model behind an OpenAI-compatible HTTP API (a running {@code genset serve}, llama.cpp's
 * server, vLLM, ...).
 *
 * <p>Log-likelihoods come from {@code /v1/completions} with {@code echo: true, logprobs: 1}, as
 * lm-evaluation-harness's local-completions model asks for them: the prompt is context +
 * continuation, and the continuation's log-likelihood is the sum of {@code token_logprobs} of the
 * echoed prompt tokens that end after the context ({@code text_offset}; where the tokens' text
 * is longer than the prompt, as with a SentencePiece vocabulary's leading space, the surplus is
 * taken to be at the start). {@code max_tokens} is 1 by
 * default (some servers refuse 0); the generated token is not counted. Generation uses
 * {@code /v1/completions} (the prompt as is, as local-completions does) or, for a chat model,
 * {@code /v1/chat/completions} with the prompt as one user message. Requests run a few at a time.
 */
public final class OpenAiModel implements LanguageModel {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI base;
    private final String model;
    private final String apiKey;
    private final boolean chat;
    private final int concurrency;
    private final int maxTokensForScoring;
    private final HttpClient http;
    private final Duration timeout;

    /**
     * @param baseUrl     the API root, e.g. {@code http://127.0.0.1:8080/v1} ({@code /v1} is added to a bare host)
     * @param model       the model to ask for; null: the first one {@code /v1/models} lists
     * @param apiKey      sent as a bearer token if not null
     * @param chat        generate through chat completions
     * @param concurrency requests in flight at once
     */
    public OpenAiModel(String baseUrl, String model, String apiKey, boolean chat, int concurrency) {
        this(baseUrl, model, apiKey, chat, concurrency, 1, Duration.ofMinutes(10));
    }

    public OpenAiModel(String baseUrl, String model, String apiKey, boolean chat, int concurrency, int maxTokensForScoring, Duration timeout) {
        this.base = normalize(baseUrl);
        this.apiKey = apiKey;
        this.chat = chat;
        this.concurrency = Math.max(1, concurrency);
        this.maxTokensForScoring = Math.max(0, maxTokensForScoring);
        this.timeout = timeout;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(30)).build();
        this.model = model != null && !model.isBlank() ? model : firstModel();
    }

    /**
     * Parses {@code openai:BASE_URL[#MODEL]} or {@code openai-chat:BASE_URL[#MODEL]} (generation
     * through chat completions), e.g. {@code openai:http://127.0.0.1:8080/v1#stories260K}.
     */
    public static OpenAiModel fromSpec(String spec, String apiKey, int concurrency) {
        boolean chat = spec.startsWith("openai-chat:");
        if (!chat && !spec.startsWith("openai:")) throw new IllegalArgumentException("not an endpoint: " + spec + " (openai:BASE_URL#MODEL)");
        String rest = spec.substring(chat ? "openai-chat:".length() : "openai:".length());
        int hash = rest.lastIndexOf('#');
        String url = hash >= 0 ? rest.substring(0, hash) : rest;
        String name = hash >= 0 ? rest.substring(hash + 1) : null;
        if (url.isBlank()) throw new IllegalArgumentException("the endpoint needs a base URL: openai:http://HOST:PORT/v1#MODEL");
        return new OpenAiModel(url, name, apiKey, chat, concurrency);
    }

    public static boolean isSpec(String spec) {
        return spec.startsWith("openai:") || spec.startsWith("openai-chat:");
    }

    static URI normalize(String url) {
        String u = url.strip();
        if (!u.contains("://")) u = "http://" + u;
        while (u.endsWith("/")) u = u.substring(0, u.length() - 1);
        for (String tail : List.of("/chat/completions", "/completions"))
            if (u.endsWith(tail)) u = u.substring(0, u.length() - tail.length());
        URI uri = URI.create(u);
        if (uri.getPath() == null || uri.getPath().isEmpty()) u += "/v1";
        return URI.create(u + "/");
    }

    @Override
    public String name() {
        return model;
    }

    public URI baseUrl() {
        return base;
    }

    private String firstModel() {
        JsonNode r = call("GET", "models", null);
        JsonNode data = r.path("data");
        if (!data.isArray() || data.isEmpty()) throw new IllegalStateException(base + "models lists no models; name one: openai:URL#MODEL");
        return data.get(0).path("id").asText();
    }

    @Override
    public List<LoglikelihoodResult> loglikelihood(List<LoglikelihoodRequest> requests) {
        return parallel(requests, this::score);
    }

    private LoglikelihoodResult score(LoglikelihoodRequest r) {
        String context = r.context(), continuation = r.continuation();
        int trimmed = context.length();
        while (trimmed > 0 && Character.isWhitespace(context.charAt(trimmed - 1))) trimmed--;
        continuation = context.substring(trimmed) + continuation;
        context = context.substring(0, trimmed);
        String prompt = context + continuation;
        Echo e = echo(prompt);
        // Offsets are measured in the tokens' own text, which may run longer than the prompt (a
        // SentencePiece vocabulary's space in front of the first word): the surplus is at the start.
        int shift = 0;
        if (e.promptTokens > 0) {
            int end = e.offsets[e.promptTokens - 1] + e.tokens[e.promptTokens - 1].length();
            if (end > prompt.length()) shift = end - prompt.length();
        }
        int boundary = context.length() + shift;
        double sum = 0;
        boolean greedy = true;
        int n = 0;
        for (int i = 0; i < e.promptTokens; i++) {
            if (e.offsets[i] + e.tokens[i].length() <= boundary) continue;
            if (Double.isNaN(e.logprobs[i])) continue;
            sum += e.logprobs[i];
            greedy &= e.greedy[i];
            n++;
        }
        return new LoglikelihoodResult(sum, greedy, n);
    }

    @Override
    public List<RollingResult> loglikelihoodRolling(List<String> texts, int window, int stride) {
        return parallel(texts, text -> {
            Echo e = echo(text);
            double sum = 0;
            int n = 0;
            for (int i = 0; i < e.promptTokens; i++) {
                if (Double.isNaN(e.logprobs[i])) continue;
                sum += e.logprobs[i];
                n++;
            }
            return new RollingResult(sum, n);
        });
    }

    /** The echoed prompt's tokens, offsets and log-probabilities (NaN where the server gives none). */
    private record Echo(String[] tokens, int[] offsets, double[] logprobs, boolean[] greedy, int promptTokens) {}

    private Echo echo(String prompt) {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", model).put("prompt", prompt).put("max_tokens", maxTokensForScoring)
                .put("temperature", 0).put("echo", true).put("logprobs", 1);
        JsonNode r = call("POST", "completions", body);
        JsonNode lp = r.path("choices").path(0).path("logprobs");
        JsonNode toks = lp.path("tokens"), lps = lp.path("token_logprobs"), offs = lp.path("text_offset"), top = lp.path("top_logprobs");
        if (!toks.isArray() || !lps.isArray() || !offs.isArray() || toks.size() != lps.size() || toks.size() != offs.size())
            throw new IllegalStateException("the server's completion has no echoed logprobs (tokens, token_logprobs, text_offset): " + abbreviate(r.toString()));
        int n = toks.size();
        String[] tokens = new String[n];
        int[] offsets = new int[n];
        double[] logprobs = new double[n];
        boolean[] greedy = new boolean[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = toks.get(i).asText();
            offsets[i] = offs.get(i).asInt();
            logprobs[i] = lps.get(i).isNumber() ? lps.get(i).asDouble() : Double.NaN;
            JsonNode alts = top.path(i);
            greedy[i] = true;
            if (alts.isObject() && !alts.isEmpty()) {
                String best = null;
                double bestLp = Double.NEGATIVE_INFINITY;
                for (var it = alts.properties().iterator(); it.hasNext(); ) {
                    var a = it.next();
                    if (a.getValue().asDouble() > bestLp) {
                        bestLp = a.getValue().asDouble();
                        best = a.getKey();
                    }
                }
                greedy[i] = tokens[i].equals(best) || logprobs[i] >= bestLp;
            }
        }
        // The tokens of the prompt: what usage counts as prompt, else those starting inside the prompt text.
        int promptTokens = n;
        JsonNode usage = r.path("usage").path("prompt_tokens");
        if (usage.isInt() && usage.asInt() <= n) promptTokens = usage.asInt();
        else {
            while (promptTokens > 0 && offsets[promptTokens - 1] >= prompt.length() && !tokens[promptTokens - 1].isEmpty()) promptTokens--;
        }
        return new Echo(tokens, offsets, logprobs, greedy, promptTokens);
    }

    @Override
    public List<String> generate(List<GenerationRequest> requests) {
        return parallel(requests, this::generateOne);
    }

    private String generateOne(GenerationRequest r) {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", model).put("max_tokens", r.maxTokens()).put("temperature", 0);
        if (!r.until().isEmpty()) {
            ArrayNode stop = body.putArray("stop");
            r.until().stream().limit(4).forEach(stop::add); // the API takes at most four
        }
        String text;
        if (chat) {
            body.putArray("messages").addObject().put("role", "user").put("content", r.prompt());
            text = call("POST", "chat/completions", body).path("choices").path(0).path("message").path("content").asText("");
        } else {
            body.put("prompt", r.prompt());
            text = call("POST", "completions", body).path("choices").path(0).path("text").asText("");
        }
        for (String u : r.until()) { // cut at every stop string, including those beyond the first four
            int at = u.isEmpty() ? -1 : text.indexOf(u);
            if (at >= 0) text = text.substring(0, at);
        }
        return text;
    }

    private <A, B> List<B> parallel(List<A> items, Function<A, B> f) {
        if (items.size() <= 1 || concurrency == 1) return items.stream().map(f).toList();
        Semaphore permits = new Semaphore(concurrency);
        List<CompletableFuture<B>> futures = new ArrayList<>();
        try (var exec = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (A a : items) {
                futures.add(CompletableFuture.supplyAsync(() -> {
                    permits.acquireUninterruptibly();
                    try {
                        return f.apply(a);
                    } finally {
                        permits.release();
                    }
                }, exec));
            }
            List<B> out = new ArrayList<>(items.size());
            for (CompletableFuture<B> fu : futures) out.add(fu.get());
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw new IllegalStateException(e.getCause());
        }
    }

    private JsonNode call(String method, String path, JsonNode body) {
        URI uri = base.resolve(path);
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(timeout).header("Accept", "application/json");
        if (apiKey != null && !apiKey.isBlank()) b.header("Authorization", "Bearer " + apiKey);
        if (body != null) b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body.toString()));
        else b.method(method, HttpRequest.BodyPublishers.noBody());
        for (int attempt = 0; ; attempt++) {
            try {
                HttpResponse<String> res = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
                if ((res.statusCode() == 429 || res.statusCode() == 503) && attempt < 5) {
                    Thread.sleep(250L << attempt);
                    continue;
                }
                if (res.statusCode() / 100 != 2)
                    throw new IllegalStateException(method + " " + uri + " answered " + res.statusCode() + ": " + abbreviate(res.body()));
                return JSON.readTree(res.body());
            } catch (IOException e) {
                throw new UncheckedIOException(method + " " + uri + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }
    }

    private static String abbreviate(String s) {
        s = s.replaceAll("\\s+", " ");
        return s.length() > 300 ? s.substring(0, 297) + "..." : s;
    }
}
