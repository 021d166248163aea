package dev.genset.bench;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The published shape of a real model: enough to write a random-weight GGUF whose every tensor
 * has the real size, so that speed measured on it is the speed of the real model.
 *
 * @param vocabFile   the bundled vocabulary it is written with (the real one for Llama 2 shapes;
 *                    GPT-2's BPE vocabulary padded with unused tokens for larger vocabularies)
 * @param tied        no output.weight: the output projection reuses token_embd
 * @param llama3Rope  carries a rope_freqs tensor (Llama 3.1/3.2 long-context frequency factors)
 * @param ffnDim      the feed-forward width (of each expert, in a mixture of experts)
 * @param experts     feed-forward experts per layer, 0 for a dense model
 * @param expertsUsed experts each token is routed to
 */
public record ModelShape(String name, String architecture, int dim, int layers, int heads, int kvHeads, int headDim,
                         int ffnDim, int vocabSize, int contextLength, float ropeBase, float rmsEps,
                         boolean tied, boolean qkvBias, boolean qkNorm, boolean llama3Rope, String vocabFile,
                         int experts, int expertsUsed) {

    /** A dense model's shape. */
    public ModelShape(String name, String architecture, int dim, int layers, int heads, int kvHeads, int headDim,
                      int ffnDim, int vocabSize, int contextLength, float ropeBase, float rmsEps,
                      boolean tied, boolean qkvBias, boolean qkNorm, boolean llama3Rope, String vocabFile) {
        this(name, architecture, dim, layers, heads, kvHeads, headDim, ffnDim, vocabSize, contextLength, ropeBase, rmsEps,
                tied, qkvBias, qkNorm, llama3Rope, vocabFile, 0, 0);
    }

    public static final Map<String, ModelShape> SHAPES = new LinkedHashMap<>();

    static {
        add(new ModelShape("tinyllama-1.1b", "llama", 2048, 22, 32, 4, 64, 5632, 32000, 2048, 10000f, 1e-5f,
                false, false, false, false, "ggml-vocab-llama-spm.gguf"));
        add(new ModelShape("llama-2-7b", "llama", 4096, 32, 32, 32, 128, 11008, 32000, 4096, 10000f, 1e-5f,
                false, false, false, false, "ggml-vocab-llama-spm.gguf"));
        add(new ModelShape("llama-3.2-1b", "llama", 2048, 16, 32, 8, 64, 8192, 128256, 131072, 500000f, 1e-5f,
                true, false, false, true, "ggml-vocab-gpt-2.gguf"));
        add(new ModelShape("qwen2.5-0.5b", "qwen2", 896, 24, 14, 2, 64, 4864, 151936, 32768, 1000000f, 1e-6f,
                true, true, false, false, "ggml-vocab-gpt-2.gguf"));
        add(new ModelShape("qwen3-0.6b", "qwen3", 1024, 28, 16, 8, 128, 3072, 151936, 40960, 1000000f, 1e-6f,
                true, false, true, false, "ggml-vocab-gpt-2.gguf"));
        // mixtures of experts: each expert's feed-forward width, the experts, and those a token uses
        add(new ModelShape("qwen3-30b-a3b", "qwen3moe", 2048, 48, 32, 4, 128, 768, 151936, 40960, 1000000f, 1e-6f,
                false, false, true, false, "ggml-vocab-gpt-2.gguf", 128, 8));
        add(new ModelShape("mixtral-8x7b", "llama", 4096, 32, 32, 8, 128, 14336, 32000, 32768, 1000000f, 1e-5f,
                false, false, false, false, "ggml-vocab-llama-spm.gguf", 8, 2));
    }

    private static void add(ModelShape s) {
        SHAPES.put(s.name, s);
    }

    public static ModelShape named(String name) {
        ModelShape s = SHAPES.get(name);
        if (s == null) throw new IllegalArgumentException("unknown shape '" + name + "' (known: " + String.join(", ", SHAPES.keySet()) + ")");
        return s;
    }

    /** The same shape with only its first {@code n} layers (named so). */
    public ModelShape withLayers(int n) {
        return new ModelShape(name + "-" + n + "-layers", architecture, dim, n, heads, kvHeads, headDim, ffnDim, vocabSize, contextLength,
                ropeBase, rmsEps, tied, qkvBias, qkNorm, llama3Rope, vocabFile, experts, expertsUsed);
    }

    public int qDim() {
        return heads * headDim;
    }

    public int kvDim() {
        return kvHeads * headDim;
    }

    /** Parameters, counting a tied output matrix once (and every expert). */
    public long parameters() {
        long feedForward = experts > 0 ? (long) experts * 3L * dim * ffnDim + (long) experts * dim : 3L * dim * ffnDim;
        long perLayer = 2L * dim + (long) dim * qDim() + 2L * dim * kvDim() + (long) qDim() * dim + feedForward
                + (qkvBias ? qDim() + 2L * kvDim() : 0) + (qkNorm ? 2L * headDim : 0);
        return (long) vocabSize * dim * (tied ? 1 : 2) + dim + layers * perLayer;
    }
}
