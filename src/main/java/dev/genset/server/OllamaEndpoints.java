package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.genset.engine.batch.GenerationRequest;
import dev.genset.engine.batch.JsonConstraint;
import dev.genset.engine.batch.JsonSchema;
import dev.genset.engine.batch.SequenceEvent;
import dev.genset.engine.sampling.TokenConstraint;
import dev.genset.engine.chat.ChatMessage;
import dev.genset.engine.tokenizer.Tokenizer;
import dev.genset.models.KeepAlive;
import dev.genset.models.Manifest;
import dev.genset.models.ModelDetails;
import dev.genset.models.ModelManager;
import dev.genset.models.ModelNotFoundException;
import dev.genset.models.ModelRef;
import dev.genset.models.Progress;
import dev.genset.models.PullOptions;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Ollama's native API with its field names: /api/generate and /api/chat (newline-delimited JSON
 * streams ending in a {@code "done": true} object with token counts and durations in nanoseconds),
 * /api/tags, /api/show, /api/ps, /api/pull, /api/delete and /api/version. Models load on request
 * (the request waits) and unload after their keep-alive.
 */
final class OllamaEndpoints {
    static final String VERSION = "0.12.0";
    private static final String FOREVER = "2318-09-16T00:00:00Z"; // how Ollama writes "never expires"

    private final ModelRegistry models;
    private final ServerMetrics metrics;
    private final Duration timeout;
    private final Upstream upstream;
    private final Upstream.LocalPath chatLocal, completionsLocal; // OpenAI's local paths, for routed models' local deployments

    OllamaEndpoints(ModelRegistry models, ServerMetrics metrics, Duration timeout, Upstream upstream, Upstream.LocalPath chatLocal,
                    Upstream.LocalPath completionsLocal, EmbeddingsEndpoint embeddings) {
        this.embeddings = embeddings;
        this.models = models;
        this.metrics = metrics;
        this.timeout = timeout;
        this.upstream = upstream;
        this.chatLocal = chatLocal;
        this.completionsLocal = completionsLocal;
    }

    private final EmbeddingsEndpoint embeddings;

    /** A model the gateway routes and this server does not hold (those it holds are served here as Ollama serves them). */
    private boolean routed(String name) {
        return upstream.handles(name) && !models.has(name);
    }

    // ---- embeddings ----------------------------------------------------------------------------

    /**
     * POST /api/embed: Ollama's request (input as text or texts; truncate, on by default, cuts an
     * input to the context) through the OpenAI embeddings path, local or routed, and Ollama's answer.
     */
    void embed(byte[] body, ServerResponse res, Call call) throws IOException, InterruptedException {
        Json j = Json.parseObject(body);
        String name = j.requiredString("model");
        long t0 = System.nanoTime();
        JsonNode input = j.get("input");
        if (input == null || input.isNull()) throw ApiException.invalid("input", "missing_required_parameter", "Missing required parameter: 'input'.");
        ObjectNode request = Json.MAPPER.createObjectNode().put("model", name);
        request.set("input", input);
        if (j.has("dimensions")) request.set("dimensions", j.get("dimensions"));
        request.put("truncate", j.bool("truncate", true));
        long loadNanos = loadUnlessRouted(name, j, request, call);
        JsonNode answer = Upstream.whole(name, embeddings.outcome(request, call), "data");
        ObjectNode r = Json.MAPPER.createObjectNode().put("model", name);
        ArrayNode vectors = r.putArray("embeddings");
        for (JsonNode d : answer.path("data")) vectors.add(d.path("embedding"));
        r.put("total_duration", System.nanoTime() - t0).put("load_duration", loadNanos).put("prompt_eval_count", answer.path("usage").path("prompt_tokens").asLong());
        OpenAiEndpoints.send(res, r);
    }

    /**
     * For a model served here: waits for it to load, as Ollama's routes do, with the request's
     * keep_alive (passed on in {@code request}); returns how long that took. A routed model's
     * upstream gets no keep_alive, which OpenAI's API does not know.
     */
    private long loadUnlessRouted(String name, Json j, ObjectNode request, Call call) {
        if (routed(name)) return 0;
        long t0 = System.nanoTime();
        if (j.has("keep_alive")) request.set("keep_alive", j.get("keep_alive"));
        call.model(name, Call.keepAlive(j.get("keep_alive")), true);
        return System.nanoTime() - t0;
    }

