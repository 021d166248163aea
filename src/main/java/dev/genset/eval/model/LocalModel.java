package dev.genset.eval.model;

import dev.genset.engine.generate.GenerationOptions;
import dev.genset.engine.generate.GenerationResult;
import dev.genset.engine.generate.Generator;
import dev.genset.engine.model.KvType;
import dev.genset.engine.model.Model;
import dev.genset.engine.sampling.SamplerConfig;
import dev.genset.engine.tensor.Parallel;
import dev.genset.engine.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * A GGUF model run in-process by the engine.
 *
 * <p>Log-likelihood requests are tokenized as lm-evaluation-harness does (trailing whitespace of
 * the context moves to the continuation; the pair is tokenized whole and the continuation is what
 * follows the context's tokens), with the model's BOS in front when its vocabulary asks for one.
 * They are then evaluated in lexicographic token order through one KV cache, so requests that
 * share a prefix (the choices of one question, the few-shot examples of a task) evaluate it once.
 */
public final class LocalModel implements LanguageModel {
    private final Model model;
    private final Parallel pool;
    private final boolean owns;
    private final int contextSize;
    private final int batchSize;
    private final Tokenizer tok;
    private TokenScorer scorer;
    private Generator generator;
    private final KvType keyType, valueType;

    /** Uses {@code model} and {@code pool} with f32 KV caches; {@code owns}: close them with this. */
    public LocalModel(Model model, Parallel pool, int contextSize, int batchSize, boolean owns) {
        this(model, pool, contextSize, batchSize, KvType.F32, KvType.F32, owns);
    }

    /** The same with KV caches storing keys and values as {@code keyType} and {@code valueType}. */
    public LocalModel(Model model, Parallel pool, int contextSize, int batchSize, KvType keyType, KvType valueType, boolean owns) {
        if (keyType == null || valueType == null) throw new IllegalArgumentException("no KV cache type");
        this.keyType = keyType;
        this.valueType = valueType;
        if (contextSize < 2) throw new IllegalArgumentException("context size must be at least 2");
        this.model = model;
        this.pool = pool;
        this.owns = owns;
        this.contextSize = contextSize;
        this.batchSize = Math.max(1, batchSize);
        this.tok = model.tokenizer();
    }

    @Override
    public String name() {
        var path = model.gguf().path();
        return path != null ? path.getFileName().toString().replaceFirst("\\.gguf$", "") : model.name();
    }

    @Override
    public int contextLength() {
        return contextSize;
    }

    public Model model() {
        return model;
    }

    /** The token the context starts with: BOS if the vocabulary adds one, else none (-1). */
    private int prefixToken() {
        return tok.addBos() && tok.bos() != Tokenizer.NONE ? tok.bos() : Tokenizer.NONE;
    }

    /** A token to stand for an empty context when the vocabulary adds no BOS. */
    private int fallbackPrefix() {
        if (tok.bos() != Tokenizer.NONE) return tok.bos();
        if (tok.eos() != Tokenizer.NONE) return tok.eos();
        throw new IllegalStateException("the model has neither a BOS nor an EOS token to start an empty context with");
    }

    int[] encode(String text) {
        int[] body = tok.encode(text, false, false);
        int p = prefixToken();
        if (p == Tokenizer.NONE) return body;
        int[] out = new int[body.length + 1];
        out[0] = p;
        System.arraycopy(body, 0, out, 1, body.length);
        return out;
    }

    /** Whole tokens of context + continuation, and how many of them are the context's. */
    record Pair(int[] tokens, int contextLength) {}

    Pair encodePair(String context, String continuation) {
        int trimmed = context.length();
        while (trimmed > 0 && Character.isWhitespace(context.charAt(trimmed - 1))) trimmed--;
        if (trimmed < context.length()) {
            continuation = context.substring(trimmed) + continuation;
            context = context.substring(0, trimmed);
        }
        int[] whole = encode(context + continuation);
        int ctxLen = encode(context).length;
        if (ctxLen == 0) {
            int[] w = new int[whole.length + 1];
            w[0] = fallbackPrefix();
            System.arraycopy(whole, 0, w, 1, whole.length);
            whole = w;
            ctxLen = 1;
        }
        return new Pair(whole, Math.min(ctxLen, whole.length));
    }

    @Override
    public List<LoglikelihoodResult> loglikelihood(List<LoglikelihoodRequest> requests) {
        int n = requests.size();
        int[][] seqs = new int[n][];
        int[] ctxLens = new int[n];
        for (int i = 0; i < n; i++) {
            Pair p = encodePair(requests.get(i).context(), requests.get(i).continuation());
            int[] t = p.tokens();
            int c = p.contextLength();
            if (t.length - 1 > contextSize) { // keep the end, as lm-evaluation-harness does
                int drop = t.length - 1 - contextSize;
                t = Arrays.copyOfRange(t, drop, t.length);
                c = Math.max(1, c - drop);
            }
            seqs[i] = t;
            ctxLens[i] = c;
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparing(i -> seqs[i], Arrays::compare));
        LoglikelihoodResult[] out = new LoglikelihoodResult[n];
        TokenScorer s = scorer();
        for (int i : order) {
            int[] t = seqs[i];
            int c = ctxLens[i];
            int m = t.length - c;
            if (m <= 0) {
                out[i] = new LoglikelihoodResult(0, true, 0);
                continue;
            }
            double[] lp = {0};
            boolean[] greedy = {true};
            s.evaluate(t, t.length - 1, c - 1, c - 1, Arrays.copyOfRange(t, c, t.length), (j, l, argmax) -> {
                lp[0] += l;
                greedy[0] &= argmax;
            });
            out[i] = new LoglikelihoodResult(lp[0], greedy[0], m);
        }
        return Arrays.asList(out);
    }

    @Override
    public List<String> generate(List<GenerationRequest> requests) {
        int n = requests.size();
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparing(i -> requests.get(i).prompt()));
        String[] out = new String[n];
        if (generator == null) generator = new Generator(model, pool, contextSize, Math.min(batchSize, contextSize), keyType, valueType);
        for (int i : order) {
            GenerationRequest r = requests.get(i);
            int[] prompt = encode(r.prompt());
            if (prompt.length == 0) prompt = new int[] {fallbackPrefix()};
            int maxTokens = Math.min(r.maxTokens(), contextSize - 1);
            int room = contextSize - maxTokens;
            if (prompt.length > room) prompt = Arrays.copyOfRange(prompt, prompt.length - room, prompt.length);
            GenerationResult g = generator.generate(prompt, new GenerationOptions(maxTokens, SamplerConfig.greedy(), r.until(), false), text -> {}, null);
            out[i] = g.text();
        }
        return Arrays.asList(out);
    }

    @Override
    public List<RollingResult> loglikelihoodRolling(List<String> texts, int window, int stride) {
        if (window < 1 || window > contextSize) throw new IllegalArgumentException("window " + window + " must be in 1.." + contextSize);
        if (stride < 1 || stride > window) throw new IllegalArgumentException("stride " + stride + " must be in 1.." + window);
        TokenScorer s = scorer();
        List<RollingResult> out = new ArrayList<>();
        for (String text : texts) {
            int[] body = tok.encode(text, false, false);
            int prefix = prefixToken() != Tokenizer.NONE ? prefixToken() : tok.bos() != Tokenizer.NONE ? tok.bos() : tok.eos();
            int[] seq;
            if (prefix == Tokenizer.NONE) seq = body;
            else {
                seq = new int[body.length + 1];
                seq[0] = prefix;
                System.arraycopy(body, 0, seq, 1, body.length);
            }
            double[] lp = {0};
            int scored = 0;
            // Targets are seq[1..]; a window of inputs seq[a, b) scores the targets seq[prevEnd, end), end = b + 1.
            for (int prevEnd = 1; prevEnd < seq.length; ) {
                int end = Math.min(prevEnd + stride, seq.length);
                int b = end - 1, a = Math.max(0, b - window);
                int[] input = Arrays.copyOfRange(seq, a, b);
                s.evaluate(input, input.length, 0, prevEnd - 1 - a, Arrays.copyOfRange(seq, prevEnd, end), (j, l, argmax) -> lp[0] += l);
                scored += end - prevEnd;
                prevEnd = end;
            }
            out.add(new RollingResult(lp[0], scored));
        }
        return out;
    }

    private TokenScorer scorer() {
        if (scorer == null) scorer = new TokenScorer(model, pool, contextSize, batchSize, keyType, valueType);
        return scorer;
    }

    @Override
    public void close() {
        if (owns) {
            pool.close();
            model.close();
        }
    }
}
