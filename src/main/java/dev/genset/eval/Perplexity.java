package dev.genset.eval;

import dev.genset.engine.model.KvType;
import dev.genset.engine.model.Model;
import dev.genset.engine.tensor.Parallel;
import dev.genset.engine.tokenizer.Tokenizer;
import dev.genset.eval.model.TokenScorer;

import java.util.ArrayList;
import java.util.List;

/**
 * Perplexity of a text computed exactly as llama.cpp's {@code llama-perplexity} does, so the two
 * figures can be compared directly.
 *
 * <p>The text is tokenized once (with BOS if the vocabulary asks for it, special-token texts
 * spelled out) and cut into consecutive chunks of {@code ctx} tokens; a leftover shorter than a
 * chunk is dropped. The first token of each chunk is replaced by BOS, each chunk is evaluated from
 * an empty context, and only its second half is scored: the log-probability of tokens
 * {@code ctx/2 + 1 .. ctx - 1} given everything before them in the chunk. PPL = exp(mean negative
 * log-likelihood over all scored tokens); the uncertainty is llama.cpp's, the standard error of
 * the mean NLL times PPL.
 */
public final class Perplexity {
    private Perplexity() {}

    /**
     * @param ppl      final perplexity
     * @param stderr   its standard error (llama.cpp's "+/-")
     * @param tokens   tokens in the text, BOS included
     * @param ctx      context (chunk) size
     * @param chunks   chunks scored
     * @param scored   tokens scored
     * @param nll      mean negative log-likelihood per scored token
     * @param running  perplexity over the chunks so far, after each chunk
     */
    public record Result(double ppl, double stderr, int tokens, int ctx, int chunks, int scored, double nll, List<Double> running) {}

    /** Scores {@code text}; {@code onChunk} (may be null) sees the running perplexity after each chunk. */
    public static Result compute(Model model, Parallel pool, String text, int ctx, int batchSize, java.util.function.IntConsumer onChunk) {
        return compute(model, pool, text, ctx, batchSize, KvType.F32, KvType.F32, onChunk);
    }

    /** The same with a KV cache of these types (llama-perplexity's default is f16). */
    public static Result compute(Model model, Parallel pool, String text, int ctx, int batchSize, KvType keyType, KvType valueType,
                                 java.util.function.IntConsumer onChunk) {
        if (ctx < 4) throw new IllegalArgumentException("the context must be at least 4 tokens");
        Tokenizer tok = model.tokenizer();
        boolean addBos = tok.addBos() && tok.bos() != Tokenizer.NONE;
        int[] all = tok.encode(text, true, false);
        int chunks = all.length / ctx;
        if (chunks < 1)
            throw new IllegalArgumentException("the text has " + all.length + " tokens, fewer than one chunk of " + ctx + "; use a longer text or a smaller context");
        int first = ctx / 2;
        TokenScorer scorer = new TokenScorer(model, pool, ctx, batchSize, keyType, valueType);
        double[] sums = new double[2]; // sum of NLL, sum of NLL squared
        int[] count = {0};
        List<Double> running = new ArrayList<>();
        int[] chunk = new int[ctx];
        int[] targets = new int[ctx - 1 - first];
        for (int c = 0; c < chunks; c++) {
            System.arraycopy(all, c * ctx, chunk, 0, ctx);
            if (addBos) chunk[0] = tok.bos();
            System.arraycopy(chunk, first + 1, targets, 0, targets.length);
            scorer.evaluate(chunk, ctx - 1, 0, first, targets, (j, lp, argmax) -> {
                sums[0] -= lp;
                sums[1] += lp * lp;
                count[0]++;
            });
            running.add(Math.exp(sums[0] / count[0]));
            if (onChunk != null) onChunk.accept(c);
        }
        int n = count[0];
        double nll = sums[0] / n, nll2 = sums[1] / n - nll * nll;
        double ppl = Math.exp(nll);
        double err = nll2 > 0 && n > 1 ? Math.sqrt(nll2 / (n - 1)) * ppl : 0;
        return new Result(ppl, err, all.length, ctx, chunks, n, nll, List.copyOf(running));
    }
}