    /** POST /api/embeddings, Ollama's older form: one "prompt", one "embedding" back (here at unit length, as /api/embed gives it). */
    void embeddings(byte[] body, ServerResponse res, Call call) throws IOException, InterruptedException {
        Json j = Json.parseObject(body);
        String name = j.requiredString("model");
        String prompt = j.requiredString("prompt");
        ObjectNode request = Json.MAPPER.createObjectNode().put("model", name).put("input", prompt).put("truncate", true);
        loadUnlessRouted(name, j, request, call);
        JsonNode answer = Upstream.whole(name, this.embeddings.outcome(request, call), "data");
        ObjectNode r = Json.MAPPER.createObjectNode();
        r.set("embedding", answer.path("data").path(0).path("embedding"));
        OpenAiEndpoints.send(res, r);
    }

    // ---- generation ----------------------------------------------------------------------------

    void generate(byte[] body, ServerResponse res, Call call) throws IOException, InterruptedException {
        Json j = Json.parseObject(body);
        String name = j.requiredString("model");
        KeepAlive keep = Call.keepAlive(j.get("keep_alive"));
        String prompt = j.string("prompt", "");
        if (routed(name)) {
            if (prompt.isEmpty() && !j.has("suffix")) OllamaRouting.loaded(name, false, res);
            else OllamaRouting.generate(j, res, call, upstream, chatLocal, completionsLocal);
            return;
        }
        if (prompt.isEmpty() && !j.has("suffix")) {
            loadOrUnload(name, keep, res, call, false);
            return;
        }
        Boolean think = think(j);
        long t0 = System.nanoTime();
        ServedModel m = call.model(name, keep, true);
        long loadNanos = System.nanoTime() - t0;
        Tokenizer tok = m.tokenizer();
        String text;
        Boolean startsInside = null;
        String system = j.string("system", null);
        if (j.bool("raw", false) || !m.model().gguf().has("tokenizer.chat_template")) {
            text = system == null ? prompt : system + "\n" + prompt;
        } else {
            List<ChatMessage> msgs = new ArrayList<>();
            if (system != null) msgs.add(new ChatMessage("system", system));
            msgs.add(new ChatMessage("user", prompt));
            text = apply(m, msgs, think);
            startsInside = thinking(m, think, text);
        }
        int[] tokens = encode(tok, text);
        JsonNode ctx = j.get("context");
        if (ctx != null && ctx.isArray() && !ctx.isEmpty()) {
            int[] prefix = new int[ctx.size()];
            for (int i = 0; i < prefix.length; i++) {
                long v = ctx.get(i).asLong(-1);
                if (v < 0 || v >= tok.vocabSize()) throw ApiException.invalid("context", "invalid_value", "Invalid token id in 'context': " + ctx.get(i));
                prefix[i] = (int) v;
            }
            int[] joined = new int[prefix.length + tokens.length];
            System.arraycopy(prefix, 0, joined, 0, prefix.length);
            System.arraycopy(tokens, 0, joined, prefix.length, tokens.length);
            tokens = joined;
        }
        run(j, m, tokens, res, call, t0, loadNanos, false, startsInside);
    }

    void chat(byte[] body, ServerResponse res, Call call) throws IOException, InterruptedException {
        Json j = Json.parseObject(body);
        String name = j.requiredString("model");
        KeepAlive keep = Call.keepAlive(j.get("keep_alive"));
        ArrayNode arr = j.array("messages");
        if (routed(name)) {
            if (arr == null || arr.isEmpty()) OllamaRouting.loaded(name, true, res);
            else OllamaRouting.chat(j, res, call, upstream, chatLocal);
            return;
        }
        if (arr == null || arr.isEmpty()) {
            loadOrUnload(name, keep, res, call, true);
            return;
        }
        List<ChatMessage> msgs = new ArrayList<>();
        for (int i = 0; i < arr.size(); i++) {
            JsonNode n = arr.get(i);
            String role = n.path("role").asText("");
            if (role.isEmpty()) throw ApiException.invalid("messages[" + i + "].role", "missing_required_parameter", "Missing 'role' in messages[" + i + "].");
            msgs.add(new ChatMessage(role, n.path("content").asText("")));
        }
        Boolean think = think(j);
        long t0 = System.nanoTime();
        ServedModel m = call.model(name, keep, true);
        long loadNanos = System.nanoTime() - t0;
        String text = apply(m, msgs, think);
        int[] tokens = encode(m.tokenizer(), text);
        run(j, m, tokens, res, call, t0, loadNanos, true, thinking(m, think, text));
    }

