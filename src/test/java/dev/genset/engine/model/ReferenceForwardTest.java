package dev.genset.engine.model;

import dev.genset.engine.tensor.Parallel;
import dev.genset.testing.SyntheticModel;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The engine's forward pass against a plain scalar transcription of the architectures (written
 * here independently, in double precision, full attention matrices, rope by the textbook formula),
 * on random models that exercise grouped-query attention, NeoX rope, QKV bias and Q/K norms.
 */
class ReferenceForwardTest {

    @ParameterizedTest
    @CsvSource({"llama, f32", "qwen2, f32", "qwen3, f32", "llama, f16", "qwen3, f16"})
    void matchesScalarReference(String arch, String kvType, @TempDir Path dir) throws Exception {
        SyntheticModel sm = new SyntheticModel(arch, 32, 2, 4, 2, 48, arch.hashCode());
        int[] tokens = {1, 70, 200, 259, 262, 5, 99};
        KvType type = KvType.parse(kvType);
        double[][] expected = reference(sm, tokens, type, type);
        try (Model model = Model.load(sm.write(dir.resolve(arch + ".gguf"))); Parallel pool = new Parallel(2)) {
            assertThat(model.config().ropeNeox()).isEqualTo(!arch.equals("llama"));
            assertThat(model.config().qkvBias()).isEqualTo(arch.equals("qwen2"));
            assertThat(model.config().qkNorm()).isEqualTo(arch.equals("qwen3"));
            assertForwardMatches(model, pool, tokens, expected, type, arch);
        }
    }

    /**
     * The logits of every position, all in one batch (every row asking for logits), against the
     * reference; then one token at a time against the batch's.
     */
    static void assertForwardMatches(Model model, Parallel pool, int[] tokens, double[][] expected, KvType type, String label) {
        int vocab = model.config().vocabSize();
        Transformer t = model.newTransformer(pool, tokens.length);
        KvCache cache = model.newCache(16, type, type);
        float[] logits = new float[tokens.length * vocab];
        KvCache[] caches = new KvCache[tokens.length];
        Arrays.fill(caches, cache);
        boolean[] want = new boolean[tokens.length];
        Arrays.fill(want, true);
        int[] pos = new int[tokens.length];
        Arrays.setAll(pos, i -> i);
        t.forward(tokens.length, tokens, pos, caches, want, logits);
        for (int p = 0; p < tokens.length; p++)
            for (int v = 0; v < vocab; v++)
                assertThat((double) logits[p * vocab + v]).as("%s pos %d token %d", label, p, v).isCloseTo(expected[p][v], within(2e-3 * (1 + Math.abs(expected[p][v]))));
        Transformer one = model.newTransformer(pool, 1);
        KvCache cache2 = model.newCache(16, type, type);
        float[] l1 = new float[vocab];
        for (int p = 0; p < tokens.length; p++) {
            one.forward(1, new int[] {tokens[p]}, new int[] {p}, new KvCache[] {cache2}, new boolean[] {true}, l1);
            for (int v = 0; v < vocab; v++) assertThat(l1[v]).isCloseTo(logits[p * vocab + v], within(1e-4f * (1 + Math.abs(l1[v]))));
        }
    }

    /**
     * Mixtures of experts (Qwen3-MoE, and Mixtral as "llama"): the batch of a whole prompt (each
     * expert run over the rows routed to it) and one token at a time (each row's experts alone)
     * against the reference.
     */
    @ParameterizedTest
    @CsvSource({"qwen3moe, 8, 2", "llama, 4, 2", "qwen3moe, 6, 1"})
    void mixturesOfExpertsMatchTheScalarReference(String arch, int experts, int used, @TempDir Path dir) throws Exception {
        SyntheticModel sm = new SyntheticModel(arch, 32, 2, 4, 2, 24, 31L * experts + used, experts, used);
        int[] tokens = {1, 70, 200, 259, 262, 5, 99, 120, 7};
        double[][] expected = reference(sm, tokens, KvType.F32, KvType.F32);
        try (Model model = Model.load(sm.write(dir.resolve(arch + "-moe.gguf"))); Parallel pool = new Parallel(2)) {
            assertThat(model.config().experts()).isEqualTo(experts);
            assertThat(model.config().expertsUsed()).isEqualTo(used);
            assertThat(model.config().ffnDim()).isEqualTo(24);
            assertForwardMatches(model, pool, tokens, expected, KvType.F32, arch + " moe");
        }
    }

