package dev.genset.engine.model;

import dev.genset.engine.gguf.GgufFile;
import dev.genset.engine.gguf.GgufFormatException;
import dev.genset.engine.gguf.GgufTensorInfo;

import java.util.Set;

/**
 * Hyper-parameters of a Llama-family transformer, read from GGUF metadata under the
 * architecture's prefix ({@code llama.embedding_length}, {@code qwen2.block_count}, ...).
 *
 * @param ropeNeox   rotate the pairs (x[i], x[i + ropeDims/2]) (NeoX, Qwen) instead of adjacent
 *                   pairs (x[2i], x[2i+1]) (original Llama, as llama.cpp's "normal" rope)
 * @param ropeScale  positions are multiplied by this (linear scaling: 1 / factor)
 * @param qkvBias    attention projections carry biases (Qwen2)
 * @param qkNorm     RMS-norm over each query and key head before RoPE (Qwen3)
 * @param experts    feed-forward experts per layer (a mixture of experts: Mixtral as "llama",
 *                   Qwen3-MoE as "qwen3moe"); 0 for a dense feed-forward block
 * @param expertsUsed experts each token is routed to
 * @param expertWeightsScale what the routing weights are multiplied by (1: as they are)
 */
public record ModelConfig(
        String architecture,
        int dim,
        int layers,
        int heads,
        int kvHeads,
        int headDim,
        int ffnDim,
        int vocabSize,
        int contextLength,
        float rmsEps,
        float ropeBase,
        int ropeDims,
        float ropeScale,
        boolean ropeNeox,
        boolean qkvBias,
        boolean qkNorm,
        int experts,
        int expertsUsed,
        float expertWeightsScale) {

    public static final Set<String> ARCHITECTURES = Set.of("llama", "qwen2", "qwen3", "qwen3moe");

    /** Whether the feed-forward blocks are mixtures of experts. */
    public boolean moe() {
        return experts > 0;
    }

    public int qDim() {
        return heads * headDim;
    }

    public int kvDim() {
        return kvHeads * headDim;
    }

    public static ModelConfig fromGguf(GgufFile gguf) {
        String arch = gguf.getString("general.architecture", null);
        if (arch == null) throw new GgufFormatException("metadata general.architecture is missing");
        if (!ARCHITECTURES.contains(arch))
            throw new UnsupportedModelException("unsupported architecture '" + arch + "' (supported: llama, qwen2, qwen3, qwen3moe)");
        String p = arch + ".";
        int dim = required(gguf, p + "embedding_length");
        int layers = required(gguf, p + "block_count");
        int heads = required(gguf, p + "attention.head_count");
        int kvHeads = gguf.getInt(p + "attention.head_count_kv", heads);
        int headDim = gguf.getInt(p + "attention.key_length", heads > 0 ? dim / heads : 0);
        int experts = gguf.getInt(p + "expert_count", 0), expertsUsed = gguf.getInt(p + "expert_used_count", 0);
        if (experts < 0 || experts > 1024 || experts > 0 && (expertsUsed <= 0 || expertsUsed > experts))
            throw new GgufFormatException("inconsistent experts: " + experts + " experts, " + expertsUsed + " used per token");
        if (arch.equals("qwen3moe") && experts == 0) throw new GgufFormatException("metadata qwen3moe.expert_count is missing");
        // an expert's feed-forward width: its own key where the architecture has one (Qwen3-MoE), else the block's
        int ffn = experts > 0 && gguf.has(p + "expert_feed_forward_length") ? gguf.getInt(p + "expert_feed_forward_length", 0)
                : arch.equals("qwen3moe") ? required(gguf, p + "feed_forward_length") / expertsUsed
                : required(gguf, p + "feed_forward_length");
        float expertScale = gguf.getFloat(p + "expert_weights_scale", 1f);
        if (expertScale == 0f) expertScale = 1f; // llama.cpp's "not set"
        if (dim <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || headDim <= 0 || ffn <= 0 || heads % kvHeads != 0)
            throw new GgufFormatException("inconsistent hyper-parameters: dim " + dim + ", layers " + layers + ", heads " + heads + ", kv heads " + kvHeads + ", head dim " + headDim + ", ffn " + ffn);
        int valueDim = gguf.getInt(p + "attention.value_length", headDim);
        if (valueDim != headDim) throw new UnsupportedModelException("key and value head sizes differ (" + headDim + " vs " + valueDim + ")");
        int ctx = gguf.getInt(p + "context_length", 2048);
        float eps = gguf.getFloat(p + "attention.layer_norm_rms_epsilon", 1e-5f);
        float ropeBase = gguf.getFloat(p + "rope.freq_base", 10000f);
        int ropeDims = gguf.getInt(p + "rope.dimension_count", headDim);
        if (ropeDims <= 0 || ropeDims > headDim || ropeDims % 2 != 0)
            throw new GgufFormatException("rope.dimension_count " + ropeDims + " does not fit head dimension " + headDim);
        float ropeScale = 1f;
        String scaling = gguf.getString(p + "rope.scaling.type", "none");
        float factor = gguf.getFloat(p + "rope.scaling.factor", 0f);
        switch (scaling) {
            case "none" -> {}
            case "linear" -> { if (factor > 0) ropeScale = 1f / factor; }
            default -> throw new UnsupportedModelException("unsupported rope scaling '" + scaling + "' (supported: none, linear, and llama3 frequency factors)");
        }
        if (scaling.equals("none") && gguf.has(p + "rope.scale_linear")) {
            float lin = gguf.getFloat(p + "rope.scale_linear", 1f);
            if (lin > 0) ropeScale = 1f / lin;
        }

        GgufTensorInfo embd = gguf.tensor("token_embd.weight");
        if (embd == null) throw new GgufFormatException("tensor token_embd.weight is missing");
        int vocab = (int) embd.rows();
        boolean neox = !arch.equals("llama");
        boolean bias = gguf.tensor("blk.0.attn_q.bias") != null;
        boolean qkNorm = gguf.tensor("blk.0.attn_q_norm.weight") != null;
        return new ModelConfig(arch, dim, layers, heads, kvHeads, headDim, ffn, vocab, ctx, eps, ropeBase, ropeDims, ropeScale, neox, bias, qkNorm,
                experts, expertsUsed, expertScale);
    }

    private static int required(GgufFile gguf, String key) {
        if (!gguf.has(key)) throw new GgufFormatException("metadata " + key + " is missing");
        return gguf.getInt(key, 0);
    }
}