    /**
     * A request's {@code think}: null when not given, else whether the model is to think (Ollama's
     * levels "low", "medium" and "high" mean yes).
     */
    private static Boolean think(Json j) {
        JsonNode v = j.get("think");
        if (v == null || v.isNull()) return null;
        if (v.isBoolean()) return v.booleanValue();
        if (v.isTextual() && java.util.Set.of("low", "medium", "high").contains(v.textValue())) return true;
        throw ApiException.invalid("think", "invalid_value", "'think' must be true, false, \"low\", \"medium\" or \"high\".");
    }

    /**
     * With {@code think: true} a thinking model's reasoning comes as {@code thinking}, apart from its
     * answer (null: not split); a model whose template knows no thinking refuses it, as Ollama does.
     */
    private static Boolean thinking(ServedModel m, Boolean think, String prompt) {
        if (!Boolean.TRUE.equals(think)) return null;
        if (!m.reasons()) throw ApiException.invalid("think", "invalid_value", "\"" + m.id + "\" does not support thinking");
        return ReasoningSplit.opens(prompt);
    }

    /** The conversation in the model's template; {@code think} false asks the template to skip thinking (Qwen3's enable_thinking). */
    private static String apply(ServedModel m, List<ChatMessage> msgs, Boolean think) {
        try {
            return m.template().apply(msgs, true, think == null ? java.util.Map.of() : java.util.Map.of("enable_thinking", think));
        } catch (RuntimeException e) {
            throw ApiException.invalid("messages", "invalid_messages", "The model's chat template rejected the messages: " + e.getMessage());
        }
    }

    private static int[] encode(Tokenizer tok, String text) {
        boolean hasBos = tok.bos() >= 0 && text.startsWith(tok.tokenText(tok.bos()));
        int[] t = tok.encode(text, !hasBos, true);
        if (t.length == 0) throw ApiException.invalid("prompt", "The prompt is empty.");
        return t;
    }

    /** A request without a prompt loads the model (or, with keep_alive 0, unloads it). */
    private void loadOrUnload(String name, KeepAlive keep, ServerResponse res, Call call, boolean chat) {
        String reason;
        String id = models.idOf(name);
        if (keep != null && keep.immediate()) {
            models.unload(id);
            reason = "unload";
        } else {
            call.model(name, keep, true);
            reason = "load";
        }
        ObjectNode r = head(id);
        if (chat) r.putObject("message").put("role", "assistant").put("content", "");
        else r.put("response", "");
        r.put("done", true).put("done_reason", reason);
        OpenAiEndpoints.send(res, r);
    }

