package dev.genset.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.genset.engine.batch.GenerationRequest;
import dev.genset.engine.batch.SequenceEvent;
import dev.genset.engine.batch.TokenInfo;
import dev.genset.engine.sampling.SamplerConfig;
import dev.genset.engine.sampling.TokenLogprob;
import dev.genset.engine.tokenizer.Tokenizer;
import io.helidon.webserver.http.ServerResponse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * llama.cpp's server's own API, for clients written against llama-server rather than OpenAI's
 * (editor plugins for code completion, scripts): {@code POST /completion} and {@code POST /infill}.
 *
 * <p>A reply is {@code {"content", "stop": true, "stop_type", "tokens_predicted", "timings", ...}}; a
 * stream is server-sent events of {@code {"content", "tokens", "stop": false}}, then one with
 * {@code "stop": true} and the reply's other fields. Fields are llama-server's: {@code n_predict},
 * {@code temperature} (below 0 greedy), {@code top_k}, {@code top_p}, {@code min_p}, the penalties,
 * Mirostat, typical, dynamic temperature, XTC, top-n-sigma and DRY ({@link SamplingParams#advanced}),
 * {@code seed} (-1 random), {@code stop}, {@code ignore_eos}, {@code logit_bias} (pairs or an object;
 * {@code false} bans a token), {@code n_probs}, {@code grammar}, {@code json_schema},
 * {@code return_tokens}. Fields that only tune llama-server itself ({@code cache_prompt},
 * {@code id_slot}, {@code samplers}, ...) are accepted and change nothing; several prompts at once
 * and LoRA adapters are refused rather than quietly ignored.
 */
final class LlamaCppEndpoints {
    private final ServerMetrics metrics;
    private final Duration timeout;

    LlamaCppEndpoints(ServerMetrics metrics, Duration timeout) {
        this.metrics = metrics;
        this.timeout = timeout;
    }

    /** POST /completion: {@code prompt} is a string, token ids, or both mixed (a string first gets the model's BOS token). */
    void completion(byte[] body, ServerResponse res, Call call) throws IOException, InterruptedException {
        Json j = Json.parseObject(body);
        ServedModel model = call.model(j.string("model", null), null);
        Tokenizer tok = model.tokenizer();
        JsonNode p = j.get("prompt");
        if (p == null) throw ApiException.invalid("prompt", "missing_required_parameter", "Missing required parameter: 'prompt'.");
        List<Integer> tokens = new ArrayList<>();
        if (p.isTextual()) addText(tokens, tok, p.textValue(), true, true);
        else if (p.isArray()) {
            boolean strings = p.size() > 1;
            for (JsonNode e : p) strings &= e.isTextual();
            if (strings) throw ApiException.invalid("prompt", "unsupported_value", "Several prompts in one request are not supported; send one request per prompt.");
            for (int i = 0; i < p.size(); i++) {
                JsonNode e = p.get(i);
                if (e.isTextual()) addText(tokens, tok, e.textValue(), i == 0, true);
                else if (e.isIntegralNumber() && e.asLong() >= 0 && e.asLong() < tok.vocabSize()) tokens.add(e.asInt());
                else throw ApiException.invalid("prompt", "invalid_value", "Invalid 'prompt[" + i + "]': expected a string or a token id below " + tok.vocabSize() + ".");
            }
        } else throw j.wrongType("prompt", "a string or an array of strings and token ids", p);
        run(j, model, tokens.stream().mapToInt(Integer::intValue).toArray(), res, call);
    }

    /**
     * POST /infill: {@code input_prefix} and {@code input_suffix} around the model's fill-in-the-middle
     * tokens, {@code prompt} after the middle token, and {@code input_extra} (other files, as
     * {@code {"filename", "text"}}) before them: in the repository form when the model has its tokens
     * (Qwen2.5-Coder's {@code <|repo_name|>} and {@code <|file_sep|>}), else as plain text first.
     */
    void infill(byte[] body, ServerResponse res, Call call) throws IOException, InterruptedException {
        Json j = Json.parseObject(body);
        ServedModel model = call.model(j.string("model", null), null);
        Tokenizer tok = model.tokenizer();
        int[] fim = model.fim();
        if (fim == null) throw ApiException.invalid("model", "unsupported_parameter", "This model has no fill-in-the-middle tokens, so /infill is not supported.");
        String prefix = j.string("input_prefix", ""), suffix = j.string("input_suffix", ""), prompt = j.string("prompt", "");
        List<Integer> tokens = new ArrayList<>();
        if (tok.addBos() && tok.bos() >= 0) tokens.add(tok.bos());
        ArrayNode extra = j.array("input_extra");
        int[] repo = model.fimRepo();
        if (extra != null && !extra.isEmpty()) {
            if (repo != null) {
                tokens.add(repo[0]);
                addText(tokens, tok, "myproject\n");
            }
            for (int i = 0; i < extra.size(); i++) {
                JsonNode chunk = extra.get(i);
                if (!chunk.isObject() || !chunk.path("text").isTextual())
                    throw ApiException.invalid("input_extra[" + i + "]", "invalid_value", "Invalid 'input_extra[" + i + "]': expected an object with a 'text' string (and a 'filename').");
                if (repo != null) {
                    tokens.add(repo[1]);
                    addText(tokens, tok, chunk.path("filename").asText("") + "\n");
                }
                addText(tokens, tok, chunk.get("text").textValue());
            }
            if (repo != null) {
                tokens.add(repo[1]);
                addText(tokens, tok, "filename\n");
            }
        }
        tokens.add(fim[0]);
        addText(tokens, tok, prefix);
        tokens.add(fim[1]);
        addText(tokens, tok, suffix);
        tokens.add(fim[2]);
        addText(tokens, tok, prompt);
        run(j, model, tokens.stream().mapToInt(Integer::intValue).toArray(), res, call);
    }

    /** A text's tokens: a prompt's with special tokens parsed (as llama-server parses them), code's for /infill as plain text. */
    private static void addText(List<Integer> tokens, Tokenizer tok, String text, boolean bos, boolean parseSpecial) {
        for (int t : tok.encode(text, bos && tok.addBos(), parseSpecial)) tokens.add(t);
    }

    /** POST /apply-template: the prompt text {@code messages} (and {@code tools}) render to through the model's chat template, without generating. */
    void applyTemplate(byte[] body, ServerResponse res, Call call) {
        Json j = Json.parseObject(body);
        ServedModel model = call.model(j.string("model", null), null);
        OpenAiEndpoints.send(res, Json.MAPPER.createObjectNode().put("prompt", OpenAiEndpoints.chatPromptText(j, model)));
    }

    /** GET /props: the (first) model's context, slots, default sampling, chat template and special tokens, as llama-server describes itself. */
    void props(byte[] body, ServerResponse res, Call call) {
        ServedModel m = call.model(null, null);
        Tokenizer tok = m.tokenizer();
        ObjectNode r = Json.MAPPER.createObjectNode();
        ObjectNode g = r.putObject("default_generation_settings");
        g.put("n_ctx", m.scheduler().contextSize());
        putSampling(g.putObject("params").put("n_predict", -1), SamplerConfig.defaults());
        r.put("total_slots", m.scheduler().config().slots()).put("model_alias", m.id).put("model_path", m.path.toString());
        r.putObject("modalities").put("vision", false).put("audio", false);
        r.put("chat_template", m.model().gguf().getString("tokenizer.chat_template", ""));
        r.put("bos_token", tok.bos() >= 0 ? tok.tokenText(tok.bos()) : "").put("eos_token", tok.eos() >= 0 ? tok.tokenText(tok.eos()) : "");
        r.put("build_info", "genset");
        OpenAiEndpoints.send(res, r);
    }

    /**
     * GET /slots: llama-server's view of the slots of a model (the default one, or {@code ?model=}):
     * each slot's {@code id}, {@code id_task}, {@code n_ctx}, {@code is_processing}, {@code n_past}
     * and {@code next_token} ({@code n_decoded}, {@code n_remain}); with {@code ?fail_on_no_slot=1}, a
     * 503 when every slot is busy. Unlike llama-server it shows no prompt or sampling settings: the
     * slots serve many tenants. It needs the admin key once keys exist.
     */
    void slots(Map<String, String> query, ServerResponse res, Call call) {
        call.meter().authorizeAdmin();
        ServedModel m = call.model(query.get("model"), null);
        var states = m.scheduler().slotStates();
        if (("1".equals(query.get("fail_on_no_slot")) || "true".equals(query.get("fail_on_no_slot")))
                && states.stream().allMatch(dev.genset.engine.batch.Scheduler.SlotState::processing))
            throw ApiException.unavailable("no slot available");
        ArrayNode a = Json.MAPPER.createArrayNode();
        for (var s : states) {
            ObjectNode o = a.addObject().put("id", s.id()).put("id_task", s.sequence()).put("n_ctx", m.scheduler().contextSize())
                    .put("speculative", false).put("is_processing", s.processing()).put("n_past", s.cachedTokens());
            o.putObject("next_token").put("has_next_token", s.processing()).put("has_new_line", false)
                    .put("n_remain", s.remaining()).put("n_decoded", s.generated()).put("stopping_word", "");
        }
        res.header("Content-Type", "application/json");
        res.send(Json.bytes(a));
    }

    private static void addText(List<Integer> tokens, Tokenizer tok, String text) {
        addText(tokens, tok, text, false, false);
    }

    private void run(Json j, ServedModel model, int[] prompt, ServerResponse res, Call call) throws IOException, InterruptedException {
        if (prompt.length == 0) throw ApiException.invalid("prompt", "The prompt is empty.");
        Tokenizer tok = model.tokenizer();
        refuseUnsupported(j);
        Integer nPredict = j.integer("n_predict", -1, Integer.MAX_VALUE);
        if (nPredict == null) nPredict = j.integer("max_tokens", -1, Integer.MAX_VALUE);
        int maxTokens = nPredict == null ? -1 : nPredict;
        boolean stream = j.bool("stream", false), returnTokens = j.bool("return_tokens", false);
        Integer nProbs = j.integer("n_probs", 0, 20);
        int probs = nProbs == null ? 0 : nProbs;
        SamplerConfig sampling = sampling(j);
        List<String> stop = j.stringOrStrings("stop", SamplingParams.MAX_STOP);
        Map<Integer, Float> bias = logitBias(j, tok);
        OpenAiEndpoints.Structured structured = OpenAiEndpoints.structured(j, model); // grammar, json_schema (and vLLM's fields)
        GenerationRequest req = new GenerationRequest(prompt, maxTokens, sampling, stop == null ? List.of() : stop, j.bool("ignore_eos", false),
                probs > 0 ? probs : returnTokens || stream ? 0 : -1, false, bias, structured == null ? null : structured.constraint(), timeout,
                call.meter().cacheScope(null)); // token ids come with log-probabilities
        int ctx = model.scheduler().contextSize();
        call.meter().admit(model.id, prompt.length, maxTokens >= 0 ? maxTokens : Math.max(1, ctx - prompt.length));
        Job job = Job.submit(model.scheduler(), List.of(req), call.start(), metrics, model.id);
        call.meter().job(job, 1);
        Settings settings = new Settings(model.id, ctx, maxTokens, sampling, stop, probs);
        if (stream) {
            stream(job, new Sse(res), call.meter(), settings, tok, prompt, returnTokens);
            return;
        }
        call.watchClient(job);
        OpenAiEndpoints.Outcome out = OpenAiEndpoints.collect(job, 1)[0];
        ObjectNode r = last(settings, out.text.toString(), out.done, tok, prompt, out.logprobs, returnTokens);
        OpenAiEndpoints.send(res, r);
    }

    private void stream(Job job, Sse stream, Metering meter, Settings settings, Tokenizer tok, int[] prompt, boolean returnTokens) throws InterruptedException {
        try (Sse sse = stream) {
            try {
                sse.open();
                while (!job.done()) {
                    Job.Tagged t = job.next(Duration.ofSeconds(1));
                    if (t == null) continue;
                    switch (t.event()) {
                        case SequenceEvent.Text x -> {
                            if (x.text().isEmpty() && x.tokens() == 0) continue;
                            ObjectNode c = Json.MAPPER.createObjectNode().put("index", 0).put("content", x.text());
                            ArrayNode ids = c.putArray("tokens");
                            for (TokenInfo i : x.logprobs()) ids.add(i.token());
                            c.put("stop", false).put("id_slot", -1);
                            if (settings.probs > 0) c.set("completion_probabilities", probabilities(x.logprobs(), tok));
                            sse.data(c);
                        }
                        case SequenceEvent.Done d -> {
                            ApiException ended = OpenAiEndpoints.endError(d);
                            if (ended != null) {
                                sse.data(ended.toJson());
                                return;
                            }
                            ObjectNode r = last(settings, "", d, tok, prompt, List.of(), returnTokens);
                            sse.data(r);
                        }
                        case SequenceEvent.Failed f -> {
                            job.cancelAndDrain();
                            sse.data(Job.map(f.error()).toJson());
                            return;
                        }
                        case SequenceEvent.PromptDone p -> {}
                    }
                }
            } catch (IOException e) {
                meter.clientGone();
                job.cancelAndDrain(); // the client went away: free its slot
            }
        }
    }

    /** What a reply echoes of the request: llama-server's generation_settings. */
    private record Settings(String model, int ctx, int maxTokens, SamplerConfig sampling, List<String> stop, int probs) {}

    /** The reply, or a stream's last event ({@code content} then holds only what had not been sent). */
    private static ObjectNode last(Settings s, String content, SequenceEvent.Done d, Tokenizer tok, int[] prompt, List<TokenInfo> infos, boolean returnTokens) {
        ObjectNode r = Json.MAPPER.createObjectNode();
        r.put("index", 0).put("content", content);
        ArrayNode ids = r.putArray("tokens");
        if (returnTokens) for (TokenInfo i : infos) ids.add(i.token());
        r.put("id_slot", -1).put("stop", true).put("model", s.model).put("tokens_predicted", d.completionTokens())
                .put("tokens_evaluated", d.promptTokens());
        ObjectNode g = r.putObject("generation_settings");
        putSampling(g.put("n_ctx", s.ctx).put("n_predict", s.maxTokens).put("model", s.model), s.sampling).put("n_probs", s.probs);
        ArrayNode st = g.putArray("stop");
        if (s.stop != null) s.stop.forEach(st::add);
        r.put("prompt", tok.decode(prompt));
        r.put("has_new_line", content.contains("\n"));
        r.put("truncated", false);
        String type = switch (d.reason()) {
            case LENGTH -> "limit";
            case STOP -> d.stopWord() != null ? "word" : "eos";
            default -> "none";
        };
        r.put("stop_type", type).put("stopping_word", d.stopWord() == null ? "" : d.stopWord()).put("tokens_cached", d.cachedTokens());
        ObjectNode t = r.putObject("timings");
        int evaluated = Math.max(0, d.promptTokens() - d.cachedTokens());
        double promptMs = d.promptNanos() / 1e6, genMs = d.generationNanos() / 1e6;
        t.put("cache_n", d.cachedTokens()).put("prompt_n", evaluated).put("prompt_ms", promptMs)
                .put("prompt_per_token_ms", evaluated == 0 ? 0 : promptMs / evaluated).put("prompt_per_second", promptMs == 0 ? 0 : evaluated * 1000 / promptMs)
                .put("predicted_n", d.completionTokens()).put("predicted_ms", genMs)
                .put("predicted_per_token_ms", d.completionTokens() == 0 ? 0 : genMs / d.completionTokens())
                .put("predicted_per_second", genMs == 0 ? 0 : d.completionTokens() * 1000 / genMs);
        if (s.probs > 0 && !infos.isEmpty()) r.set("completion_probabilities", probabilities(infos, tok));
        return r;
    }

    /** A sampler's settings under llama-server's names, added to {@code o}. */
    private static ObjectNode putSampling(ObjectNode o, SamplerConfig c) {
        o.put("seed", c.seed()).put("temperature", c.temperature()).put("top_k", c.topK()).put("top_p", c.topP()).put("min_p", c.minP())
                .put("repeat_last_n", c.repeatLastN()).put("repeat_penalty", c.repeatPenalty())
                .put("presence_penalty", c.presencePenalty()).put("frequency_penalty", c.frequencyPenalty());
        SamplerConfig.Advanced a = c.advanced();
        SamplerConfig.Dry dry = a.dry();
        o.put("mirostat", a.mirostat()).put("mirostat_tau", a.mirostatTau()).put("mirostat_eta", a.mirostatEta()).put("typical_p", a.typicalP())
                .put("dynatemp_range", a.dynatempRange()).put("dynatemp_exponent", a.dynatempExponent())
                .put("xtc_probability", a.xtcProbability()).put("xtc_threshold", a.xtcThreshold()).put("top_n_sigma", a.topNSigma())
                .put("dry_multiplier", dry.multiplier()).put("dry_base", dry.base()).put("dry_allowed_length", dry.allowedLength())
                .put("dry_penalty_last_n", dry.lastN());
        dry.breakers().forEach(o.putArray("dry_sequence_breakers")::add);
        return o;
    }

    /** llama-server's completion_probabilities: each token with its log-probability and its most likely alternatives. */
    private static ArrayNode probabilities(List<TokenInfo> infos, Tokenizer tok) {
        ArrayNode a = Json.MAPPER.createArrayNode();
        for (TokenInfo i : infos) {
            ObjectNode o = token(a.addObject(), i.token(), i.bytes(), i.logprob());
            ArrayNode top = o.putArray("top_logprobs");
            for (TokenLogprob alt : i.top()) token(top.addObject(), alt.token(), tok.tokenBytes(alt.token(), true), alt.logprob());
        }
        return a;
    }

    private static ObjectNode token(ObjectNode o, int id, byte[] bytes, float logprob) {
        o.put("id", id).put("token", new String(bytes, StandardCharsets.UTF_8)).put("logprob", logprob);
        ArrayNode b = o.putArray("bytes");
        for (byte x : bytes) b.add(x & 0xFF);
        return o;
    }

    /** What llama-server takes and Genset does not (several completions at once, LoRA adapters), refused when asked for. */
    private static void refuseUnsupported(Json j) {
        if (j.has("n_cmpl") && j.get("n_cmpl").asInt(1) != 1)
            throw ApiException.invalid("n_cmpl", "unsupported_value", "Only 'n_cmpl' 1 is supported; send one request per completion.");
        if (j.has("lora") && !(j.get("lora").isArray() && j.get("lora").isEmpty()))
            throw ApiException.invalid("lora", "unsupported_parameter", "LoRA adapters are not supported.");
    }

    /** The sampler, from llama-server's fields and defaults: temperature at or below 0 greedy, seed -1 random. */
    private static SamplerConfig sampling(Json j) {
        SamplerConfig c = SamplerConfig.defaults();
        Double temperature = j.number("temperature", -Double.MAX_VALUE, 100);
        if (temperature != null) c = c.withTemperature((float) Math.max(0, temperature));
        Integer topK = j.integer("top_k", Integer.MIN_VALUE, Integer.MAX_VALUE);
        if (topK != null) c = c.withTopK(Math.max(0, topK));
        Double topP = j.number("top_p", 0, 1);
        if (topP != null) c = c.withTopP(topP.floatValue());
        Double minP = j.number("min_p", 0, 1);
        if (minP != null) c = c.withMinP(minP.floatValue());
        Double repeat = j.number("repeat_penalty", 0, 100);
        Integer lastN = j.integer("repeat_last_n", -1, 1 << 20);
        Double frequency = j.number("frequency_penalty", -100, 100), presence = j.number("presence_penalty", -100, 100);
        c = c.withPenalties(repeat == null || repeat == 0 ? c.repeatPenalty() : repeat.floatValue(), lastN == null ? c.repeatLastN() : lastN < 0 ? 1 << 20 : lastN,
                frequency == null ? 0 : frequency.floatValue(), presence == null ? 0 : presence.floatValue());
        Long seed = j.longValue("seed");
        if (seed != null && seed >= 0 && seed != 0xFFFFFFFFL) c = c.withSeed(seed);
        Integer minKeep = j.integer("min_keep", 0, Integer.MAX_VALUE);
        if (minKeep != null && minKeep > 0) c = c.withMinKeep(minKeep);
        return c.withAdvanced(SamplingParams.advanced(j));
    }

    /**
     * llama-server's logit_bias: pairs {@code [[id or text, bias or false], ...]} or an object
     * {@code {"id or text": bias}}; a text biases each of its tokens, {@code false} bans.
     */
    private static Map<Integer, Float> logitBias(Json j, Tokenizer tok) {
        JsonNode v = j.get("logit_bias");
        if (v == null) return Map.of();
        Map<Integer, Float> bias = new HashMap<>();
        if (v.isArray()) {
            for (int i = 0; i < v.size(); i++) {
                JsonNode pair = v.get(i);
                if (!pair.isArray() || pair.size() != 2)
                    throw ApiException.invalid("logit_bias", "invalid_value", "Invalid 'logit_bias[" + i + "]': expected a pair [token id or text, bias or false].");
                putBias(bias, tok, pair.get(0), pair.get(1), "logit_bias[" + i + "]");
            }
        } else if (v.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
                var e = it.next();
                JsonNode key = e.getKey().matches("\\d+") ? Json.MAPPER.getNodeFactory().numberNode(Long.parseLong(e.getKey())) : Json.MAPPER.getNodeFactory().textNode(e.getKey());
                putBias(bias, tok, key, e.getValue(), "logit_bias." + e.getKey());
            }
        } else throw j.wrongType("logit_bias", "an array of pairs or an object", v);
        return bias;
    }

    private static void putBias(Map<Integer, Float> bias, Tokenizer tok, JsonNode key, JsonNode value, String where) {
        float b;
        if (value.isBoolean() && !value.booleanValue()) b = Float.NEGATIVE_INFINITY;
        else if (value.isNumber()) b = value.floatValue();
        else throw ApiException.invalid("logit_bias", "invalid_value", "Invalid '" + where + "': the bias must be a number or false.");
        if (key.isIntegralNumber()) {
            long id = key.asLong();
            if (id < 0 || id >= tok.vocabSize()) throw ApiException.invalid("logit_bias", "invalid_value", "Invalid '" + where + "': token id " + id + " is outside the vocabulary.");
            bias.put((int) id, b);
        } else if (key.isTextual()) {
            for (int id : tok.encode(key.textValue(), false, false)) bias.put(id, b);
        } else throw ApiException.invalid("logit_bias", "invalid_value", "Invalid '" + where + "': expected a token id or a text.");
    }
}
