package dev.genset.engine.generate;

import dev.genset.engine.model.KvCache;
import dev.genset.engine.model.KvType;
import dev.genset.engine.model.Model;
import dev.genset.engine.model.Transformer;
import dev.genset.engine.sampling.Sampler;
import dev.genset.engine.sampling.TokenConstraint;
import dev.genset.engine.tensor.Parallel;
import dev.genset.engine.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Generates text for one sequence at a time: evaluates the prompt in batches, then samples one
 * token per step until an end-of-generation token, a stop string, the token limit or the end of
 * the context. Keeps its KV cache between calls and reuses the longest common prompt prefix, so
 * a multi-turn chat only evaluates what is new.
 */
public final class Generator {
    private final Model model;
    private final Tokenizer tokenizer;
    private final Transformer transformer;
    private final KvCache cache;
    private final float[] logits;
    private final int vocab;
    private int[] cachedTokens = new int[0]; // the tokens whose keys and values the cache holds
    // One-row batch for decoding, allocated once.
    private final int[] oneToken = new int[1], onePosition = new int[1];
    private final KvCache[] oneCache;
    private final boolean[] oneWant = {true};

    /** A generator whose KV cache holds f32. */
    public Generator(Model model, Parallel pool, int contextSize, int batchSize) {
        this(model, pool, contextSize, batchSize, KvType.F32, KvType.F32);
    }

    public Generator(Model model, Parallel pool, int contextSize, int batchSize, KvType keyType, KvType valueType) {
        this.model = model;
        this.tokenizer = model.tokenizer();
        this.vocab = model.config().vocabSize();
        this.transformer = model.newTransformer(pool, batchSize);
        this.cache = model.newCache(contextSize, keyType, valueType);
        this.logits = new float[vocab];
        this.oneCache = new KvCache[] {cache};
    }

    public Model model() {
        return model;
    }

    public int contextSize() {
        return cache.capacity();
    }

    /**
     * Evaluates {@code prompt} and generates after it. {@code onText} receives the text as it is
     * produced (complete UTF-8 characters, never part of a stop string); {@code cancelled} is
     * polled between tokens.
     */
    public GenerationResult generate(int[] prompt, GenerationOptions options, Consumer<String> onText, BooleanSupplier cancelled) {
        if (prompt.length == 0) throw new IllegalArgumentException("the prompt is empty");
        if (prompt.length >= cache.capacity())
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens, more than the context size " + cache.capacity() + " allows (leave room for at least one new token)");
        for (int t : prompt)
            if (t < 0 || t >= vocab) throw new IllegalArgumentException("token id " + t + " is outside the vocabulary (0.." + (vocab - 1) + ")");

        long start = System.nanoTime();
        int reused = evaluatePrompt(prompt);
        long promptNanos = System.nanoTime() - start;

        Sampler sampler = new Sampler(options.sampling(), tokenizer);
        for (int t : prompt) sampler.accept(t);
        TokenConstraint constraint = options.constraint() == null ? null : options.constraint().get();
        float[] masked = constraint == null ? null : new float[vocab];
        StopMatcher stops = new StopMatcher(options.stop());
        Utf8Accumulator utf8 = new Utf8Accumulator();
        StringBuilder text = new StringBuilder();
        int emitted = 0;
        int[] out = new int[16];
        int n = 0;
        int limit = options.maxTokens() < 0 ? Integer.MAX_VALUE : options.maxTokens();
        FinishReason finish = FinishReason.LENGTH;
        long genStart = System.nanoTime();
        int position = prompt.length;
        while (true) {
            if (n >= limit) break;
            if (cancelled != null && cancelled.getAsBoolean()) { finish = FinishReason.CANCELLED; break; }
            float[] scores = logits;
            if (constraint != null) {
                System.arraycopy(logits, 0, masked, 0, vocab);
                constraint.mask(masked, vocab);
                scores = masked;
            }
            int token = sampler.sample(scores, vocab);
            sampler.accept(token);
            if (constraint != null) constraint.accept(token);
            if (!options.ignoreEos() && tokenizer.isEndOfGeneration(token)) { finish = FinishReason.STOP; break; }
            if (n == out.length) out = Arrays.copyOf(out, n * 2);
            out[n++] = token;
            text.append(utf8.append(tokenizer.tokenBytes(token)));
            int stopAt = options.stop().isEmpty() ? -1 : stops.find(text, emitted - maxLength(options));
            if (stopAt >= 0) {
                text.setLength(stopAt);
                if (stopAt > emitted) onText.accept(text.substring(emitted));
                emitted = text.length();
                finish = FinishReason.STOP;
                break;
            }
            int safe = options.stop().isEmpty() ? text.length() : stops.safeLength(text);
            if (safe > emitted) {
                onText.accept(text.substring(emitted, safe));
                emitted = safe;
            }
            if (n >= limit || position >= cache.capacity()) break; // no room to evaluate another token
            forwardOne(token, position++);
        }
        if (finish != FinishReason.STOP) text.append(utf8.flush());
        if (text.length() > emitted) onText.accept(text.substring(emitted));
        long genNanos = System.nanoTime() - genStart;
        rememberCached(prompt, out, n, position);
        return new GenerationResult(Arrays.copyOf(out, n), text.toString(), finish, prompt.length, reused, promptNanos, genNanos);
    }

    private static int maxLength(GenerationOptions o) {
        return o.stop().stream().mapToInt(String::length).max().orElse(0);
    }

    /** Brings the cache to hold exactly {@code prompt} and leaves the last position's logits; returns how many tokens were reused. */
    private int evaluatePrompt(int[] prompt) {
        int common = 0;
        int limit = Math.min(cachedTokens.length, Math.min(cache.length(), prompt.length - 1)); // the last token is always evaluated, for its logits
        while (common < limit && cachedTokens[common] == prompt[common]) common++;
        cache.truncate(common);
        int batch = transformer.maxBatch();
        int[] tokens = new int[batch], positions = new int[batch];
        KvCache[] caches = new KvCache[batch];
        boolean[] want = new boolean[batch];
        Arrays.fill(caches, cache);
        for (int from = common; from < prompt.length; from += batch) {
            int m = Math.min(batch, prompt.length - from);
            for (int i = 0; i < m; i++) {
                tokens[i] = prompt[from + i];
                positions[i] = from + i;
                want[i] = from + i == prompt.length - 1;
            }
            transformer.forward(m, tokens, positions, caches, want, logits);
        }
        cachedTokens = prompt.clone();
        return common;
    }

    private void forwardOne(int token, int position) {
        oneToken[0] = token;
        onePosition[0] = position;
        transformer.forward(1, oneToken, onePosition, oneCache, oneWant, logits);
    }

    private void rememberCached(int[] prompt, int[] generated, int n, int cacheLength) {
        int[] all = Arrays.copyOf(prompt, prompt.length + n);
        System.arraycopy(generated, 0, all, prompt.length, n);
        cachedTokens = Arrays.copyOf(all, Math.min(all.length, cacheLength));
    }
}