    /** @param startsInside null: the reply is not split into thinking and answer; else whether the prompt opened the thinking */
    private void run(Json j, ServedModel m, int[] tokens, ServerResponse res, Call call, long t0, long loadNanos, boolean chat, Boolean startsInside)
            throws IOException, InterruptedException {
        boolean stream = j.bool("stream", true);
        Json options = j.object("options");
        SamplingParams sp = SamplingParams.parse(Json.of(openAiOptions(options), "options"));
        Integer numPredict = options == null ? null : options.integer("num_predict", -2, Integer.MAX_VALUE);
        int maxTokens = numPredict == null || numPredict < 0 ? -1 : numPredict;
        Supplier<TokenConstraint> constraint = format(j.get("format"), m.tokenizer());
        List<String> stops = new ArrayList<>(sp.stopOrEmpty());
        stops.addAll(m.templateStops());
        int ctx = m.scheduler().contextSize();
        call.meter().admit(m.id, tokens.length, maxTokens > 0 ? maxTokens : Math.max(1, ctx - tokens.length));
        GenerationRequest req = new GenerationRequest(tokens, maxTokens == 0 ? 1 : maxTokens, sp.toConfig(0), stops, sp.ignoreEos(), -1, false,
                sp.logitBias(), constraint, timeout, call.meter().cacheScope(null));
        Job job = Job.submit(m.scheduler(), List.of(req), call.start(), metrics, m.id);
        call.meter().job(job, 1);
        String id = m.id;
        if (!stream) {
            call.watchClient(job);
            StringBuilder text = new StringBuilder();
            SequenceEvent.Done done = null;
            try {
                while (!job.done()) {
                    Job.Tagged t = job.next(Duration.ofSeconds(1));
                    if (t == null) continue;
                    switch (t.event()) {
                        case SequenceEvent.Text x -> text.append(x.text());
                        case SequenceEvent.Done d -> done = d;
                        case SequenceEvent.Failed f -> throw Job.map(f.error());
                        default -> {}
                    }
                }
            } finally {
                job.cancelAndDrain();
            }
            if (done == null || done.reason() == dev.genset.engine.generate.FinishReason.CANCELLED)
                throw done != null && done.timedOut() ? new ApiException(504, "timeout_error", "The generation did not finish in time.", null, "timeout")
                        : ApiException.unavailable("The generation was cancelled.");
            ObjectNode whole;
            if (startsInside != null) {
                ReasoningSplit.Piece split = ReasoningSplit.of(text.toString(), startsInside);
                whole = withThinking(last(id, chat, split.content(), done, t0, loadNanos), chat, split.reasoning());
            } else {
                whole = last(id, chat, text.toString(), done, t0, loadNanos);
            }
            OpenAiEndpoints.send(res, whole);
            return;
        }
        res.status(200);
        res.header("Content-Type", "application/x-ndjson");
        OutputStream out = res.outputStream();
        ReasoningSplit split = startsInside == null ? null : new ReasoningSplit(startsInside);
        try {
            while (!job.done()) {
                Job.Tagged t = job.next(Duration.ofSeconds(1));
                if (t == null) continue;
                switch (t.event()) {
                    case SequenceEvent.Text x -> {
                        if (x.text().isEmpty()) continue;
                        if (split == null) line(out, part(id, chat, x.text()));
                        else pieces(out, id, chat, split.push(x.text()));
                    }
                    case SequenceEvent.Done d -> {
                        if (d.reason() == dev.genset.engine.generate.FinishReason.CANCELLED) {
                            line(out, Json.MAPPER.createObjectNode().put("error", d.timedOut() ? "the generation did not finish in time" : "the generation was cancelled"));
                            job.cancelAndDrain();
                            return;
                        }
                        if (split != null) pieces(out, id, chat, split.flush());
                        line(out, last(id, chat, "", d, t0, loadNanos));
                    }
                    case SequenceEvent.Failed f -> {
                        line(out, Json.MAPPER.createObjectNode().put("error", Job.map(f.error()).getMessage()));
                        job.cancelAndDrain();
                        return;
                    }
                    default -> {}
                }
            }
        } catch (IOException e) {
            call.meter().clientGone();
            job.cancelAndDrain();
        } finally {
            try {
                out.close();
            } catch (IOException | RuntimeException ignored) {
                // the client is gone
            }
        }
    }

    /** A split piece as Ollama's lines: its thinking, then its answer text. */
    private static void pieces(OutputStream out, String id, boolean chat, ReasoningSplit.Piece p) throws IOException {
        if (!p.reasoning().isEmpty()) line(out, withThinking(part(id, chat, ""), chat, p.reasoning()));
        if (!p.content().isEmpty()) line(out, part(id, chat, p.content()));
    }

    /** Adds thinking to a line: a chat message's {@code thinking}, or generate's. */
    private static ObjectNode withThinking(ObjectNode line, boolean chat, String thinking) {
        if (thinking.isEmpty()) return line;
        if (chat) ((ObjectNode) line.get("message")).put("thinking", thinking);
        else line.put("thinking", thinking);
        return line;
    }

