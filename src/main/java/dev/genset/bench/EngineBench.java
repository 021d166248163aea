package dev.genset.bench;

import dev.genset.engine.gguf.GgufTensorInfo;
import dev.genset.engine.model.KvCache;
import dev.genset.engine.model.Model;
import dev.genset.engine.model.Transformer;
import dev.genset.engine.tensor.Parallel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Measures the engine as llama-bench does: prompt processing (the whole prompt as one batch) and
 * token generation (one token per forward pass from an empty cache), random tokens, no sampling.
 */
public final class EngineBench {

    /** One test's timings: {@code samplesNs} per repetition, after a warm-up run. */
    public record Result(String test, int nPrompt, int nGen, long[] samplesNs) {
        public int tokens() {
            return nPrompt + nGen;
        }

        public double[] samplesTs() {
            return Arrays.stream(samplesNs).mapToDouble(ns -> tokens() * 1e9 / ns).toArray();
        }

        public double avgTs() {
            return Arrays.stream(samplesTs()).average().orElse(0);
        }

        public double stddevTs() {
            return stddev(samplesTs());
        }

        public double avgNs() {
            return Arrays.stream(samplesNs).average().orElse(0);
        }

        public double stddevNs() {
            return stddev(Arrays.stream(samplesNs).asDoubleStream().toArray());
        }

        /** Sample standard deviation, as llama-bench reports it. */
        private static double stddev(double[] v) {
            if (v.length < 2) return 0;
            double mean = Arrays.stream(v).average().orElse(0), ss = 0;
            for (double x : v) ss += (x - mean) * (x - mean);
            return Math.sqrt(ss / (v.length - 1));
        }
    }

    private final Model model;
    private final Parallel pool;
    private final SplittableRandom random = new SplittableRandom(1234);

    public EngineBench(Model model, Parallel pool) {
        this.model = model;
        this.pool = pool;
    }

    public List<Result> run(int nPrompt, int nGen, int repetitions) {
        List<Result> results = new ArrayList<>();
        if (nPrompt > 0) results.add(measure("pp" + nPrompt, nPrompt, 0, repetitions));
        if (nGen > 0) results.add(measure("tg" + nGen, 0, nGen, repetitions));
        return results;
    }

    private Result measure(String name, int nPrompt, int nGen, int repetitions) {
        int ctx = Math.max(nPrompt, nGen) + 1;
        Transformer t = model.newTransformer(pool, Math.max(1, nPrompt));
        KvCache cache = model.newCache(ctx);
        float[] logits = new float[model.config().vocabSize()];
        long[] samples = new long[repetitions];
        for (int rep = -1; rep < repetitions; rep++) { // rep -1 is the warm-up
            cache.truncate(0);
            long start = System.nanoTime();
            if (nPrompt > 0) prompt(t, cache, nPrompt, logits);
            else generate(t, cache, nGen, logits);
            long elapsed = System.nanoTime() - start;
            if (rep >= 0) samples[rep] = elapsed;
        }
        return new Result(name, nPrompt, nGen, samples);
    }

    private void prompt(Transformer t, KvCache cache, int n, float[] logits) {
        int[] tokens = new int[n], positions = new int[n];
        KvCache[] caches = new KvCache[n];
        boolean[] want = new boolean[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = randomToken();
            positions[i] = i;
            caches[i] = cache;
        }
        want[n - 1] = true;
        t.forward(n, tokens, positions, caches, want, logits);
    }

    private void generate(Transformer t, KvCache cache, int n, float[] logits) {
        int[] token = new int[1], position = new int[1];
        KvCache[] caches = {cache};
        boolean[] want = {true};
        for (int i = 0; i < n; i++) {
            token[0] = randomToken();
            position[0] = i;
            t.forward(1, token, position, caches, want, logits);
        }
    }

    private int randomToken() {
        return random.nextInt(model.config().vocabSize());
    }

    /** Bytes of weights one generated token reads: every matrix once, and one row of the embedding table. */
    public static long bytesPerToken(Model model) {
        long total = 0;
        boolean tied = model.gguf().tensor("output.weight") == null;
        for (GgufTensorInfo t : model.gguf().tensors()) {
            if (t.name().equals("token_embd.weight")) total += tied ? t.byteSize() : t.byteSize() / t.rows();
            else total += t.byteSize();
        }
        return total;
    }
}
