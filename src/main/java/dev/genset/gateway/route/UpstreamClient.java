package dev.genset.gateway.route;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.genset.gateway.Usage;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;

/**
 * Calls an OpenAI-compatible upstream: the request with the upstream's model name and key; a
 * stream passed on event by event, with {@code stream_options.include_usage} asked for so the
 * usage comes from the upstream (counted with the {@link TokenCounter} where it does not).
 */
public final class UpstreamClient {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final UpstreamHttp http;
    private final TokenCounter counter;
    /** Parsed endpoint URLs (a deployment's base URL plus a path), kept: parsing one per request showed in profiles. */
    private final ConcurrentHashMap<String, URI> uris = new ConcurrentHashMap<>();

    public UpstreamClient(TokenCounter counter) {
        this.http = new UpstreamHttp(10_000);
        this.counter = counter == null ? TokenCounter.ESTIMATE : counter;
    }

    /** Connections opened to upstreams so far (the rest of the requests reused one). */
    public int connectionsOpened() {
        return http.connectionsOpened();
    }

    /**
     * Sends one attempt.
     *
     * @param path         e.g. {@code /chat/completions}, appended to the deployment's base URL
     * @param body         the client's request body (not modified)
     * @param promptTokens the prompt's length as the gateway counted it, used when the upstream reports none
     * @param sink         where a stream goes; null for a non-streamed request
     */
    public Outcome send(Deployment d, String path, ObjectNode body, long promptTokens, ResponseSink sink) {
        boolean stream = body.path("stream").asBoolean(false);
        ObjectNode req = body.objectNode().setAll(body); // shallow: only top-level fields are replaced below
        req.put("model", d.targetModel());
        boolean clientWantsUsage = body.path("stream_options").path("include_usage").asBoolean(false);
        if (stream) req.putObject("stream_options").put("include_usage", true);
        Map<String, String> headers = new LinkedHashMap<>(4);
        headers.put("Content-Type", "application/json");
        headers.put("Accept", stream ? "text/event-stream" : "application/json");
        if (d.apiKey() != null) headers.put("Authorization", "Bearer " + d.apiKey());
        int timeoutMs = (int) Math.max(1, Math.min(Integer.MAX_VALUE, d.timeout().toMillis()));
        UpstreamHttp.Response res;
        try {
            res = http.post(uris.computeIfAbsent(d.baseUrl() + path, URI::create), headers, JSON.writeValueAsBytes(req), timeoutMs, timeoutMs);
        } catch (UpstreamHttp.HeaderTimeoutException e) {
            return Outcome.failed("no response from " + d.name() + " within " + d.timeout().toMillis() + " ms", true);
        } catch (IOException | IllegalArgumentException e) {
            return Outcome.failed(d.name() + ": " + e.getMessage(), false);
        }
        int status = res.status();
        if (status < 200 || status >= 300) {
            byte[] err;
            try (InputStream in = res.body()) {
                err = in.readAllBytes();
            } catch (IOException e) {
                err = new byte[0];
            }
            return new Outcome(status, err, Usage.NONE, retryAfterMs(res), false, false, d.name() + " answered " + status);
        }
        if (!stream || sink == null) return whole(d, res, promptTokens);
        return relay(d, res, promptTokens, sink, clientWantsUsage);
    }

    private Outcome whole(Deployment d, UpstreamHttp.Response res, long promptTokens) {
        try (InputStream in = res.body()) {
            byte[] bytes = in.readAllBytes();
            Scanned fast = scan(bytes, d.model());
            if (fast != null) return new Outcome(res.status(), fast.body(), fast.usage().withDeployment(d.provider(), d.name()), -1, false, true, null);
            JsonNode n = JSON.readTree(bytes);
            if (n instanceof ObjectNode o) {
                o.put("model", d.model());
                bytes = JSON.writeValueAsBytes(o);
            }
            Usage u = usage(n == null ? null : n.get("usage"));
            if (u == null) {
                StringBuilder text = new StringBuilder();
                if (n != null) for (JsonNode c : n.path("choices")) text.append(c.path("message").path("content").asText("")).append(c.path("text").asText(""));
                u = new Usage(promptTokens, counter.count(d.model(), text.toString()), 0, d.provider(), d.name());
            }
            return new Outcome(res.status(), bytes, u.withDeployment(d.provider(), d.name()), -1, false, true, null);
        } catch (java.net.SocketTimeoutException e) {
            return Outcome.failed(d.name() + ": the body stalled: nothing for " + d.timeout().toMillis() + " ms", true);
        } catch (IOException e) {
            return new Outcome(res.status(), null, Usage.NONE, -1, false, false, d.name() + ": " + e.getMessage());
        }
    }

    /** A response body with the public model name in it, and the usage it reported. */
    record Scanned(byte[] body, Usage usage) {}