    private static void line(OutputStream out, JsonNode json) throws IOException {
        try {
            out.write((Json.write(json) + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (RuntimeException e) {
            throw new IOException("client went away", e);
        }
    }

    private static ObjectNode head(String model) {
        return Json.MAPPER.createObjectNode().put("model", model).put("created_at", Instant.now().toString());
    }

    /** One line of Ollama's answer: a piece of text (a chat message's content, or generate's response), not done. */
    static ObjectNode part(String model, boolean chat, String text) {
        ObjectNode r = head(model);
        if (chat) r.putObject("message").put("role", "assistant").put("content", text);
        else r.put("response", text);
        return r.put("done", false);
    }

    private static ObjectNode last(String model, boolean chat, String text, SequenceEvent.Done d, long t0, long loadNanos) {
        ObjectNode r = part(model, chat, text);
        r.put("done", true).put("done_reason", d.reason().apiName())
                .put("total_duration", System.nanoTime() - t0).put("load_duration", loadNanos)
                .put("prompt_eval_count", d.promptTokens()).put("prompt_eval_duration", d.promptNanos())
                .put("eval_count", d.completionTokens()).put("eval_duration", d.generationNanos());
        return r;
    }

    /** Ollama's options as the OpenAI-named fields {@link SamplingParams} reads. */
    private static ObjectNode openAiOptions(Json options) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        if (options == null) return o;
        for (String f : new String[] {"temperature", "top_p", "top_k", "min_p", "seed", "stop", "repeat_penalty", "repeat_last_n",
                "presence_penalty", "frequency_penalty", "typical_p", "mirostat", "mirostat_tau", "mirostat_eta"}) {
            JsonNode v = options.get(f);
            if (v != null && !v.isNull()) o.set(f, v);
        }
        return o;
    }

    private static Supplier<TokenConstraint> format(JsonNode f, Tokenizer tok) {
        if (f == null || f.isNull() || (f.isTextual() && f.textValue().isEmpty())) return null;
        if (f.isTextual() && f.textValue().equals("json")) return JsonConstraint.factory(tok);
        if (f.isObject()) {
            try {
                return JsonConstraint.factory(tok, JsonSchema.compile(f));
            } catch (IllegalArgumentException e) {
                throw ApiException.invalid("format", "invalid_json_schema", "Invalid JSON schema: " + e.getMessage());
            }
        }
        throw ApiException.invalid("format", "invalid_value", "'format' must be \"json\" or a JSON schema.");
    }

    // ---- models --------------------------------------------------------------------------------

    void tags(byte[] body, ServerResponse res, Call call) {
        ObjectNode r = Json.MAPPER.createObjectNode();
        ArrayNode list = r.putArray("models");
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (String id : models.available()) {
            if (!call.meter().allowsModel(id) || !seen.add(id)) continue;
            Info i = info(id);
            if (i == null) continue;
            ObjectNode o = list.addObject().put("name", id).put("model", id).put("modified_at", i.modified).put("size", i.size)
                    .put("digest", i.digest);
            o.set("details", details(i.details));
        }
        for (String id : upstream.models()) { // served by a provider: nothing to say of its file
            if (!call.meter().allowsModel(id) || !seen.add(id)) continue;
            ObjectNode o = list.addObject().put("name", id).put("model", id).put("modified_at", Instant.EPOCH.toString()).put("size", 0)
                    .put("digest", "");
            o.set("details", upstreamDetails());
        }
        OpenAiEndpoints.send(res, r);
    }

    void show(byte[] body, ServerResponse res, Call call) {
        Json j = Json.parseObject(body);
        String name = j.string("model", j.string("name", null));
        if (name == null) throw ApiException.invalid("model", "missing_required_parameter", "Missing required parameter: 'model'.");
        if (routed(name) && call.meter().allowsModel(name)) { // a provider's model: no file, template or parameters to show
            ObjectNode r = Json.MAPPER.createObjectNode().put("license", "").put("modelfile", "# served by an upstream provider\nFROM " + name + "\n")
                    .put("parameters", "").put("template", "");
            r.set("details", upstreamDetails());
            r.putObject("model_info");
            OpenAiEndpoints.send(res, r);
            return;
        }
        String id = models.idOf(name);
        Info i = info(id);
        if (i == null) throw ApiException.notFound("model", "model_not_found", "model '" + name + "' not found");
        ObjectNode r = Json.MAPPER.createObjectNode();
        String template = "{{ .Prompt }}";
        try (var gguf = dev.genset.engine.gguf.GgufFile.open(i.path)) {
            template = gguf.getString("tokenizer.chat_template", template);
        } catch (Exception ignored) {
            // header unreadable: the default
        }
        r.put("license", i.details.license() == null ? "" : i.details.license());
        r.put("modelfile", "# Modelfile generated by genset\nFROM " + id + "\n");
        r.put("parameters", "");
        r.put("template", template);
        r.set("details", details(i.details));
        ObjectNode info = r.putObject("model_info");
        ModelDetails d = i.details;
        String arch = d.architecture() == null ? "unknown" : d.architecture();
        info.put("general.architecture", arch).put("general.parameter_count", d.parameters());
        if (d.name() != null) info.put("general.name", d.name());
        if (d.contextLength() != null) info.put(arch + ".context_length", d.contextLength());
        if (d.embeddingLength() != null) info.put(arch + ".embedding_length", d.embeddingLength());
        if (d.blockCount() != null) info.put(arch + ".block_count", d.blockCount());
        if (d.headCount() != null) info.put(arch + ".attention.head_count", d.headCount());
        if (d.headCountKv() != null) info.put(arch + ".attention.head_count_kv", d.headCountKv());
        if (d.tokenizer() != null) info.put("tokenizer.ggml.model", d.tokenizer());
        if (d.vocabSize() != null) info.put(arch + ".vocab_size", d.vocabSize());
        if (d.expertCount() != null) info.put(arch + ".expert_count", d.expertCount());
        if (d.expertUsedCount() != null) info.put(arch + ".expert_used_count", d.expertUsedCount());
        r.putArray("capabilities").add("completion");
        r.put("modified_at", i.modified);
        OpenAiEndpoints.send(res, r);
    }

    void ps(byte[] body, ServerResponse res, Call call) {
        ObjectNode r = Json.MAPPER.createObjectNode();
        ArrayNode list = r.putArray("models");
        for (ModelManager.Loaded l : models.loaded()) {
            Info i = info(l.name());
            ObjectNode o = list.addObject().put("name", l.name()).put("model", l.name()).put("size", l.size())
                    .put("digest", i == null ? "" : i.digest);
            if (i != null) o.set("details", details(i.details));
            o.put("expires_at", l.expiresAt() != null ? l.expiresAt().toString() : l.keepAlive().forever() || l.activeRequests() > 0 ? FOREVER : Instant.now().toString());
            o.put("size_vram", 0);
            ServedModel m = models.live(l.name());
            if (m != null && m.state() == ServedModel.State.READY) {
                try {
                    o.put("context_length", m.scheduler().contextSize());
                } catch (ApiException ignored) {
                    // unloaded meanwhile
                }
            }
        }
        OpenAiEndpoints.send(res, r);
    }

    void version(byte[] body, ServerResponse res, Call call) {
        OpenAiEndpoints.send(res, Json.MAPPER.createObjectNode().put("version", VERSION));
    }

    void delete(byte[] body, ServerResponse res, Call call) throws IOException {
        call.meter().authorizeAdmin();
        Json j = Json.parseObject(body);
        String name = j.string("model", j.string("name", null));
        if (name == null) throw ApiException.invalid("model", "missing_required_parameter", "Missing required parameter: 'model'.");
        if (models.store() == null || !ModelRef.isValid(name) || models.manifest(ModelRef.parse(name).toString()).isEmpty())
            throw ApiException.notFound("model", "model_not_found", "model '" + name + "' not found");
        String id = ModelRef.parse(name).toString();
        models.unload(id);
        try {
            models.store().remove(id);
        } catch (ModelNotFoundException e) {
            throw ApiException.notFound("model", "model_not_found", "model '" + name + "' not found");
        }
        res.status(200);
        res.send();
    }

    /**
     * Pulls {@code model} (an hf://OWNER/REPO/FILE.gguf or http(s) URL; {@code name} names it in the
     * store), streaming Ollama's status lines: the download's progress, then "success".
     */
    void pull(byte[] body, ServerResponse res, Call call) throws IOException {
        call.meter().authorizeAdmin();
        Json j = Json.parseObject(body);
        String source = j.string("model", j.string("name", null));
        if (source == null) throw ApiException.invalid("model", "missing_required_parameter", "Missing required parameter: 'model'.");
        String name = j.has("model") ? j.string("name", null) : null;
        if (models.store() == null) throw ApiException.unavailable("This server has no model store.");
        if (!source.contains("://"))
            throw ApiException.invalid("model", "unsupported_value", "Genset pulls from hf://OWNER/REPO/FILE.gguf or an http(s) URL; '" + source + "' is neither.");
        if (name != null && !ModelRef.isValid(name)) throw ApiException.invalid("name", "invalid_value", "Invalid model name '" + name + "'.");
        boolean stream = j.bool("stream", true);
        PullOptions opts = PullOptions.defaults().withName(name).withRetries(2, Duration.ofMillis(500));
        if (!stream) {
            try {
                models.store().pull(source, opts);
            } catch (IOException e) {
                throw new ApiException(500, "server_error", "pull failed: " + e.getMessage(), "model", "pull_failed");
            }
            OpenAiEndpoints.send(res, Json.MAPPER.createObjectNode().put("status", "success"));
            return;
        }
        res.status(200);
        res.header("Content-Type", "application/x-ndjson");
        OutputStream out = res.outputStream();
        try {
            line(out, Json.MAPPER.createObjectNode().put("status", "pulling manifest"));
            Manifest m;
            try {
                m = models.store().pull(source, opts.withProgress(new StatusLines(out)));
            } catch (IOException | RuntimeException e) {
                if (e instanceof UncheckedIOException u) throw u.getCause();
                line(out, Json.MAPPER.createObjectNode().put("error", "pull failed: " + e.getMessage()));
                return;
            }
            line(out, Json.MAPPER.createObjectNode().put("status", "verifying sha256 digest"));
            line(out, Json.MAPPER.createObjectNode().put("status", "writing manifest"));
            line(out, Json.MAPPER.createObjectNode().put("status", "success").put("model", m.ref().toString()).put("digest", m.digest()));
        } catch (IOException clientGone) {
            // the pull stopped with the stream; a later pull resumes it
        } finally {
            try {
                out.close();
            } catch (IOException | RuntimeException ignored) {
                // gone
            }
        }
    }

    /** A pull's progress as Ollama's status lines, at most about ten a second. */
    private static final class StatusLines implements Progress {
        private final OutputStream out;
        private String label = "";
        private long total = -1, lastNanos;

        StatusLines(OutputStream out) {
            this.out = out;
        }

        private void send(ObjectNode o) {
            try {
                line(out, o);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void start(String label, long done, long total) {
            this.label = label;
            this.total = total;
            ObjectNode o = Json.MAPPER.createObjectNode().put("status", "pulling " + label).put("digest", label);
            if (total >= 0) o.put("total", total);
            send(o.put("completed", done));
        }

        @Override
        public void update(long done) {
            long now = System.nanoTime();
            if (now - lastNanos < 100_000_000L && done != total) return;
            lastNanos = now;
            ObjectNode o = Json.MAPPER.createObjectNode().put("status", "pulling " + label).put("digest", label);
            if (total >= 0) o.put("total", total);
            send(o.put("completed", done));
        }

        @Override
        public void note(String message) {
            send(Json.MAPPER.createObjectNode().put("status", message));
        }

        @Override
        public void end() {}
    }

    // ---- model facts ---------------------------------------------------------------------------

    private record Info(Path path, long size, String digest, String modified, ModelDetails details) {}

    /** What the store (or the configured file) says of a model, or null if it cannot be read. */
    private Info info(String id) {
        var man = models.manifest(id);
        try {
            if (man.isPresent() && !models.isConfigured(id)) {
                Manifest m = man.get();
                Path p = models.store().blobPath(m.sha256());
                ModelDetails d = m.details() != null ? m.details() : ModelDetails.read(p);
                return new Info(p, m.size(), m.sha256(), m.created() == null ? Instant.EPOCH.toString() : m.created(), d);
            }
            Path p = models.pathOf(id);
            var attrs = java.nio.file.Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class);
            String digest = man.map(Manifest::sha256).orElse("");
            return new Info(p, attrs.size(), digest, attrs.lastModifiedTime().toInstant().toString(), ModelDetails.read(p));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Ollama's details of a model an upstream provider serves: nothing is known of its file. */
    private static ObjectNode upstreamDetails() {
        ObjectNode o = Json.MAPPER.createObjectNode().put("parent_model", "").put("format", "").put("family", "");
        o.putArray("families");
        return o.put("parameter_size", "").put("quantization_level", "");
    }

    private static ObjectNode details(ModelDetails d) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        String family = d.architecture() == null ? "" : d.architecture();
        o.put("parent_model", "").put("format", "gguf").put("family", family);
        o.putArray("families").add(family);
        o.put("parameter_size", ModelDetails.formatParameters(d.parameters())).put("quantization_level", d.quantization() == null ? "" : d.quantization());
        return o;
    }
}