    /**
     * A sequence long enough to span several tiles of keys, with eight query heads over two KV heads
     * (so heads are taken in pairs and alone), prompt rows in one batch against the reference; keys
     * and values stored as f32, as f16 (the reference rounds them to half precision too), and mixed.
     * (q8_0 is compared with its reference at the attention, {@link AttentionTest}: through a whole
     * forward pass, the few roundings that float and double decide differently move a stored number
     * by a whole step, 1/127 of its block's largest, and the logits by up to tenths.)
     */
    @ParameterizedTest
    @CsvSource({"f32, f32", "f16, f16", "f16, f32", "f32, f16"})
    void matchesScalarReferenceAcrossTilesOfKeys(String keyType, String valueType, @TempDir Path dir) throws Exception {
        SyntheticModel sm = new SyntheticModel("llama", 64, 2, 8, 2, 48, 77);
        int n = 2 * KvCache.TILE + 21;
        java.util.SplittableRandom r = new java.util.SplittableRandom(5);
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) tokens[i] = 3 + r.nextInt(sm.vocab - 3);
        KvType keys = KvType.parse(keyType), values = KvType.parse(valueType);
        double[][] expected = reference(sm, tokens, keys, values);
        try (Model model = Model.load(sm.write(dir.resolve("long.gguf"))); Parallel pool = new Parallel(2)) {
            int vocab = model.config().vocabSize();
            Transformer t = model.newTransformer(pool, n);
            KvCache cache = model.newCache(n + 3, keys, values);
            float[] logits = new float[n * vocab];
            KvCache[] caches = new KvCache[n];
            Arrays.fill(caches, cache);
            boolean[] want = new boolean[n];
            Arrays.fill(want, true);
            int[] pos = new int[n];
            Arrays.setAll(pos, i -> i);
            t.forward(n, tokens, pos, caches, want, logits);
            for (int p = 0; p < n; p += 7)
                for (int v = 0; v < vocab; v++)
                    assertThat((double) logits[p * vocab + v]).as("pos %d token %d", p, v).isCloseTo(expected[p][v], within(2e-3 * (1 + Math.abs(expected[p][v]))));
        }
    }

    // ---- the reference ------------------------------------------------------------------------

    /**
     * The logits of every position, each key and value rounded first as a cache of keyType and
     * valueType (f32 or f16) stores it: to half precision for f16.
     */
    static double[][] reference(SyntheticModel m, int[] tokens, KvType keyType, KvType valueType) {
        int n = tokens.length, dim = m.dim, hd = m.headDim, kvDim = m.kvHeads * hd;
        boolean neox = !m.arch.equals("llama");
        double[][] x = new double[n][dim];
        for (int p = 0; p < n; p++) for (int i = 0; i < dim; i++) x[p][i] = m.tensors.get("token_embd.weight")[tokens[p] * dim + i];
        for (int l = 0; l < m.layers; l++) {
            String b = "blk." + l + ".";
            double[][] q = new double[n][], k = new double[n][], v = new double[n][];
            for (int p = 0; p < n; p++) {
                double[] h = norm(x[p], m.tensors.get(b + "attn_norm.weight"), m.eps);
                q[p] = matvec(m.tensors.get(b + "attn_q.weight"), h, m.heads * hd);
                k[p] = matvec(m.tensors.get(b + "attn_k.weight"), h, kvDim);
                v[p] = matvec(m.tensors.get(b + "attn_v.weight"), h, kvDim);
                if (m.tensors.containsKey(b + "attn_q.bias")) {
                    add(q[p], m.tensors.get(b + "attn_q.bias"));
                    add(k[p], m.tensors.get(b + "attn_k.bias"));
                    add(v[p], m.tensors.get(b + "attn_v.bias"));
                }
                for (int h2 = 0; h2 < m.heads; h2++) {
                    if (m.tensors.containsKey(b + "attn_q_norm.weight")) normSlice(q[p], h2 * hd, hd, m.tensors.get(b + "attn_q_norm.weight"), m.eps);
                    rope(q[p], h2 * hd, hd, p, m.ropeBase, neox);
                }
                for (int h2 = 0; h2 < m.kvHeads; h2++) {
                    if (m.tensors.containsKey(b + "attn_k_norm.weight")) normSlice(k[p], h2 * hd, hd, m.tensors.get(b + "attn_k_norm.weight"), m.eps);
                    rope(k[p], h2 * hd, hd, p, m.ropeBase, neox);
                }
                roundAsStored(k[p], keyType);
                roundAsStored(v[p], valueType);
            }
            for (int p = 0; p < n; p++) {
                double[] out = new double[m.heads * hd];
                for (int h2 = 0; h2 < m.heads; h2++) {
                    int kvh = h2 / (m.heads / m.kvHeads);
                    double[] s = new double[p + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int t = 0; t <= p; t++) {
                        double d = 0;
                        for (int i = 0; i < hd; i++) d += q[p][h2 * hd + i] * k[t][kvh * hd + i];
                        s[t] = d / Math.sqrt(hd);
                        max = Math.max(max, s[t]);
                    }
                    double sum = 0;
                    for (int t = 0; t <= p; t++) sum += s[t] = Math.exp(s[t] - max);
                    for (int t = 0; t <= p; t++) for (int i = 0; i < hd; i++) out[h2 * hd + i] += s[t] / sum * v[t][kvh * hd + i];
                }
                add(x[p], matvec(m.tensors.get(b + "attn_output.weight"), out, dim));
            }
            for (int p = 0; p < n; p++) {
                double[] h = norm(x[p], m.tensors.get(b + "ffn_norm.weight"), m.eps);
                if (m.experts > 0) {
                    add(x[p], experts(m, b, h));
                    continue;
                }
                double[] g = matvec(m.tensors.get(b + "ffn_gate.weight"), h, m.ffn);
                double[] u = matvec(m.tensors.get(b + "ffn_up.weight"), h, m.ffn);
                for (int i = 0; i < m.ffn; i++) g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
                add(x[p], matvec(m.tensors.get(b + "ffn_down.weight"), g, dim));
            }
        }
        double[][] logits = new double[n][];
        for (int p = 0; p < n; p++) logits[p] = matvec(m.tensors.get("output.weight"), norm(x[p], m.tensors.get("output_norm.weight"), m.eps), m.vocab);
        return logits;
    }

    /**
     * A mixture of experts: softmax over the router's scores, the best expertsUsed experts (ties to
     * the lower id) weighted by their probabilities renormalized, each a SwiGLU block of its own.
     */
    static double[] experts(SyntheticModel m, String b, double[] h) {
        double[] scores = matvec(m.tensors.get(b + "ffn_gate_inp.weight"), h, m.experts);
        double max = Arrays.stream(scores).max().orElseThrow(), sum = 0;
        double[] prob = new double[m.experts];
        for (int e = 0; e < m.experts; e++) sum += prob[e] = Math.exp(scores[e] - max);
        for (int e = 0; e < m.experts; e++) prob[e] /= sum;
        Integer[] order = new Integer[m.experts];
        Arrays.setAll(order, e -> e);
        Arrays.sort(order, (a, c) -> scores[a] != scores[c] ? Double.compare(scores[c], scores[a]) : Integer.compare(a, c));
        double chosen = 0;
        for (int j = 0; j < m.expertsUsed; j++) chosen += prob[order[j]];
        double[] out = new double[m.dim];
        int ffn = m.ffn, dim = m.dim;
        for (int j = 0; j < m.expertsUsed; j++) {
            int e = order[j];
            float[] gate = Arrays.copyOfRange(m.tensors.get(b + "ffn_gate_exps.weight"), e * ffn * dim, (e + 1) * ffn * dim);
            float[] up = Arrays.copyOfRange(m.tensors.get(b + "ffn_up_exps.weight"), e * ffn * dim, (e + 1) * ffn * dim);
            float[] down = Arrays.copyOfRange(m.tensors.get(b + "ffn_down_exps.weight"), e * dim * ffn, (e + 1) * dim * ffn);
            double[] g = matvec(gate, h, ffn), u = matvec(up, h, ffn);
            for (int i = 0; i < ffn; i++) g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
            double[] y = matvec(down, g, dim);
            for (int i = 0; i < dim; i++) out[i] += prob[e] / chosen * y[i];
        }
        return out;
    }

    static void roundAsStored(double[] x, KvType type) {
        switch (type) {
            case F32 -> { }
            case F16 -> {
                for (int i = 0; i < x.length; i++) x[i] = Float.float16ToFloat(Float.floatToFloat16((float) x[i]));
            }
            default -> throw new IllegalArgumentException(type + " is compared at the attention (AttentionTest), not through a whole forward pass");
        }
    }

    static double[] matvec(float[] w, double[] x, int rows) {
        double[] out = new double[rows];
        for (int r = 0; r < rows; r++) for (int c = 0; c < x.length; c++) out[r] += w[r * x.length + c] * x[c];
        return out;
    }

    static double[] norm(double[] x, float[] w, double eps) {
        double ss = 0;
        for (double v : x) ss += v * v;
        double s = 1 / Math.sqrt(ss / x.length + eps);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) out[i] = x[i] * s * w[i];
        return out;
    }

    static void normSlice(double[] x, int off, int n, float[] w, double eps) {
        double[] n2 = norm(Arrays.copyOfRange(x, off, off + n), w, eps);
        System.arraycopy(n2, 0, x, off, n);
    }

    static void add(double[] x, double[] y) {
        for (int i = 0; i < x.length; i++) x[i] += y[i];
    }

    static void add(double[] x, float[] y) {
        for (int i = 0; i < x.length; i++) x[i] += y[i];
    }

    /** Rotation of pair j by angle pos * base^(-2j/d): adjacent pairs (llama) or halves (NeoX). */
    static void rope(double[] x, int off, int d, int pos, double base, boolean neox) {
        for (int j = 0; j < d / 2; j++) {
            double angle = pos * Math.pow(base, -2.0 * j / d);
            int a = neox ? off + j : off + 2 * j, b = neox ? off + j + d / 2 : off + 2 * j + 1;
            double x0 = x[a], x1 = x[b];
            x[a] = x0 * Math.cos(angle) - x1 * Math.sin(angle);
            x[b] = x0 * Math.sin(angle) + x1 * Math.cos(angle);
        }
    }
}
