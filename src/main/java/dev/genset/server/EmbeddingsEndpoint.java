package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.genset.engine.tokenizer.Tokenizer;
import dev.genset.gateway.Usage;
import dev.genset.gateway.route.Outcome;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/**
 * POST /v1/embeddings: OpenAI's embeddings request (input as a string, strings, token ids or
 * arrays of token ids; encoding_format float or base64; dimensions) answered by a model served
 * here ({@link ServedModel#embed}) or routed over the model's deployments, metered by its prompt
 * tokens.
 */
final class EmbeddingsEndpoint {
    // truncate (not OpenAI's; Ollama's, default off here): inputs longer than the context are cut to it instead of refused
    private static final Set<String> FIELDS = Set.of("model", "input", "encoding_format", "dimensions", "user", "keep_alive", "truncate");
    /** Inputs per request at most, as OpenAI allows. */
    static final int MAX_INPUTS = 2048;
    /** Input tokens from which a request is cancelled when its client leaves. */
    static final long WATCHED_TOKENS = 4096;

    private final Upstream upstream;
    private final ServerMetrics metrics;

    EmbeddingsEndpoint(Upstream upstream, ServerMetrics metrics) {
        this.upstream = upstream;
        this.metrics = metrics;
    }

    void embeddings(byte[] body, ServerResponse res, Call call) throws IOException, InterruptedException {
        Json j = Json.parseObject(body);
        if (upstream.handles(j.node().path("model").asText(null))) {
            upstream.forward("/embeddings", j, res, call, this::embeddings);
            return;
        }
        embeddings(j, new Reply.Direct(res), call);
    }

    /**
     * The outcome of an embeddings request served here or over its model's deployments, for
     * another API's route to reshape (Ollama's /api/embed). Errors of a local model are thrown.
     */
    Outcome outcome(ObjectNode body, Call call) throws InterruptedException {
        if (upstream.handles(body.path("model").asText(null))) {
            body.remove("truncate"); // an OpenAI upstream refuses fields it does not know
            return upstream.route("/embeddings", body, call, null, this::embeddings);
        }
        Reply.Routed reply = new Reply.Routed(null);
        embeddings(Json.of(body, ""), reply, call);
        return reply.outcome("local");
    }

    private void embeddings(Json j, Reply target, Call call) throws InterruptedException {
        j.allowOnly(FIELDS);
        ServedModel model = call.model(j.string("model", null), Call.keepAlive(j.get("keep_alive")));
        String format = j.string("encoding_format", "float");
        if (!format.equals("float") && !format.equals("base64"))
            throw ApiException.invalid("encoding_format", "invalid_value", "Invalid 'encoding_format': expected 'float' or 'base64', but got '" + format + "'.");
        Tokenizer tok = model.tokenizer();
        List<int[]> inputs = inputs(j, tok);
        int width = model.model().config().dim();
        Integer dimensions = j.integer("dimensions", 1, Integer.MAX_VALUE);
        if (dimensions != null && dimensions > width)
            throw ApiException.invalid("dimensions", "invalid_value", "Invalid 'dimensions': the model's embeddings have " + width + " dimensions, fewer than "
                    + dimensions + ".");
        int ctx = model.scheduler().contextSize();
        boolean truncate = j.bool("truncate", false);
        long tokens = 0;
        for (int i = 0; i < inputs.size(); i++) {
            if (truncate && inputs.get(i).length > ctx) inputs.set(i, java.util.Arrays.copyOf(inputs.get(i), ctx));
            int n = inputs.get(i).length;
            tokens += n;
            if (n > ctx) throw new ApiException(400, "exceed_context_size_error", "Input " + i + " has " + n + " tokens but the context size is " + ctx
                    + ": shorten it by at least " + (n - ctx) + " tokens.", "input", "context_length_exceeded").extra("n_prompt_tokens", n).extra("n_ctx", ctx);
        }
        call.meter().admit(model.id, tokens, 0);
        Future<List<float[]>> pending = model.embed(inputs);
        // a long request stops if its client leaves; a short one keeps its connection (watching closes it after the reply)
        if (tokens >= WATCHED_TOKENS) call.watchClient(() -> pending.cancel(true));
        List<float[]> vectors;
        try {
            vectors = pending.get();
        } catch (CancellationException e) {
            throw ApiException.clientClosed();
        } catch (InterruptedException e) {
            pending.cancel(true);
            throw e;
        } catch (ExecutionException e) { // stopped by the model's unloading, or failed
            throw e.getCause() instanceof CancellationException ? ApiException.unavailable("Model '" + model.id + "' was unloaded; try again.")
                    : Job.map(e.getCause());
        }
        call.meter().usage(Usage.of(tokens, 0));
        metrics.promptTokens(model.id, (int) Math.min(Integer.MAX_VALUE, tokens), 0);

        ObjectNode r = Json.MAPPER.createObjectNode();
        r.put("object", "list");
        ArrayNode data = r.putArray("data");
        for (int i = 0; i < vectors.size(); i++) {
            float[] v = vectors.get(i);
            if (dimensions != null && dimensions < v.length) v = dev.genset.engine.embed.Embedder.normalized(v, dimensions); // shortened, then unit length again, as OpenAI does
            ObjectNode d = data.addObject();
            d.put("object", "embedding");
            d.put("index", i);
            if (format.equals("base64")) d.put("embedding", base64(v));
            else {
                ArrayNode values = d.putArray("embedding");
                for (float f : v) values.add(f);
            }
        }
        r.put("model", model.id);
        ObjectNode usage = r.putObject("usage");
        usage.put("prompt_tokens", tokens);
        usage.put("total_tokens", tokens);
        target.send(r);
    }

    /** Little-endian float32 values, base64: what OpenAI's clients decode. */
    static String base64(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return Base64.getEncoder().encodeToString(b.array());
    }

    private static List<int[]> inputs(Json j, Tokenizer tok) {
        JsonNode in = j.get("input");
        if (in == null || in.isNull()) throw ApiException.invalid("input", "missing_required_parameter", "Missing required parameter: 'input'.");
        List<int[]> out = new ArrayList<>();
        if (in.isTextual()) out.add(text(in.textValue(), tok, "input"));
        else if (in.isArray()) {
            if (in.isEmpty()) throw ApiException.invalid("input", "empty_array", "Invalid 'input': empty array.");
            if (in.size() > MAX_INPUTS) throw ApiException.invalid("input", "array_above_max_length", "Invalid 'input': at most " + MAX_INPUTS + " inputs per request.");
            if (in.get(0).isIntegralNumber()) out.add(OpenAiEndpoints.tokenIds(in, "input", tok));
            else for (int i = 0; i < in.size(); i++) {
                JsonNode e = in.get(i);
                String path = "input[" + i + "]";
                if (e.isTextual()) out.add(text(e.textValue(), tok, path));
                else if (e.isArray()) out.add(OpenAiEndpoints.tokenIds(e, path, tok));
                else throw ApiException.invalid(path, "invalid_type", "Invalid type for '" + path + "': expected a string or an array of token ids, but got "
                            + Json.describe(e) + " instead.");
            }
        } else {
            throw j.wrongType("input", "a string, an array of strings, an array of token ids or an array of arrays of token ids", in);
        }
        return out;
    }

    private static int[] text(String s, Tokenizer tok, String path) {
        if (s.isEmpty()) throw ApiException.invalid(path, "empty_input", "Invalid '" + path + "': the input is empty.");
        int[] t = tok.encode(s, true, true);
        if (t.length == 0) throw ApiException.invalid(path, "empty_input", "Invalid '" + path + "': the input has no tokens.");
        return t;
    }
}