    /**
     * The usual case without building a tree: a JSON object with a top-level string "model" and a
     * "usage" object. The model's value is replaced in the bytes; everything else passes as the
     * upstream wrote it. Null for anything else (then the response is parsed whole).
     */
    static Scanned scan(byte[] bytes, String model) throws IOException {
        try (JsonParser p = JSON.getFactory().createParser(bytes)) {
            if (p.nextToken() != JsonToken.START_OBJECT) return null;
            long start = -1, end = -1;
            Usage usage = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken t = p.nextToken();
                if (start < 0 && t == JsonToken.VALUE_STRING && field.equals("model")) {
                    start = p.currentTokenLocation().getByteOffset();
                    p.getText(); // reads to the closing quote
                    end = p.currentLocation().getByteOffset();
                } else if (usage == null && t == JsonToken.START_OBJECT && field.equals("usage")) {
                    usage = usage(JSON.readTree(p));
                } else {
                    p.skipChildren();
                }
            }
            if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) return null;
            if (usage == null || start < 0 || end <= start || end > bytes.length || bytes[(int) start] != '"' || bytes[(int) end - 1] != '"')
                return null;
            byte[] quoted = JSON.writeValueAsBytes(model);
            byte[] out = new byte[bytes.length - (int) (end - start) + quoted.length];
            System.arraycopy(bytes, 0, out, 0, (int) start);
            System.arraycopy(quoted, 0, out, (int) start, quoted.length);
            System.arraycopy(bytes, (int) end, out, (int) start + quoted.length, bytes.length - (int) end);
            return new Scanned(out, usage);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return null; // not clean JSON: the tree path decides
        }
    }

    /** Passes a stream on event by event, watching for the usage chunk and [DONE]. */
    private Outcome relay(Deployment d, UpstreamHttp.Response res, long promptTokens, ResponseSink sink, boolean clientWantsUsage) {
        boolean started = false, done = false;
        Usage reported = null;
        List<StringBuilder> perChoice = new ArrayList<>(); // the text of each choice, to count and to capture
        StringBuilder event = new StringBuilder();
        String error = null;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (!line.isEmpty()) {
                    event.append(line).append('\n');
                    continue;
                }
                if (event.isEmpty()) continue;
                String ev = event.toString();
                event.setLength(0);
                boolean forward = true;
                for (String l : ev.split("\n")) {
                    if (!l.startsWith("data:")) continue;
                    String data = l.substring(5).trim();
                    if (data.equals("[DONE]")) {
                        done = true;
                        continue;
                    }
                    try {
                        JsonNode n = JSON.readTree(data);
                        Usage u = usage(n.get("usage"));
                        if (u != null) {
                            reported = u;
                            if (!clientWantsUsage && n.path("choices").isEmpty()) forward = false; // asked for by us, not the client
                        }
                        for (JsonNode c : n.path("choices")) {
                            int i = Math.clamp(c.path("index").asInt(0), 0, 127); // n is small; a stray index joins a neighbour
                            while (perChoice.size() <= i) perChoice.add(new StringBuilder());
                            perChoice.get(i).append(c.path("delta").path("content").asText("")).append(c.path("text").asText(""));
                        }
                    } catch (IOException notJson) {
                        // pass it on as it is
                    }
                }
                if (!forward) continue;
                if (!started) {
                    sink.start(res.status(), "text/event-stream");
                    started = true;
                }
                sink.chunk((ev + "\n").getBytes(StandardCharsets.UTF_8));
            }
        } catch (java.net.SocketTimeoutException e) {
            error = d.name() + ": the stream stalled: nothing for " + d.timeout().toMillis() + " ms";
        } catch (IOException e) {
            error = d.name() + ": stream failed: " + e.getMessage();
        }
        if (!done && error == null) error = d.name() + ": the stream ended before [DONE]";
        Usage u = reported != null ? reported
                : new Usage(promptTokens, counter.count(d.model(), String.join("", perChoice)), 0, d.provider(), d.name());
        return new Outcome(res.status(), null, u.withDeployment(d.provider(), d.name()), -1, started, done, error,
                perChoice.stream().map(StringBuilder::toString).toList());
    }

    static Usage usage(JsonNode u) {
        if (u == null || u.isNull() || !u.has("prompt_tokens")) return null;
        return new Usage(u.path("prompt_tokens").asLong(), u.path("completion_tokens").asLong(),
                u.path("prompt_tokens_details").path("cached_tokens").asLong(0), null, null);
    }

    /** Retry-After in ms (seconds or an HTTP date; retry-after-ms too), or -1. */
    static long retryAfterMs(UpstreamHttp.Response res) {
        String ms = res.header("retry-after-ms");
        if (ms != null) {
            try {
                return Math.max(0, (long) Double.parseDouble(ms.trim()));
            } catch (NumberFormatException ignored) {
                // fall through
            }
        }
        String ra = res.header("retry-after");
        if (ra == null) return -1;
        String v = ra.trim();
        try {
            return Math.max(0, (long) (Double.parseDouble(v) * 1000));
        } catch (NumberFormatException notSeconds) {
            try {
                return Math.max(0, ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant().toEpochMilli() - System.currentTimeMillis());
            } catch (RuntimeException notDate) {
                return -1;
            }
        }
    }
}
